// Copyright the deno-echo authors. MIT license.

// Read buffers inside the memory of the quit scan's WebAssembly module
// (quit_scan.wat), so that the scan runs over the bytes where `conn.read`
// put them, with no copy. The memory grows once, here, at load: growing it
// later would detach every view over it, buffers in use included. Page 0
// holds the encoded quit words; the pool's buffers follow it, then one
// scratch buffer that chunks from elsewhere are copied into to be scanned.

import { memory, scan } from "./quit_scan.wasm";

/** Size of each buffer of the pool: the largest read buffer. */
export const WASM_BUFFER_SIZE = 64 * 1024;
/**
 * Buffers in the pool: 16 MiB of memory, of which only what has been used is
 * ever resident (a 1 KiB message's buffer touches one page of its 64 KiB).
 * Enough for 200 connections of 1 KiB messages: 64 gave about half the gain
 * of not copying their chunks to scan them. A connection that finds the
 * pool empty reads into an ordinary buffer, whose chunks are copied into the
 * scratch buffer that follows the pool to be scanned.
 */
export const WASM_BUFFER_COUNT = 256;

const PAGE = 64 * 1024;
/** Where the words go: page 0. */
const WORD_SPACE = PAGE;
/**
 * Longest word the scan takes: its state keeps the bytes matched in 16 bits,
 * and a word and its table must fit in the words' page.
 */
export const MAX_WASM_WORD = WORD_SPACE - 256;

const grown = growOnce((WASM_BUFFER_COUNT + 1) * WASM_BUFFER_SIZE / PAGE) > 0;
const count = grown ? WASM_BUFFER_COUNT : 0;
/** The memory's one buffer (not shared): fixed, since the memory never grows again. */
const wasmMemory = memory.buffer as ArrayBuffer;
/** Where {@linkcode scanCopy} copies what it scans, after the pool. */
const scratch = grown ? bufferAt(count) : undefined;
/** Buffers not handed out, the next one last. */
const free: Uint8Array[] = [];
/** Whether each buffer, by index, is handed out. */
const taken = new Uint8Array(count);
for (let k = count - 1; k >= 0; k--) free.push(bufferAt(k));
/** Bytes of page 0 given to words so far. */
let wordsEnd = 0;

/** Grows the memory by `pages` pages, or none if that fails; returns which. */
function growOnce(pages: number): number {
  try {
    memory.grow(pages);
    return pages;
  } catch {
    return 0;
  }
}

function bufferAt(index: number): Uint8Array {
  return new Uint8Array(
    wasmMemory,
    WORD_SPACE + index * WASM_BUFFER_SIZE,
    WASM_BUFFER_SIZE,
  );
}

/**
 * Tells whether bytes lie in the WebAssembly memory, where
 * {@linkcode scanInWasm} can read them.
 *
 * @param bytes Any bytes.
 * @returns Whether they are a view of the module's memory.
 */
export function isInWasmMemory(bytes: Uint8Array): boolean {
  return bytes.buffer === wasmMemory;
}

/**
 * Takes a buffer of {@linkcode WASM_BUFFER_SIZE} bytes from the pool.
 *
 * @returns The buffer, now the caller's until it gives it back with
 * {@linkcode returnWasmBuffer}; `undefined` when every buffer is in use.
 */
export function takeWasmBuffer(): Uint8Array | undefined {
  const buffer = free.pop();
  if (buffer !== undefined) taken[indexOf(buffer)] = 1;
  return buffer;
}

/**
 * Gives a buffer back to the pool. Call only once no read or write is
 * pending on it: the next connection to take it reads into it.
 *
 * @param buffer A buffer {@linkcode takeWasmBuffer} returned.
 * @throws {RangeError} If it is not one, or was given back already.
 */
export function returnWasmBuffer(buffer: Uint8Array): void {
  const index = isInWasmMemory(buffer) && buffer.length === WASM_BUFFER_SIZE
    ? indexOf(buffer)
    : -1;
  if (index < 0 || taken[index] !== 1) {
    throw new RangeError(
      `Not a WebAssembly read buffer in use: offset "${buffer.byteOffset}"`,
    );
  }
  taken[index] = 0;
  free.push(buffer);
}

function indexOf(buffer: Uint8Array): number {
  const offset = buffer.byteOffset - WORD_SPACE;
  const index = offset / WASM_BUFFER_SIZE;
  return offset >= 0 && Number.isInteger(index) && index < count ? index : -1;
}

/**
 * How many buffers of the pool are free.
 *
 * @returns The count.
 */
export function freeWasmBuffers(): number {
  return free.length;
}

/** Whitespace a quit line may hold besides LF: space, \t, \v, \f, \r. */
const SPACES = [0x20, 0x09, 0x0b, 0x0c, 0x0d];

/**
 * Whether {@linkcode scanCopy} can scan bytes from outside the memory.
 *
 * @returns Whether the memory has its scratch buffer.
 */
export function canScanCopies(): boolean {
  return scratch !== undefined;
}

/**
 * Copies a quit word into the memory, for {@linkcode scanInWasm}, followed
 * by a table of 256 flags: the bytes a quit line can hold besides LF (the
 * word's and whitespace). Each word is placed once for good: call this once
 * per distinct word.
 *
 * @param word The word's bytes.
 * @returns Where the word now is, or -1 if it does not fit in what is left
 * of the words' space or is longer than {@linkcode MAX_WASM_WORD} bytes.
 */
export function placeWord(word: Uint8Array): number {
  const { length } = word;
  if (length === 0 || length > MAX_WASM_WORD) return -1;
  if (length + 256 > WORD_SPACE - wordsEnd) return -1;
  const at = wordsEnd;
  new Uint8Array(wasmMemory, at, length).set(word);
  const table = new Uint8Array(wasmMemory, at + length, 256);
  for (const byte of word) table[byte] = 1;
  for (const byte of SPACES) table[byte] = 1;
  wordsEnd += length + 256;
  return at;
}

/**
 * The quit-word scan of `QuitWordScanner.scan` over bytes in the memory.
 *
 * @param chunk The bytes; {@linkcode isInWasmMemory} must hold.
 * @param word Where the word is, as {@linkcode placeWord} returned.
 * @param length The word's length in bytes.
 * @param state The scanner's state before the chunk: bytes of the word
 * matched on this line, plus 65536 if the line has failed.
 * @returns The index just past the quit line's `\n` (after which the state
 * is 0), or `-1 - state` with the state after the chunk.
 */
export function scanInWasm(
  chunk: Uint8Array,
  word: number,
  length: number,
  state: number,
): number {
  return scan(chunk.byteOffset, chunk.length, word, length, state);
}

/**
 * {@linkcode scanInWasm} over bytes from anywhere: copied into the memory's
 * scratch buffer, {@linkcode WASM_BUFFER_SIZE} bytes at a time, and scanned
 * there. A copy (`set`, at memory speed) and the SIMD scan take a fraction of
 * the time of the JavaScript scan from 128 bytes up: on a 1 KiB message that
 * scan was 6-7 % of the server's CPU time. Needs {@linkcode canScanCopies}.
 *
 * @param chunk The bytes, anywhere; not modified.
 * @param word As for {@linkcode scanInWasm}.
 * @param length As for {@linkcode scanInWasm}.
 * @param state As for {@linkcode scanInWasm}.
 * @returns As {@linkcode scanInWasm}.
 */
export function scanCopy(
  chunk: Uint8Array,
  word: number,
  length: number,
  state: number,
): number {
  const into = scratch!;
  const at = into.byteOffset;
  const total = chunk.length;
  for (let off = 0;;) {
    const n = Math.min(total - off, WASM_BUFFER_SIZE);
    into.set(n === total ? chunk : chunk.subarray(off, off + n));
    const end = scan(at, n, word, length, state);
    if (end >= 0) return off + end;
    off += n;
    if (off >= total) return end;
    state = -1 - end;
  }
}
