// Copyright the deno-echo authors. MIT license.

// What a ping probe carries: its sequence number, then a pattern that
// depends on it, then a newline (for servers and proxies that work in
// lines). Every byte can be checked against what was sent, and a stray echo
// still says which probe it belongs to.

/** The smallest probe: ten digits of sequence number, a space, a newline. */
export const MIN_PING_SIZE = 12;

/** The largest sequence number a probe can carry (ten digits). */
export const MAX_PING_SEQ = 9_999_999_999;

const SEQ_DIGITS = 10;
const ALPHABET = new TextEncoder().encode(
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_",
);
const SPACE = 0x20;
const LF = 0x0a;
const ZERO = 0x30;

/**
 * The payload of probe `seq`: `0000000042 ` then a pattern, then `\n`.
 *
 * @example A 16-byte probe
 * ```ts
 * import { pingPayload } from "./ping_payload.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TextDecoder().decode(pingPayload(42, 16)), "0000000042 r2FS\n");
 * ```
 *
 * @param seq The sequence number, 1 to {@linkcode MAX_PING_SEQ}.
 * @param size The payload's size, at least {@linkcode MIN_PING_SIZE}.
 * @returns The payload.
 */
export function pingPayload(seq: number, size: number): Uint8Array {
  const payload = new Uint8Array(size);
  let rest = seq;
  for (let i = SEQ_DIGITS - 1; i >= 0; i--) {
    payload[i] = ZERO + rest % 10;
    rest = Math.floor(rest / 10);
  }
  payload[SEQ_DIGITS] = SPACE;
  for (let i = SEQ_DIGITS + 1; i < size - 1; i++) {
    payload[i] = ALPHABET[(seq * 7 + i * 13) % ALPHABET.length]!;
  }
  payload[size - 1] = LF;
  return payload;
}

/**
 * The sequence number an echo carries.
 *
 * @param echo An echo (at least the first eleven bytes).
 * @returns The number, or `undefined` when the bytes are no probe's.
 */
export function payloadSeq(echo: Uint8Array): number | undefined {
  if (echo.length < SEQ_DIGITS + 1 || echo[SEQ_DIGITS] !== SPACE) {
    return undefined;
  }
  let seq = 0;
  for (let i = 0; i < SEQ_DIGITS; i++) {
    const digit = echo[i]! - ZERO;
    if (digit < 0 || digit > 9) return undefined;
    seq = seq * 10 + digit;
  }
  return seq;
}

/** Where an echo first differs from what was sent. */
export interface PingMismatch {
  /** The byte's offset in the payload, from 0. */
  offset: number;
  /** The byte sent; -1 past the payload's end (the echo is longer). */
  expected: number;
  /** The byte echoed; -1 past the echo's end (the echo is shorter). */
  actual: number;
}

/**
 * Compares an echo with the payload sent.
 *
 * @param sent The payload.
 * @param echo What came back.
 * @returns The first difference (a missing or extra byte counts), or
 * `undefined` when they are equal.
 */
export function comparePayload(
  sent: Uint8Array,
  echo: Uint8Array,
): PingMismatch | undefined {
  const length = Math.max(sent.length, echo.length);
  for (let i = 0; i < length; i++) {
    if (sent[i] !== echo[i]) {
      return { offset: i, expected: sent[i] ?? -1, actual: echo[i] ?? -1 };
    }
  }
  return undefined;
}
