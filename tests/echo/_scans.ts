// Copyright the deno-echo authors. MIT license.

// The two scans of QuitWordScanner, for tests that must hold for both: one
// that scans every chunk in JavaScript, and one that scans every chunk in
// WebAssembly, whatever its size. (The scanner itself takes the one or the
// other by the chunk's size.)

import {
  DEFAULT_QUIT_WORD,
  QuitWordScanner,
  scanInJavaScript,
} from "../../src/echo/quit_word.ts";
import {
  placeWord,
  returnWasmBuffer,
  scanInWasm,
  takeWasmBuffer,
  WASM_BUFFER_SIZE,
} from "../../src/echo/wasm_buffers.ts";

/** Where each word is in the WebAssembly memory (placed once per word). */
const placed = new Map<string, number>();

/** A scanner that scans every chunk in JavaScript, whatever its size. */
export class JsOnlyScanner extends QuitWordScanner {
  override scan(chunk: Uint8Array): number {
    return scanInJavaScript(this, chunk);
  }
}

/**
 * A scanner with the state handling of QuitWordScanner's WebAssembly path,
 * for chunks of any size: each chunk is copied into a buffer of the pool (in
 * pieces of one buffer) and scanned there, so the smallest splits reach the
 * WebAssembly scan too.
 */
export class WasmOnlyScanner extends QuitWordScanner {
  readonly #at: number;
  readonly #length: number;
  #state = 0;

  constructor(word: string = DEFAULT_QUIT_WORD) {
    super(word);
    const bytes = new TextEncoder().encode(word);
    let at = placed.get(word);
    if (at === undefined) {
      at = placeWord(bytes);
      if (at < 0) throw new RangeError(`No room for the word "${word}"`);
      placed.set(word, at);
    }
    this.#at = at;
    this.#length = bytes.length;
  }

  override scan(chunk: Uint8Array): number {
    const buffer = takeWasmBuffer();
    if (buffer === undefined) throw new RangeError("No WebAssembly buffer");
    try {
      let off = 0;
      do {
        const piece = chunk.subarray(off, off + WASM_BUFFER_SIZE);
        buffer.set(piece);
        const view = buffer.subarray(0, piece.length);
        const end = scanInWasm(view, this.#at, this.#length, this.#state);
        if (end >= 0) {
          this.#state = 0;
          return off + end;
        }
        this.#state = -1 - end;
        off += piece.length;
      } while (off < chunk.length);
      return -1;
    } finally {
      returnWasmBuffer(buffer);
    }
  }

  override reset(): void {
    this.#state = 0;
  }
}

/** Makes a scanner for a word (the default one when not given). */
export type MakeScanner = (word?: string) => QuitWordScanner;

/** Both scans, by name. */
export const SCANS: readonly (readonly [string, MakeScanner])[] = [
  ["JavaScript", (word) => new JsOnlyScanner(word)],
  ["WebAssembly", (word) => new WasmOnlyScanner(word)],
];
