// Copyright the deno-echo authors. MIT license.

// PROXY v2 headers written byte by byte for the parser tests, independently
// of buildProxyHeader, so that a mistake shared by both cannot hide.

import { crc32c } from "../../src/proxy/crc32c.ts";

/** The v2 signature. */
export const SIGNATURE = [
  ...[0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a],
];

/** The parts of a v2 header; `length` defaults to the body's. */
export interface V2Parts {
  verCmd?: number;
  family?: number;
  length?: number;
  body?: number[];
}

/** A v2 header from its parts (defaults: PROXY, TCP over IPv4, no body). */
export function v2(
  { verCmd = 0x21, family = 0x11, body = [], length = body.length }: V2Parts =
    {},
): Uint8Array {
  return Uint8Array.from([
    ...SIGNATURE,
    verCmd,
    family,
    length >> 8,
    length & 0xff,
    ...body,
  ]);
}

/** 127.0.0.2:51234 -> 127.0.0.1:2000 as an IPv4 address block. */
export const IPV4_BLOCK = [127, 0, 0, 2, 127, 0, 0, 1, 0xc8, 0x22, 0x07, 0xd0];

/** [2001:db8::7]:443 -> [::1]:2000 as an IPv6 address block. */
export const IPV6_BLOCK = [
  ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
  ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  ...[0x01, 0xbb, 0x07, 0xd0],
];

/** A TLV: type, 16-bit length, value. */
export function tlv(type: number, value: number[] | string): number[] {
  const bytes = typeof value === "string"
    ? [...new TextEncoder().encode(value)]
    : value;
  return [type, bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

/**
 * `header` with a CRC32C TLV appended (the length field grown to match)
 * and the checksum filled in; `corrupt` flips a bit of it.
 */
export function withCrc(header: Uint8Array, corrupt = false): Uint8Array {
  const out = new Uint8Array(header.length + 7);
  out.set(header);
  out.set([0x03, 0, 4, 0, 0, 0, 0], header.length);
  const length = ((out[14]! << 8) | out[15]!) + 7;
  out[14] = length >> 8;
  out[15] = length & 0xff;
  const crc = crc32c(out) ^ (corrupt ? 1 : 0);
  new DataView(out.buffer).setUint32(header.length + 3, crc >>> 0);
  return out;
}
