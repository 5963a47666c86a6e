// Copyright the deno-echo authors. MIT license.

// The bytes the load generator sends: a position-addressable stream, so that
// nothing sent needs to be kept to check its echo.

/** The period of every payload stream, in bytes. */
export const PAYLOAD_PERIOD = 64 * 1024;

const LF = 0x0a;

/**
 * Byte `i` of a connection's stream is `table[(i + key) % PAYLOAD_PERIOD]`.
 * The table holds the period twice over, so that any run of up to
 * PAYLOAD_PERIOD bytes is one contiguous `subarray`, to send as it is or to
 * compare with an echo.
 *
 * The bytes are pseudo-random (xorshift32 from `seed`) with no `\n` among
 * them: the server sees one endless line, which can never be its quit word.
 */
export function payloadTable(seed: number): Uint8Array {
  const table = new Uint8Array(2 * PAYLOAD_PERIOD);
  let x = (seed >>> 0) || 0x9e3779b9;
  for (let i = 0; i < PAYLOAD_PERIOD; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const byte = x >>> 24;
    table[i] = byte === LF ? byte + 1 : byte;
  }
  table.copyWithin(PAYLOAD_PERIOD, 0, PAYLOAD_PERIOD);
  return table;
}

/**
 * Where connection `index` starts in the table: distinct for the first
 * PAYLOAD_PERIOD connections (an odd multiplier is a bijection modulo a power
 * of two), so that echoes delivered to the wrong connection do not match.
 */
export function payloadKey(index: number): number {
  return Math.imul(index, 40503) & (PAYLOAD_PERIOD - 1);
}
