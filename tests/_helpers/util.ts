// Copyright the deno-echo authors. MIT license.

// Small helpers shared by the test files: sizes, UTF-8 bytes, a seeded PRNG
// and the random payloads made from it, a byte-exact comparison that stays
// fast on many MiB, and bounded waits that say what was awaited (std's
// `deadline` rejects with a generic "TimeoutError"). Helpers for running the
// programs as processes are gathered in ./cli.ts; those for the
// fault-injection tests in ./fault.ts.

import { fail } from "@std/assert";

/** 1024 bytes. */
export const KiB = 1024;
/** 1024 KiB. */
export const MiB = 1024 * KiB;

const encoder = new TextEncoder();

/** `text` encoded as UTF-8. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Input for a process or a connection: bytes or text (sent as UTF-8). */
export type Input = Uint8Array | string;

/** `input` as bytes: text is encoded as UTF-8, bytes are passed through. */
export function inputBytes(input: Input): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}

// ---------------------------------------------------------------------------
// Seeded randomness: a failure reproduces from the seed in its message.

/**
 * A small seeded PRNG (mulberry32). Each call returns the next number in
 * [0, 1); it is a 32-bit integer divided by 2^32, so
 * `rand() * 4294967296` gives back the integer exactly.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer from `min` to `max`, both included, drawn from `rand`. */
export function randInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

/**
 * `size` random bytes from `rand`: each call gives four bytes (its 32-bit
 * integer, least significant byte first). With `noQuitLine`, every `B` is
 * replaced by `b` so that no line can say the default quit word `BYE`.
 */
export function randomBytes(
  rand: () => number,
  size: number,
  noQuitLine = false,
): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const word = (rand() * 4294967296) >>> 0;
    data[i] = word & 0xff;
    if (i + 1 < size) data[i + 1] = (word >>> 8) & 0xff;
    if (i + 2 < size) data[i + 2] = (word >>> 16) & 0xff;
    if (i + 3 < size) data[i + 3] = word >>> 24;
  }
  if (noQuitLine) {
    for (let i = data.indexOf(0x42); i >= 0; i = data.indexOf(0x42, i + 1)) {
      data[i] = 0x62;
    }
  }
  return data;
}

/**
 * Splits `data` into consecutive chunks of `min` to `max` bytes (the last
 * may be shorter), sizes drawn from `rand`. The chunks are views of `data`.
 */
export function randomChunks(
  rand: () => number,
  data: Uint8Array,
  min: number,
  max: number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < data.length;) {
    const size = Math.min(randInt(rand, min, max), data.length - off);
    chunks.push(data.subarray(off, off + size));
    off += size;
  }
  return chunks;
}

// ---------------------------------------------------------------------------
// Bytes

/** Index of the first byte where `a` and `b` differ, or -1 if equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * Asserts two byte arrays are identical. Fast on many MiB, and on failure
 * reports both lengths and the first differing offset (with the bytes
 * there) rather than dumping the arrays. `what` starts the message.
 */
export function assertBytesEqual(
  actual: Uint8Array,
  expected: Uint8Array,
  what = "bytes",
): void {
  const at = firstDifference(actual, expected);
  if (at < 0) return;
  fail(
    `${what}: got ${actual.length} bytes, expected ${expected.length}; ` +
      `first difference at byte ${at} (got ${actual[at]}, expected ${
        expected[at]
      })`,
  );
}

// ---------------------------------------------------------------------------
// Promises

/**
 * Resolves or rejects like `promise`, but rejects after `ms` milliseconds,
 * saying `what` was awaited, if it has not settled by then. The timer is
 * always cleared.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms: ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// Text

/**
 * Says why a test or step did not run (a "skipped:" line in the output); the
 * test still counts as passed. Where the reason is known before the test is
 * registered (a missing tool), prefer `Deno.test({ ignore })`, which the
 * summary counts as ignored; this is for what only the test itself finds out.
 */
export function skip(why: string): void {
  // deno-lint-ignore no-console
  console.log(`skipped: ${why}`);
}
