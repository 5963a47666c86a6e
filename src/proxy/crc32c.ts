// Copyright the deno-echo authors. MIT license.

// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of the
// PROXY v2 PP2_TYPE_CRC32C TLV (RFC 4960, appendix B).

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table !== undefined) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * Computes the CRC-32C of some bytes.
 *
 * @param bytes The bytes.
 * @returns The checksum, an unsigned 32-bit integer.
 */
export function crc32c(bytes: Uint8Array): number {
  const t = crcTable();
  let crc = 0xffffffff;
  for (const byte of bytes) crc = t[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
