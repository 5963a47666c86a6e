// Copyright the deno-echo authors. MIT license.

/** A host and a port, as parsed from `HOST`, `HOST:PORT` or `[V6]:PORT`. */
export interface HostPort {
  /** A name or an IP literal, without brackets. */
  hostname: string;
  /** The port, or `undefined` when none was written. */
  port: number | undefined;
}

const MAPPED_PREFIX = "::ffff:";

/**
 * Turns an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`), as seen on a
 * dual-stack socket, into plain IPv4; returns any other address unchanged.
 *
 * @example Unmap an IPv4 peer
 * ```ts
 * import { unmapIPv4 } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(unmapIPv4("::ffff:127.0.0.1"), "127.0.0.1");
 * assertEquals(unmapIPv4("::1"), "::1");
 * ```
 *
 * @param hostname An IP address.
 * @returns The address, IPv4 if it was IPv4-mapped.
 */
export function unmapIPv4(hostname: string): string {
  if (hostname.toLowerCase().startsWith(MAPPED_PREFIX)) {
    const rest = hostname.slice(MAPPED_PREFIX.length);
    if (ipFamily(rest) === 4) return rest;
  }
  return hostname;
}

/**
 * Formats an address as `HOST:PORT`, with IPv6 in brackets and IPv4-mapped
 * addresses shown as IPv4.
 *
 * @example Format addresses
 * ```ts
 * import { formatAddress } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatAddress({ hostname: "::1", port: 2000 }), "[::1]:2000");
 * assertEquals(formatAddress({ hostname: "::ffff:10.0.0.1", port: 80 }), "10.0.0.1:80");
 * ```
 *
 * @param addr A hostname (name or literal) and port, such as a `Deno.NetAddr`;
 * a Unix socket address is shown as `unix:PATH`.
 * @returns The address as text.
 */
export function formatAddress(
  addr: Deno.Addr | { readonly hostname: string; readonly port: number },
): string {
  if ("path" in addr) return `unix:${addr.path || "(unnamed)"}`;
  if ("cid" in addr) return `vsock:${addr.cid}:${addr.port}`;
  const host = unmapIPv4(addr.hostname);
  return ipFamily(host) === 6
    ? `[${host}]:${addr.port}`
    : `${host}:${addr.port}`;
}

/**
 * Parses a port number: decimal digits only, 0 to 65535.
 *
 * @example Parse ports
 * ```ts
 * import { parsePort } from "@deno-echo/echo";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(parsePort("2000"), 2000);
 * assertThrows(() => parsePort("1e3"), RangeError);
 * ```
 *
 * @param text The port as written.
 * @returns The port.
 * @throws {RangeError} If the text is not a whole number from 0 to 65535.
 */
export function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new RangeError(
      `Invalid port "${text}": expected a whole number from 0 to 65535`,
    );
  }
  return Number(text);
}

/**
 * Parses `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 literal
 * (`::1`, always a host, never host and port).
 *
 * @example Parse host and port
 * ```ts
 * import { parseHostPort } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseHostPort("[::1]:2000"), { hostname: "::1", port: 2000 });
 * assertEquals(parseHostPort("::1"), { hostname: "::1", port: undefined });
 * assertEquals(parseHostPort("example.com:7"), { hostname: "example.com", port: 7 });
 * ```
 *
 * @param text The address as written.
 * @returns The hostname and the port, if one was written.
 * @throws {RangeError} If the text is empty, has unbalanced brackets, puts a
 * non-IPv6 address in brackets, or has an invalid port.
 */
export function parseHostPort(text: string): HostPort {
  if (text.length === 0) throw new RangeError("Empty host");
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) {
      throw new RangeError(`Invalid address "${text}": missing "]"`);
    }
    const hostname = text.slice(1, close);
    if (ipFamily(hostname) !== 6) {
      throw new RangeError(
        `Invalid address "${text}": only IPv6 addresses go in brackets`,
      );
    }
    const rest = text.slice(close + 1);
    if (rest === "") return { hostname, port: undefined };
    if (!rest.startsWith(":")) {
      throw new RangeError(
        `Invalid address "${text}": expected ":PORT" after "]"`,
      );
    }
    return { hostname, port: parsePort(rest.slice(1)) };
  }
  if (text.includes("]")) {
    throw new RangeError(`Invalid address "${text}": missing "["`);
  }
  const colons = text.match(/:/g)?.length ?? 0;
  if (colons === 0) return { hostname: checkHostname(text), port: undefined };
  if (colons > 1) {
    // More than one colon: only a bare IPv6 literal makes sense.
    if (ipFamily(text) === 6) return { hostname: text, port: undefined };
    throw new RangeError(
      `Invalid address "${text}": write an IPv6 address with a port as [ADDRESS]:PORT`,
    );
  }
  const at = text.lastIndexOf(":");
  return {
    hostname: checkHostname(text.slice(0, at)),
    port: parsePort(text.slice(at + 1)),
  };
}

/**
 * Parses a host without a port: a name, an IPv4 literal, or an IPv6 literal
 * with or without brackets (`::1`, `[::1]`).
 *
 * @example Parse hosts
 * ```ts
 * import { parseHostname } from "@deno-echo/echo";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(parseHostname("[::1]"), "::1");
 * assertEquals(parseHostname("localhost"), "localhost");
 * assertThrows(() => parseHostname("[::1"), RangeError);
 * ```
 *
 * @param text The host as written.
 * @returns The hostname, without brackets.
 * @throws {RangeError} If the text is not a name or an IP literal.
 */
export function parseHostname(text: string): string {
  if (/^\[.*\]$/.test(text)) {
    const inner = text.slice(1, -1);
    if (ipFamily(inner) === 6) return inner;
    throw new RangeError(
      `Invalid host "${text}": only IPv6 addresses go in brackets`,
    );
  }
  if (ipFamily(text) !== 0) return text;
  if (text.includes("[") || text.includes("]")) {
    throw new RangeError(`Invalid host "${text}": unbalanced brackets`);
  }
  if (text.includes(":")) {
    throw new RangeError(
      `Invalid host "${text}": not an IPv6 address; give the port separately`,
    );
  }
  return checkHostname(text);
}

function checkHostname(hostname: string): string {
  if (hostname.length === 0) throw new RangeError("Empty host");
  if (!/^[A-Za-z0-9._-]+$/.test(hostname)) {
    throw new RangeError(`Invalid host "${hostname}"`);
  }
  return hostname;
}

/**
 * Tells which IP family a literal belongs to.
 *
 * @param hostname A name or literal.
 * @returns 4 or 6 for an IP literal, 0 for anything else.
 */
export function ipFamily(hostname: string): 0 | 4 | 6 {
  if (IPV4.test(hostname)) return 4;
  // IPv6, with an optional zone (`fe80::1%eth0`), as node:net's isIP takes
  // it. Checked by the URL parser, which knows every IPv6 text form; only
  // characters of an address are let through to it. (Importing node:net
  // for isIP took 15 ms of a 35 ms start.)
  const zone = hostname.indexOf("%");
  const address = zone < 0 ? hostname : hostname.slice(0, zone);
  if (
    !address.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(address) ||
    (zone >= 0 && !/^%[0-9A-Za-z.:-]+$/.test(hostname.slice(zone)))
  ) {
    return 0;
  }
  return URL.canParse(`http://[${address}]/`) ? 6 : 0;
}

const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
