// Copyright the deno-echo authors. MIT license.

import {
  formatIPv4,
  formatIPv6,
  type IpBytes,
  isMappedIPv4,
  parseIp,
  toIPv6Bytes,
} from "./ip_bytes.ts";

/** A range of IP addresses: a network address and a prefix length. */
export interface Cidr {
  /** 4 for an IPv4 range, 6 for an IPv6 range. */
  readonly family: 4 | 6;
  /** The network address, canonical (`10.0.0.0`, `2001:db8::`). */
  readonly address: string;
  /** How many leading bits every address in the range shares. */
  readonly prefix: number;
  /** The network address as 4 or 16 bytes. */
  readonly bytes: Uint8Array;
}

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parses an IP range in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a
 * bare address is a range of one (`/32` or `/128`). The address must be
 * the range's first: `10.0.0.1/8` is refused as a likely mistake.
 *
 * @example Parse ranges
 * ```ts
 * import { parseCidr } from "./cidr.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const range = parseCidr("10.0.0.0/8");
 * assertEquals([range.family, range.address, range.prefix], [4, "10.0.0.0", 8]);
 * assertEquals(parseCidr("::1").prefix, 128);
 * assertThrows(() => parseCidr("10.0.0.0/33"), RangeError);
 * ```
 *
 * @param text The range as written.
 * @returns The range.
 * @throws {RangeError} If the text is not an IPv4 or IPv6 address with an
 * optional prefix length in range, or has bits set past the prefix.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === undefined) {
    throw new RangeError(
      `Invalid CIDR "${text}": expected an IPv4 or IPv6 address, then optionally /PREFIX`,
    );
  }
  const bits = ip.bytes.length * 8;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!PREFIX.test(prefixText) || prefix > bits) {
    throw new RangeError(
      `Invalid CIDR "${text}": prefix length "${prefixText}" is not a whole number from 0 to ${bits}`,
    );
  }
  const network = masked(ip.bytes, prefix);
  const format = ip.family === 4 ? formatIPv4 : formatIPv6;
  if (!network.every((byte, i) => byte === ip.bytes[i])) {
    throw new RangeError(
      `Invalid CIDR "${text}": bits are set after the first ${prefix}; the range starts at "${
        format(network)
      }/${prefix}"`,
    );
  }
  return {
    family: ip.family,
    address: format(network),
    prefix,
    bytes: network,
  };
}

/**
 * Tells whether an address is inside a range. IPv4 and IPv4-mapped IPv6
 * (`::ffff:10.1.2.3`, a dual-stack socket's IPv4 peer) are the same
 * address: each matches IPv4 ranges and the `::ffff:0:0/96` part of IPv6
 * ranges.
 *
 * @example Match peers
 * ```ts
 * import { cidrContains, parseCidr } from "./cidr.ts";
 * import { assert, assertFalse } from "@std/assert";
 *
 * const lan = parseCidr("10.0.0.0/8");
 * assert(cidrContains(lan, "10.1.2.3"));
 * assert(cidrContains(lan, "::ffff:10.1.2.3"));
 * assertFalse(cidrContains(lan, "192.0.2.1"));
 * assertFalse(cidrContains(lan, "localhost"));
 * ```
 *
 * @param cidr The range.
 * @param hostname An IP address (anything else is in no range).
 * @returns Whether the address is inside the range.
 */
export function cidrContains(cidr: Cidr, hostname: string): boolean {
  const ip = parseIp(hostname);
  if (ip === undefined) return false;
  const bytes = sameFamily(ip, cidr.family);
  if (bytes === undefined) return false;
  const network = masked(bytes, cidr.prefix);
  return network.every((byte, i) => byte === cidr.bytes[i]);
}

/** The address as bytes of the given family, if it has such a form. */
function sameFamily(ip: IpBytes, family: 4 | 6): Uint8Array | undefined {
  if (ip.family === family) return ip.bytes;
  if (family === 6) return toIPv6Bytes(ip);
  return isMappedIPv4(ip.bytes) ? ip.bytes.subarray(12) : undefined;
}

/** The first `prefix` bits of `bytes`, the rest zero. */
function masked(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bytes[i]! & (0xff << (8 - keep));
  }
  return out;
}
