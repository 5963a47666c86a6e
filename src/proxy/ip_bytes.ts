// Copyright the deno-echo authors. MIT license.

// IP addresses as bytes, both ways: what the PROXY header (binary addresses,
// strict text) and the CIDR ranges need, and what `ipFamily` in
// ../net/address.ts (a yes/no answer from the URL parser) does not give.

/** An IP address as its 4 or 16 bytes in network order. */
export interface IpBytes {
  /** 4 for IPv4, 6 for IPv6. */
  family: 4 | 6;
  /** The address, 4 or 16 bytes. */
  bytes: Uint8Array;
}

const OCTET = /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * Parses dotted-quad IPv4: four decimal numbers 0-255, no leading zeros.
 *
 * @param text The address as written.
 * @returns Its 4 bytes, or `undefined` when it is not IPv4.
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => OCTET.test(part))) {
    return undefined;
  }
  return Uint8Array.from(parts, Number);
}

/**
 * Parses IPv6 text as `inet_pton` does: hexadecimal groups of 1 to 4
 * digits, at most one `::`, optionally ending in dotted-quad IPv4
 * (`::ffff:1.2.3.4`). No zone, no brackets.
 *
 * @param text The address as written.
 * @returns Its 16 bytes, or `undefined` when it is not IPv6.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const gap = text.indexOf("::");
  if (gap >= 0 && text.includes("::", gap + 1)) return undefined;
  const head = gap < 0 ? groupsOf(text, true) : groupsOf(text.slice(0, gap));
  const tail = gap < 0 ? [] : groupsOf(text.slice(gap + 2), true);
  if (head === undefined || tail === undefined) return undefined;
  const words = [...head, ...tail];
  if (gap < 0 ? words.length !== 8 : words.length > 7) return undefined;
  const bytes = new Uint8Array(16);
  const put = (word: number, at: number): void => {
    bytes[at * 2] = word >>> 8;
    bytes[at * 2 + 1] = word & 0xff;
  };
  head.forEach((word, i) => put(word, i));
  tail.forEach((word, i) => put(word, 8 - tail.length + i));
  return bytes;
}

/**
 * `a:b:c` as 16-bit words ("" is none); with `last`, the final group may be
 * dotted-quad IPv4 (two words).
 */
function groupsOf(text: string, last = false): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const words: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (GROUP.test(part)) {
      words.push(parseInt(part, 16));
      continue;
    }
    const v4 = last && i === parts.length - 1 ? parseIPv4(part) : undefined;
    if (v4 === undefined) return undefined;
    words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
  }
  return words;
}

/**
 * Parses an IPv4 or IPv6 literal.
 *
 * @param text The address as written.
 * @returns Its family and bytes, or `undefined` for anything else.
 */
export function parseIp(text: string): IpBytes | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(text);
  return v6 === undefined ? undefined : { family: 6, bytes: v6 };
}

/**
 * Formats 4 bytes as dotted-quad IPv4.
 *
 * @param bytes The address.
 * @returns The address as text.
 */
export function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join(".");
}

/**
 * Formats 16 bytes as IPv6 in the canonical form of RFC 5952: lower case,
 * no leading zeros, the longest run of two or more zero groups as `::`, and
 * IPv4-mapped addresses as `::ffff:1.2.3.4`.
 *
 * @param bytes The address.
 * @returns The address as text.
 */
export function formatIPv6(bytes: Uint8Array): string {
  if (isMappedIPv4(bytes)) return `::ffff:${formatIPv4(bytes.subarray(12))}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((word) => word.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${
    hex.slice(best + bestLength).join(":")
  }`;
}

/**
 * Tells whether 16 bytes are an IPv4-mapped IPv6 address (`::ffff:0:0/96`).
 *
 * @param bytes An IPv6 address.
 * @returns Whether it is IPv4-mapped.
 */
export function isMappedIPv4(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Maps IPv4 bytes into IPv6 (`::ffff:a.b.c.d`); IPv6 bytes are returned as
 * they are.
 *
 * @param ip An address.
 * @returns Its 16 bytes.
 */
export function toIPv6Bytes(ip: IpBytes): Uint8Array {
  if (ip.family === 6) return ip.bytes;
  const bytes = new Uint8Array(16);
  bytes[10] = bytes[11] = 0xff;
  bytes.set(ip.bytes, 12);
  return bytes;
}

/**
 * Formats an address the way this package shows peers: IPv4 as dotted
 * quad, IPv6 canonical, IPv4-mapped IPv6 as plain IPv4.
 *
 * @param bytes 4 or 16 bytes.
 * @returns The address as text.
 */
export function formatIpUnmapped(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIPv4(bytes);
  return isMappedIPv4(bytes)
    ? formatIPv4(bytes.subarray(12))
    : formatIPv6(bytes);
}
