// Copyright the deno-echo authors. MIT license.

// Payloads to send through a server: unseeded random bytes, a seeded PRNG
// that remembers its seed (a failure reproduces from the seed in its
// message), and edits that keep random bytes from saying the quit word or
// from holding a line break.

import { mulberry32, randInt, randomBytes as seededBytes } from "./util.ts";

/** Random bytes (crypto.getRandomValues fills at most 64 KiB at a time). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let offset = 0; offset < n; offset += 65536) {
    crypto.getRandomValues(out.subarray(offset, Math.min(n, offset + 65536)));
  }
  return out;
}

/**
 * A seeded PRNG (mulberry32, see ./util.ts) that remembers its seed: every
 * payload in the fault tests comes from one, so a failure reproduces from
 * the seed in its message.
 */
export class Prng {
  readonly seed: number;
  readonly #rand: () => number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#rand = mulberry32(this.seed);
  }

  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return randInt(this.#rand, min, max);
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    return seededBytes(this.#rand, n);
  }
}

const B = 0x42;
const Y = 0x59;
const LF = 0x0a;

/**
 * Makes random bytes safe to send through a server that ends a connection
 * after a line saying `BYE`: no `B` is followed by `Y`, so no line can say
 * it, whatever the seed. Changes `bytes` in place and returns it.
 */
export function withoutQuitWord(bytes: Uint8Array): Uint8Array {
  for (let i = bytes.indexOf(B); i >= 0; i = bytes.indexOf(B, i + 1)) {
    if (bytes[i + 1] === Y) bytes[i + 1] = Y + 1;
  }
  return bytes;
}

/** Replaces every `\n` with `\v`, in place: one long line. */
export function withoutNewlines(bytes: Uint8Array): Uint8Array {
  for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) {
    bytes[i] = LF + 1;
  }
  return bytes;
}
