// Copyright the deno-echo authors. MIT license.

// UTF-8 sequences found byte by byte, for code that must keep the bytes it
// does not change exactly as they came (escaping, key input).

/** {@linkcode utf8Sequence} found the start of a sequence cut by the end. */
export const UTF8_INCOMPLETE = -1 as const;
/** {@linkcode utf8Sequence} found a byte that starts no valid sequence. */
export const UTF8_INVALID = 0 as const;

/**
 * The length of the valid UTF-8 sequence that starts at `bytes[i]`.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid.
 *
 * @param bytes Where to look.
 * @param i Index of the first byte, which must exist.
 * @returns 1 to 4; {@linkcode UTF8_INCOMPLETE} when the bytes end before a
 * sequence that is valid so far does; {@linkcode UTF8_INVALID} otherwise.
 *
 * @example Lengths
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { UTF8_INCOMPLETE, UTF8_INVALID, utf8Sequence } from "./utf8.ts";
 *
 * const euro = new Uint8Array([0xe2, 0x82, 0xac]);
 * assertEquals(utf8Sequence(euro, 0), 3);
 * assertEquals(utf8Sequence(euro.subarray(0, 2), 0), UTF8_INCOMPLETE);
 * assertEquals(utf8Sequence(euro, 1), UTF8_INVALID);
 * ```
 */
export function utf8Sequence(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  let length: number;
  // The range the second byte must be in (it excludes overlongs,
  // surrogates and code points past U+10FFFF).
  let lo = 0x80, hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) length = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b === 0xe0) lo = 0xa0;
    if (b === 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b === 0xf0) lo = 0x90;
    if (b === 0xf4) hi = 0x8f;
  } else return UTF8_INVALID;
  for (let k = 1; k < length; k++) {
    if (i + k >= bytes.length) return UTF8_INCOMPLETE;
    const c = bytes[i + k]!;
    if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return UTF8_INVALID;
  }
  return length;
}

/**
 * Where an incomplete UTF-8 sequence at the end of `bytes` starts: the bytes
 * from there on belong with the next chunk.
 *
 * @param bytes A chunk.
 * @returns The index of the cut sequence's first byte, or `bytes.length`.
 *
 * @example A chunk that ends inside a character
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { incompleteTail } from "./utf8.ts";
 *
 * assertEquals(incompleteTail(new Uint8Array([0x61, 0xe2, 0x82])), 1);
 * assertEquals(incompleteTail(new Uint8Array([0x61, 0x62])), 2);
 * ```
 */
export function incompleteTail(bytes: Uint8Array): number {
  for (let i = Math.max(0, bytes.length - 3); i < bytes.length; i++) {
    if (bytes[i]! >= 0xc0 && utf8Sequence(bytes, i) === UTF8_INCOMPLETE) {
      return i;
    }
  }
  return bytes.length;
}
