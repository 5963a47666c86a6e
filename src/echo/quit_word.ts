// Copyright the deno-echo authors. MIT license.

import {
  canScanCopies,
  isInWasmMemory,
  placeWord,
  scanCopy,
  scanInWasm,
} from "./wasm_buffers.ts";

/** The quit word both programs use unless told otherwise. */
export const DEFAULT_QUIT_WORD = "BYE";

const LF = 0x0a;

/** ASCII whitespace as `String.prototype.trim()` sees it: space, \t, \v, \f, \r. */
function isSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d && byte !== LF);
}

let inWasm: (
  scanner: QuitWordScanner,
  chunk: Uint8Array,
  inMemory?: boolean,
) => boolean;
let inJs: (scanner: QuitWordScanner, chunk: Uint8Array) => number;
let knowing: (
  scanner: QuitWordScanner,
  chunk: Uint8Array,
  inMemory: boolean,
) => number;

/**
 * Finds the end of the first line that says the quit word, in a byte stream
 * fed in chunks of any size.
 *
 * A line says the quit word when, with its surrounding ASCII whitespace
 * (including `\r`) trimmed, it is exactly the word. The scanner keeps two
 * numbers between chunks, so its memory is constant whatever the line length,
 * and it finds the line however the stream is split (`B`, `YE\r`, `\n`).
 * Bytes are never changed. A chunk of 128 bytes or more is scanned in
 * WebAssembly with SIMD: where it lies if that is in the conn echo's read
 * buffers, else copied there first (a copy and the SIMD scan cost less than
 * the scan in JavaScript). Shorter chunks are scanned in JavaScript; both
 * scans give the same answers.
 *
 * @example Find the quit line across chunks
 * ```ts
 * import { QuitWordScanner } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * const scanner = new QuitWordScanner("BYE");
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * assertEquals(scanner.scan(bytes("hello\nB")), -1);
 * assertEquals(scanner.scan(bytes("YE\r\nmore")), 4);
 * ```
 */
export class QuitWordScanner {
  readonly #word: Uint8Array;
  /** Where the word is in the WebAssembly memory, or -1 if it is not. */
  readonly #wordAt: number;
  /** Bytes of the word matched so far on this line. */
  #matched = 0;
  /** The current line can no longer be the quit line. */
  #failed = false;

  /**
   * Makes a scanner for one stream.
   *
   * @param word The quit word: non-empty, with no whitespace in it.
   * @throws {TypeError} If the word is empty or contains whitespace.
   */
  constructor(word: string = DEFAULT_QUIT_WORD) {
    const encoded = encodeWord(word);
    this.#word = encoded.bytes;
    this.#wordAt = encoded.at;
  }

  /** The quit word as bytes' text. */
  get word(): string {
    return new TextDecoder().decode(this.#word);
  }

  /**
   * Scans the next chunk of the stream.
   *
   * @param chunk The next bytes of the stream; not modified.
   * @returns The index just past the `\n` that ends the quit line, or -1 if
   * no quit line ends in this chunk. After a match the scanner starts over on
   * the following line.
   */
  scan(chunk: Uint8Array): number {
    // Only a chunk of 128 bytes or more reads `buffer`, never an on-heap
    // array, which that would move off heap.
    return this.#inWasm(chunk)
      ? this.#scanInWasm(chunk, isInWasmMemory(chunk))
      : this.#scanInJavaScript(chunk);
  }

  /** {@linkcode QuitWordScanner.scan}, told whether `chunk` lies in the memory. */
  #scanKnowing(chunk: Uint8Array, inMemory: boolean): number {
    return this.#inWasm(chunk, inMemory)
      ? this.#scanInWasm(chunk, inMemory)
      : this.#scanInJavaScript(chunk);
  }

  #scanInJavaScript(chunk: Uint8Array): number {
    const word = this.#word;
    const n = word.length;
    let matched = this.#matched;
    let failed = this.#failed;
    let i = 0;
    const end = chunk.length;
    let words: Words | undefined;
    while (i < end) {
      if (failed) {
        // Skip the rest of a line that cannot match: four bytes at a time
        // over a 32-bit view of the chunk, or byte by byte over a short rest
        // (not worth making the view for: small messages are the common
        // case of a ping-pong).
        if (end - i < SHORT_REST) {
          while (i < end && chunk[i] !== LF) i++;
          if (i === end) break;
        } else {
          words ??= wordsOf(chunk);
          i = findNewline(chunk, words, i);
          if (i < 0) break;
        }
      }
      const byte = chunk[i]!;
      if (byte === LF) {
        if (!failed && matched === n) {
          this.#matched = 0;
          this.#failed = false;
          return i + 1;
        }
        matched = 0;
        failed = false;
      } else if (isSpace(byte)) {
        // Whitespace is allowed before the word and after it, not inside.
        if (matched !== 0 && matched !== n) failed = true;
      } else if (matched < n && word[matched] === byte) {
        matched++;
      } else {
        failed = true;
      }
      i++;
    }
    this.#matched = matched;
    this.#failed = failed;
    return -1;
  }

  static {
    inWasm = (scanner, chunk, inMemory) => scanner.#inWasm(chunk, inMemory);
    inJs = (scanner, chunk) => scanner.#scanInJavaScript(chunk);
    knowing = (scanner, chunk, inMemory) =>
      scanner.#scanKnowing(chunk, inMemory);
  }

  /**
   * Whether {@linkcode QuitWordScanner.scan} takes the WebAssembly path, or,
   * told whether the chunk lies in the memory, {@linkcode scanKnowing}.
   */
  #inWasm(chunk: Uint8Array, inMemory?: boolean): boolean {
    if (this.#wordAt < 0) return false;
    if (inMemory !== undefined) {
      return chunk.length >= KNOWN_SCAN_MIN && (inMemory || canScanCopies());
    }
    return chunk.length >= WASM_SCAN_MIN &&
      (canScanCopies() || isInWasmMemory(chunk));
  }

  #scanInWasm(chunk: Uint8Array, inMemory: boolean): number {
    const state = this.#failed ? this.#matched | FAILED : this.#matched;
    const end = inMemory
      ? scanInWasm(chunk, this.#wordAt, this.#word.length, state)
      : scanCopy(chunk, this.#wordAt, this.#word.length, state);
    if (end >= 0) {
      this.#matched = 0;
      this.#failed = false;
      return end;
    }
    const after = -1 - end;
    this.#matched = after & (FAILED - 1);
    this.#failed = after >= FAILED;
    return -1;
  }

  /** Forgets any partial line, as at the start of a stream. */
  reset(): void {
    this.#matched = 0;
    this.#failed = false;
  }
}

/**
 * Chunks from this many bytes up are scanned in WebAssembly when they are in
 * its memory. Measured on random bytes (tests/echo/quit_scan_bench.ts, best
 * times): at 32 bytes both scans take ~30 ns, at 64 the WebAssembly one
 * ~14 ns against ~45, at 128 ~15 against ~90. Below 128 the length test
 * also keeps small arrays' `buffer` untouched (reading it moves an on-heap
 * array off heap).
 */
export const WASM_SCAN_MIN = 128;
/**
 * {@linkcode WASM_SCAN_MIN} for {@linkcode scanKnowing}, whose caller says
 * where the chunk lies, so its `buffer` is not read: from 64 bytes up the
 * copy and the SIMD scan beat the JavaScript scan. In the conn loop, with a
 * fake connection whose reads and writes settle at once
 * (tests/echo/conn_loop_bench.ts), a round trip of 64 bytes took ~158 ns
 * with it at 64, ~169 at 128.
 */
export const KNOWN_SCAN_MIN = 64;
/**
 * Tells which of its two scans a scanner uses for a chunk (they give the
 * same answers; the WebAssembly one is faster).
 *
 * @param scanner The scanner.
 * @param chunk A chunk it could scan.
 * @param inMemory For {@linkcode scanKnowing}: what it would be told.
 * @returns Whether `scanner.scan(chunk)` (or `scanKnowing`) would scan it in
 * WebAssembly.
 */
export function scansInWasm(
  scanner: QuitWordScanner,
  chunk: Uint8Array,
  inMemory?: boolean,
): boolean {
  return inWasm(scanner, chunk, inMemory);
}

/**
 * Scans a chunk as {@linkcode QuitWordScanner.scan} does, for a caller that
 * knows whether the chunk lies in the WebAssembly read buffers (the conn
 * echo's `ReadBuffer.inWasm`): `scan` finds out from the chunk's `buffer`,
 * and reading it cost about 15 ns a chunk in the conn loop, where a round
 * trip of 1 KiB took about 200 (tests/echo/conn_loop_bench.ts).
 *
 * @param scanner The scanner; its state moves on as with `scan`.
 * @param chunk The next bytes of its stream.
 * @param inMemory Whether `chunk` is a view of the WebAssembly memory; if
 * it is said to be and is not, the wrong bytes are scanned.
 * @returns As `scan`.
 */
export function scanKnowing(
  scanner: QuitWordScanner,
  chunk: Uint8Array,
  inMemory: boolean,
): number {
  return knowing(scanner, chunk, inMemory);
}

/**
 * Scans a chunk as {@linkcode QuitWordScanner.scan} does, but always in
 * JavaScript, whatever its size: for comparing the two scans.
 *
 * @param scanner The scanner; its state moves on as with `scan`.
 * @param chunk The next bytes of its stream.
 * @returns As `scan`.
 */
export function scanInJavaScript(
  scanner: QuitWordScanner,
  chunk: Uint8Array,
): number {
  return inJs(scanner, chunk);
}

/** The failed flag in the WebAssembly scan's state. */
const FAILED = 0x10000;

/** A word as bytes, and where they are in the WebAssembly memory (or -1). */
interface EncodedWord {
  bytes: Uint8Array;
  at: number;
}

/** Encoded words, shared by every scanner (one per connection) of a word. */
const encodedWords = new Map<string, EncodedWord>();
/** Most words kept in {@linkcode encodedWords}, and placed in WebAssembly. */
const ENCODED_WORDS = 64;

function encodeWord(word: string): EncodedWord {
  let encoded = encodedWords.get(word);
  if (encoded === undefined) {
    const bytes = new TextEncoder().encode(validateQuitWord(word));
    // Only a kept word is placed: each placement takes memory for good.
    const keep = encodedWords.size < ENCODED_WORDS;
    encoded = { bytes, at: keep ? placeWord(bytes) : -1 };
    if (keep) encodedWords.set(word, encoded);
  }
  return encoded;
}

/** The 4-aligned middle of a chunk as 32-bit words (see findNewline). */
interface Words {
  /** The words. */
  view: Uint32Array;
  /** Index in the chunk of the first byte of `view[0]`. */
  start: number;
}

function wordsOf(chunk: Uint8Array): Words {
  const offset = chunk.byteOffset;
  const first = (offset + 3) & ~3;
  const count = Math.max(0, (offset + chunk.length - first) >> 2);
  return {
    view: count > 0
      ? new Uint32Array(chunk.buffer, first, count)
      : new Uint32Array(0),
    start: first - offset,
  };
}

const LFS = 0x0a0a0a0a;
/** Below this many bytes a byte loop beats making a 32-bit view. */
const SHORT_REST = 256;

/**
 * `chunk.indexOf(LF, from)`, twice as fast: `indexOf` on a typed array looks
 * at one byte at a time (~3 GB/s here), which halved the echo's bulk
 * throughput. This tests four bytes per step with the classic "has a zero
 * byte" trick on `word ^ 0x0a0a0a0a` (exact as a yes/no test), then finds the
 * byte within the word.
 */
function findNewline(chunk: Uint8Array, words: Words, from: number): number {
  const end = chunk.length;
  const { view, start } = words;
  let i = from;
  let w = i <= start ? 0 : (i - start + 3) >> 2;
  const wordStart = start + (w << 2);
  for (const stop = Math.min(end, wordStart); i < stop; i++) {
    if (chunk[i] === LF) return i;
  }
  for (const count = view.length; w < count; w++) {
    const x = view[w]! ^ LFS;
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
  }
  for (i = Math.max(i, start + (w << 2)); i < end; i++) {
    if (chunk[i] === LF) return i;
  }
  return -1;
}

/**
 * Checks a quit word: non-empty and free of whitespace.
 *
 * @param word The word to check.
 * @returns The word itself.
 * @throws {TypeError} If the word is empty or contains whitespace.
 */
export function validateQuitWord(word: string): string {
  if (word.length === 0) {
    throw new TypeError("Quit word must not be empty");
  }
  if (/\s/.test(word)) {
    throw new TypeError(`Quit word must not contain whitespace: "${word}"`);
  }
  return word;
}
