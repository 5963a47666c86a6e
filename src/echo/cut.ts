// Copyright the deno-echo authors. MIT license.

import {
  DEFAULT_QUIT_WORD,
  QuitWordScanner,
  scanKnowing,
} from "./quit_word.ts";
import type { EchoOptions } from "./types.ts";

/**
 * Where an echo stops by itself: after the quit line, or after `maxBytes`
 * bytes, whichever comes first. Both echo loops ask it about every chunk
 * they read, before writing the chunk back. It keeps the count of bytes
 * echoed, which the loops advance as their writes complete.
 *
 * The scan keeps two numbers between chunks and skips the lines that cannot
 * match, with SIMD when the chunk lies in the WebAssembly read buffers (see
 * quit_word.ts), so it costs little on bulk data and constant memory on any
 * line length; a chunk is never copied.
 */
export class EchoCut {
  /** Bytes echoed so far; the loop adds each chunk once it is written. */
  bytes = 0;
  readonly #scanner: QuitWordScanner | null;
  readonly #maxBytes: number;
  #limit = false;

  /**
   * Reads the quit word and `maxBytes` from the echo's options.
   *
   * @param options The echo's options.
   * @throws {TypeError} If the quit word is empty or contains whitespace.
   * @throws {RangeError} If `maxBytes` is not a whole number, 0 or more.
   */
  constructor(options: EchoOptions) {
    const quitWord = options.quitWord === undefined
      ? DEFAULT_QUIT_WORD
      : options.quitWord;
    const maxBytes = options.maxBytes ?? 0;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(
        `Invalid maxBytes ${maxBytes}: expected a whole number, 0 or more`,
      );
    }
    this.#scanner = quitWord === null ? null : new QuitWordScanner(quitWord);
    this.#maxBytes = maxBytes;
  }

  /**
   * Finds where to cut the next chunk read.
   *
   * @param chunk The bytes just read, not yet echoed; not modified.
   * @param inWasm Whether `chunk` lies in the WebAssembly read buffers, if
   * the caller knows (see `scanKnowing`); else the scan finds out.
   * @returns -1 to echo all of `chunk` and go on; else how many of its bytes
   * to echo before the echo ends (just past the quit line, or up to
   * `maxBytes`), after which {@linkcode EchoCut.reason} says which.
   */
  find(chunk: Uint8Array, inWasm?: boolean): number {
    const scanner = this.#scanner;
    const cut = scanner === null
      ? -1
      : inWasm === undefined
      ? scanner.scan(chunk)
      : scanKnowing(scanner, chunk, inWasm);
    const maxBytes = this.#maxBytes;
    if (maxBytes > 0) {
      const left = maxBytes - this.bytes;
      if ((cut < 0 ? chunk.length : cut) >= left) {
        this.#limit = true;
        return left;
      }
    }
    return cut;
  }

  /** After a cut: `"limit"` if `maxBytes` made it, else `"quit"`. */
  get reason(): "quit" | "limit" {
    return this.#limit ? "limit" : "quit";
  }
}
