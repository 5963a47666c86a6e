// Copyright the deno-echo authors. MIT license.

/** A host and a port, as parsed from `HOST`, `HOST:PORT` or `[V6]:PORT`. */
export interface HostPort {
  /** A name or an IP literal, without brackets. */
  hostname: string;
  /** The port, or `undefined` when none was written. */
  port: number | undefined;
}

const MAPPED_PREFIX = "::ffff:";
const COLON = 0x3a;

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
  // Every accepted connection comes by here: most are not mapped, and are
  // told by their first character with no new string.
  if (hostname.charCodeAt(0) !== COLON) return hostname;
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
 * Parses a port number: decimal digits only, 0 to 65535, or 1 to 65535 where
 * the port is dialed (`minPort` 1: port 0 means "any" only when listening).
 *
 * @example Parse ports
 * ```ts
 * import { parsePort } from "@deno-echo/echo";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(parsePort("2000"), 2000);
 * assertEquals(parsePort("0"), 0);
 * assertThrows(() => parsePort("1e3"), RangeError);
 * assertThrows(() => parsePort("0", 1), RangeError, "Port 0 cannot be dialed");
 * ```
 *
 * @param text The port as written.
 * @param minPort The lowest port accepted: 0 for listening, 1 for dialing.
 * @returns The port.
 * @throws {RangeError} If the text is not a whole number from `minPort` to
 * 65535.
 */
export function parsePort(text: string, minPort: 0 | 1 = 0): number {
  const range = `expected a whole number from ${minPort} to 65535`;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new RangeError(`Invalid port "${text}": ${range}`);
  }
  const port = Number(text);
  if (port < minPort) {
    throw new RangeError(`Port ${port} cannot be dialed: ${range}`);
  }
  return port;
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
 * @param minPort The lowest port accepted: 0 for listening, 1 for dialing.
 * @returns The hostname and the port, if one was written.
 * @throws {RangeError} If the text is empty, has unbalanced brackets, puts a
 * non-IPv6 address in brackets, has an invalid port, or gives an interface
 * name as the zone of an address that is not link-local (`::1%lo`).
 */
export function parseHostPort(text: string, minPort: 0 | 1 = 0): HostPort {
  if (text.length === 0) throw new RangeError(EMPTY_HOST_PORT);
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
    checkZone(hostname, `Invalid address "${text}"`);
    const rest = text.slice(close + 1);
    if (rest === "") return { hostname, port: undefined };
    if (!rest.startsWith(":")) {
      throw new RangeError(
        `Invalid address "${text}": expected ":PORT" after "]"`,
      );
    }
    return { hostname, port: parsePort(rest.slice(1), minPort) };
  }
  if (text.includes("]")) {
    throw new RangeError(`Invalid address "${text}": missing "["`);
  }
  const colons = text.match(/:/g)?.length ?? 0;
  if (colons === 0) {
    return { hostname: checkHostname(text, EMPTY_HOST_PORT), port: undefined };
  }
  if (colons > 1) {
    // More than one colon: only a bare IPv6 literal makes sense.
    if (ipFamily(text) === 6) {
      return {
        hostname: checkZone(text, `Invalid address "${text}"`),
        port: undefined,
      };
    }
    throw new RangeError(
      `Invalid address "${text}": write an IPv6 address with a port as [ADDRESS]:PORT`,
    );
  }
  const at = text.lastIndexOf(":");
  return {
    hostname: checkHostname(text.slice(0, at), EMPTY_HOST_PORT),
    port: parsePort(text.slice(at + 1), minPort),
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
 * assertThrows(() => parseHostname("[::1]:2000"), RangeError, "give the port separately");
 * ```
 *
 * @param text The host as written.
 * @returns The hostname, without brackets.
 * @throws {RangeError} If the text is not a name or an IP literal, or has a
 * port, or gives an interface name as the zone of an address that is not
 * link-local (`::1%lo`).
 */
export function parseHostname(text: string): string {
  if (/^\[.*\]$/.test(text)) {
    const inner = text.slice(1, -1);
    if (ipFamily(inner) === 6) {
      return checkZone(inner, `Invalid host "${text}"`);
    }
    throw new RangeError(
      `Invalid host "${text}": only IPv6 addresses go in brackets`,
    );
  }
  if (ipFamily(text) === 6) return checkZone(text, `Invalid host "${text}"`);
  if (ipFamily(text) === 4) return text;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new RangeError(
      `Invalid host "${text}": expected a name or an address, not a URL`,
    );
  }
  if (/^\[[^\]]*\]:/.test(text) || /^[^:[\]]+:[^:]*$/.test(text)) {
    throw new RangeError(
      `Invalid host "${text}": expected a host without a port; give the port separately`,
    );
  }
  if (text.includes("[") || text.includes("]")) {
    throw new RangeError(`Invalid host "${text}": unbalanced brackets`);
  }
  if (text.includes(":")) {
    throw new RangeError(
      `Invalid host "${text}": not an IPv6 address; give the port separately`,
    );
  }
  return checkHostname(text, EMPTY_HOST);
}

const EMPTY_HOST = "Empty host: give a name or address, like localhost";
const EMPTY_HOST_PORT = `${EMPTY_HOST}:2000`;

function checkHostname(hostname: string, empty: string): string {
  if (hostname.length === 0) throw new RangeError(empty);
  if (hostname.includes("%")) {
    throw new RangeError(
      `Invalid host "${hostname}": a zone after "%" goes only with an IPv6 address (fe80::1%eth0)`,
    );
  }
  if (!/^[A-Za-z0-9._-]+$/.test(hostname)) {
    throw new RangeError(
      `Invalid host "${hostname}": a host name has only letters, digits, ".", "-" and "_"`,
    );
  }
  return hostname;
}

/**
 * The zone of an IPv6 literal: what follows `%` (`eth0` in `fe80::1%eth0`).
 *
 * @param hostname A name or an IP literal.
 * @returns The zone, or `undefined` when there is none.
 */
export function zoneOf(hostname: string): string | undefined {
  const at = hostname.indexOf("%");
  return at < 0 || ipFamily(hostname) !== 6
    ? undefined
    : hostname.slice(at + 1);
}

/**
 * Whether an IPv6 literal is link-local (`fe80::/10`), where a zone is
 * needed to say which interface's link is meant.
 *
 * @param hostname A name or an IP literal.
 * @returns `true` for a link-local IPv6 address, with or without a zone.
 */
export function isLinkLocal(hostname: string): boolean {
  return ipFamily(hostname) === 6 && /^fe[89ab][0-9a-f]:/i.test(hostname);
}

/**
 * Why dialing or listening on an IPv6 literal failed for its zone, if it
 * did: `"no-interface"` when the zone names or numbers no interface of this
 * machine (`fe80::1%nosuch`, `fe80::1%99`), `"needs-zone"` for a link-local
 * address without one (`fe80::1`).
 *
 * @example Tell a missing interface from other failures
 * ```ts
 * import { zoneFailure } from "./address.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const lookup = new Error("failed to lookup address information");
 * assertEquals(zoneFailure("fe80::1%nosuch", lookup), "no-interface");
 * assertEquals(zoneFailure("fe80::1", new Error("Invalid argument (os error 22)")), "needs-zone");
 * assertEquals(zoneFailure("::1", lookup), undefined);
 * ```
 *
 * @param hostname The address dialed or listened on.
 * @param error What the attempt failed with.
 * @returns The reason, or `undefined` if the zone is not what failed.
 */
export function zoneFailure(
  hostname: string,
  error: unknown,
): "no-interface" | "needs-zone" | undefined {
  const why = error instanceof Error ? error.message : String(error);
  if (zoneOf(hostname) !== undefined) {
    return /failed to lookup address information|os error 19\b/.test(why)
      ? "no-interface"
      : undefined;
  }
  return isLinkLocal(hostname) && /os error 22\b/.test(why)
    ? "needs-zone"
    : undefined;
}

/**
 * The system resolves an interface name after `%` only for link-local
 * addresses; on any other an interface number is accepted, and a name
 * fails as an unknown host.
 */
function checkZone(hostname: string, context: string): string {
  const zone = zoneOf(hostname);
  if (zone !== undefined && !/^[0-9]+$/.test(zone) && !isLinkLocal(hostname)) {
    throw new RangeError(
      `${context}: an interface name as zone ("%${zone}") is understood only on a link-local address (fe80::/10); drop it`,
    );
  }
  return hostname;
}

/**
 * For a bare IPv6 literal whose last group reads as a port (`::1:2000`), the
 * address and port it may have been meant as (`[::1]:2000`).
 *
 * @example Split a port off an IPv6 literal
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { portInAddress } from "./address.ts";
 *
 * assertEquals(portInAddress("::1:2000"), { hostname: "::1", port: 2000 });
 * assertEquals(portInAddress("::1"), undefined);
 * ```
 *
 * @param hostname A name or an IP literal.
 * @returns The address and the port, or `undefined` when no port reads off.
 */
export function portInAddress(
  hostname: string,
): { hostname: string; port: number } | undefined {
  const match = /^(.*):([0-9]{1,5})$/.exec(hostname);
  if (match === null || hostname.includes("%")) return undefined;
  const [, host, port] = match;
  if (Number(port) > 65535 || ipFamily(host!) !== 6) return undefined;
  return { hostname: host!, port: Number(port) };
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
