// Copyright the deno-echo authors. MIT license.

import {
  formatIPv4,
  formatIPv6,
  type IpBytes,
  isMappedIPv4,
  parseIp,
  toIPv6Bytes,
} from "./ip_bytes.ts";
import { PROXY_V2_SIGNATURE } from "./types.ts";

/** What a PROXY header built by {@linkcode buildProxyHeader} says. */
export interface ProxyHeaderInit {
  /**
   * The client's address (an IP literal). With `destination`; without
   * both, the header carries no addresses (v1 `UNKNOWN`, v2 `LOCAL`).
   *
   * @default {undefined}
   */
  source?: Deno.NetAddr;
  /**
   * The address the client connected to (an IP literal).
   *
   * @default {undefined}
   */
  destination?: Deno.NetAddr;
  /**
   * A v2 `PP2_TYPE_ALPN` TLV (v2 with addresses only).
   *
   * @default {undefined}
   */
  alpn?: string;
  /**
   * A v2 `PP2_TYPE_AUTHORITY` TLV (v2 with addresses only).
   *
   * @default {undefined}
   */
  authority?: string;
}

const encoder = new TextEncoder();

/**
 * Builds a PROXY header to send at the start of a connection. With both
 * addresses: v1 `PROXY TCP4|TCP6 ...` or v2 `PROXY` over TCP (or UDP when
 * `source.transport` is `udp`, v2 only). An IPv4 and an IPv6 address
 * together are both sent as IPv6 (the IPv4 one mapped, `::ffff:a.b.c.d`),
 * as HAProxy does. Without addresses: v1 `PROXY UNKNOWN`, v2 `LOCAL`.
 *
 * @example Build both versions
 * ```ts
 * import { buildProxyHeader } from "./build.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const source: Deno.NetAddr = { transport: "tcp", hostname: "203.0.113.7", port: 51234 };
 * const destination: Deno.NetAddr = { transport: "tcp", hostname: "192.0.2.1", port: 2000 };
 * assertEquals(
 *   new TextDecoder().decode(buildProxyHeader(1, { source, destination })),
 *   "PROXY TCP4 203.0.113.7 192.0.2.1 51234 2000\r\n",
 * );
 * assertEquals(buildProxyHeader(2, { source, destination }).length, 28);
 * assertEquals(new TextDecoder().decode(buildProxyHeader(1)), "PROXY UNKNOWN\r\n");
 * assertEquals(buildProxyHeader(2).length, 16);
 * ```
 *
 * @param version 1 for the text form, 2 for the binary form.
 * @param init The addresses, and TLVs for v2.
 * @returns The header's bytes.
 * @throws {TypeError} If only one address is given, v1 is asked for UDP,
 * or TLVs for v1 or a header without addresses.
 * @throws {RangeError} If an address is not an IP literal or a port is
 * not a whole number from 0 to 65535, or the TLVs make the header too long
 * for its 16-bit length.
 */
export function buildProxyHeader(
  version: 1 | 2,
  init: ProxyHeaderInit = {},
): Uint8Array {
  const { source, destination } = init;
  const tlvs = tlvsOf(init);
  if ((source === undefined) !== (destination === undefined)) {
    throw new TypeError(
      "A PROXY header takes both a source and a destination, or neither",
    );
  }
  if (tlvs.length > 0 && (version !== 2 || source === undefined)) {
    throw new TypeError(
      "ALPN and authority need a version 2 header with addresses",
    );
  }
  if (version !== 1 && version !== 2) {
    throw new RangeError(`Invalid PROXY version "${version}": expected 1 or 2`);
  }
  if (source === undefined || destination === undefined) {
    return version === 1
      ? encoder.encode("PROXY UNKNOWN\r\n")
      : fixed(0x20, 0x00, 0);
  }
  const [from, to] = sameFamily(ipOf(source), ipOf(destination));
  const ports = [portOf(source), portOf(destination)] as const;
  const udp = source.transport === "udp";
  if (version === 1) {
    if (udp) throw new TypeError("A PROXY v1 header carries TCP only");
    const format = from.family === 4 ? formatIPv4 : formatIPv6;
    return encoder.encode(
      `PROXY TCP${from.family} ${format(from.bytes)} ${format(to.bytes)} ${
        ports[0]
      } ${ports[1]}\r\n`,
    );
  }
  const size = from.family === 4 ? 4 : 16;
  const addresses = 2 * size + 4;
  const length = addresses + tlvs.reduce((sum, tlv) => sum + tlv.length, 0);
  if (length > 65535) {
    throw new RangeError(
      `PROXY v2 header of ${length} bytes after the fixed 16 is over 65535`,
    );
  }
  const family = (from.family === 4 ? 0x10 : 0x20) | (udp ? 0x2 : 0x1);
  const header = fixed(0x21, family, length);
  header.set(from.bytes, 16);
  header.set(to.bytes, 16 + size);
  const view = new DataView(header.buffer);
  view.setUint16(16 + 2 * size, ports[0]);
  view.setUint16(18 + 2 * size, ports[1]);
  let at = 16 + addresses;
  for (const tlv of tlvs) {
    header.set(tlv, at);
    at += tlv.length;
  }
  return header;
}

/** A v2 header of `16 + length` bytes with its fixed part filled in. */
function fixed(command: number, family: number, length: number): Uint8Array {
  const header = new Uint8Array(16 + length);
  header.set(PROXY_V2_SIGNATURE);
  header[12] = command;
  header[13] = family;
  new DataView(header.buffer).setUint16(14, length);
  return header;
}

function tlvsOf(init: ProxyHeaderInit): Uint8Array[] {
  const tlvs: Uint8Array[] = [];
  for (const [type, text] of [[0x01, init.alpn], [0x02, init.authority]]) {
    if (typeof text !== "string") continue;
    const value = encoder.encode(text);
    if (value.length > 65535) {
      throw new RangeError(
        `PROXY v2 TLV of ${value.length} bytes is over 65535 bytes`,
      );
    }
    const tlv = new Uint8Array(3 + value.length);
    tlv[0] = type as number;
    new DataView(tlv.buffer).setUint16(1, value.length);
    tlv.set(value, 3);
    tlvs.push(tlv);
  }
  return tlvs;
}

function ipOf(addr: Deno.NetAddr): IpBytes {
  const ip = parseIp(addr.hostname);
  if (ip === undefined) {
    throw new RangeError(
      `Invalid PROXY header address "${addr.hostname}": expected an IP address`,
    );
  }
  // An IPv4-mapped peer of a dual-stack socket is an IPv4 client.
  if (ip.family === 6 && isMappedIPv4(ip.bytes)) {
    return { family: 4, bytes: ip.bytes.slice(12) };
  }
  return ip;
}

function sameFamily(a: IpBytes, b: IpBytes): [IpBytes, IpBytes] {
  if (a.family === b.family) return [a, b];
  return [
    { family: 6, bytes: toIPv6Bytes(a) },
    { family: 6, bytes: toIPv6Bytes(b) },
  ];
}

function portOf(addr: Deno.NetAddr): number {
  const { port } = addr;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Invalid PROXY header port "${port}": expected a whole number from 0 to 65535`,
    );
  }
  return port;
}
