// Copyright the deno-echo authors. MIT license.

import { DEFAULT_PORT } from "./defaults.ts";
import {
  formatAddress,
  ipFamily,
  parseHostPort,
  portInAddress,
} from "./address.ts";

/** Where and how to listen: one entry of `serve({ listen })`. */
export type ListenerSpec =
  /**
   * Plain TCP on every address `hostname` names. With `proxyProtocol`,
   * every connection must begin with a PROXY header (v1 or v2), whose
   * client address then stands for the peer's (`?proxy-protocol` in URLs).
   */
  | {
    transport: "tcp";
    hostname: string;
    port: number;
    proxyProtocol?: boolean;
  }
  /** TLS over TCP; needs `serve({ tls })`. `proxyProtocol` as for `tcp`. */
  | {
    transport: "tls";
    hostname: string;
    port: number;
    proxyProtocol?: boolean;
  }
  /** A Unix domain socket at `path`. */
  | { transport: "unix"; path: string }
  /** UDP datagrams (RFC 862), each echoed to its sender. */
  | { transport: "udp"; hostname: string; port: number };

const SCHEMES = ["tcp", "tls", "udp"] as const;

/**
 * Parses a listener URL: `tcp://HOST:PORT`, `tls://HOST:PORT`,
 * `udp://HOST:PORT` (HOST a name, an IPv4 literal or `[IPV6]`; the port may
 * be omitted) or `unix:PATH`. `tcp://` and `tls://` take `?proxy-protocol`:
 * connections must then begin with a PROXY header.
 *
 * @example Parse listener URLs
 * ```ts
 * import { parseListenUrl } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseListenUrl("tls://[::1]:2443"), { transport: "tls", hostname: "::1", port: 2443 });
 * assertEquals(parseListenUrl("unix:/tmp/echo.sock"), { transport: "unix", path: "/tmp/echo.sock" });
 * assertEquals(parseListenUrl("udp://localhost"), { transport: "udp", hostname: "localhost", port: 2000 });
 * assertEquals(parseListenUrl("tcp://[::]:2000?proxy-protocol"), {
 *   transport: "tcp",
 *   hostname: "::",
 *   port: 2000,
 *   proxyProtocol: true,
 * });
 * ```
 *
 * @param url The listener as written.
 * @param defaultPort The port when the URL has none.
 * @returns The listener.
 * @throws {RangeError} If the URL is not one of those forms (an IPv6 host
 * without brackets among them: `tcp://::1:0` could be either of two).
 */
export function parseListenUrl(
  url: string,
  defaultPort: number = DEFAULT_PORT,
): ListenerSpec {
  if (url.startsWith("unix:")) {
    const path = url.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (path.length === 0) {
      throw new RangeError(`Invalid listener "${url}": expected unix:PATH`);
    }
    return { transport: "unix", path };
  }
  const match = /^([a-z]+):\/\/(.*)$/.exec(url);
  const scheme = match?.[1] as (typeof SCHEMES)[number] | undefined;
  if (!match || scheme === undefined || !SCHEMES.includes(scheme)) {
    throw new RangeError(
      `Invalid listener "${url}": expected tcp://HOST:PORT, tls://HOST:PORT, udp://HOST:PORT or unix:PATH`,
    );
  }
  const mark = match[2]!.indexOf("?");
  const rest = mark < 0 ? match[2]! : match[2]!.slice(0, mark);
  const query = mark < 0 ? undefined : match[2]!.slice(mark + 1);
  const proxyProtocol = query !== undefined;
  if (proxyProtocol && (query !== "proxy-protocol" || scheme === "udp")) {
    throw new RangeError(
      `Invalid listener "${url}": the only option is ?proxy-protocol, for tcp:// and tls://`,
    );
  }
  const authority = rest.replace(/\/$/, "");
  if (!authority.startsWith("[") && /:.*:/.test(authority)) {
    throw new RangeError(
      `Invalid listener "${url}": ${bracketsHint(scheme, authority, query)}`,
    );
  }
  let hostPort;
  try {
    hostPort = parseHostPort(authority);
  } catch (error) {
    throw new RangeError(
      `Invalid listener "${url}": ${(error as Error).message}`,
    );
  }
  const spec = {
    transport: scheme,
    hostname: hostPort.hostname,
    port: hostPort.port ?? defaultPort,
  };
  return proxyProtocol && scheme !== "udp"
    ? { ...spec, transport: scheme, proxyProtocol }
    : spec;
}

/**
 * What to write for an IPv6 address without brackets: `tcp://::1:0` is
 * `::1` port 0 or `::1:0` on the default port, so URLs take brackets.
 */
function bracketsHint(
  scheme: string,
  authority: string,
  query: string | undefined,
): string {
  const meant = portInAddress(authority);
  const suffix = query === undefined ? "" : `?${query}`;
  const fixed = meant !== undefined
    ? `${scheme}://[${meant.hostname}]:${meant.port}${suffix}`
    : ipFamily(authority) === 6
    ? `${scheme}://[${authority}]${suffix}`
    : `${scheme}://[ADDRESS]:PORT`;
  return `write the IPv6 address in brackets: ${fixed}`;
}

/**
 * Formats a bound listener as a URL: `tcp://127.0.0.1:2000`,
 * `tls://[::1]:2443`, `unix:/run/echo.sock`, `udp://127.0.0.1:2000`.
 *
 * @example Format listeners
 * ```ts
 * import { formatListener } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatListener("tls", { transport: "tcp", hostname: "::1", port: 2443 }), "tls://[::1]:2443");
 * assertEquals(formatListener("unix", { transport: "unix", path: "/tmp/e.sock" }), "unix:/tmp/e.sock");
 * ```
 *
 * @param transport The listener's kind.
 * @param addr The address it is bound to.
 * @returns The URL.
 */
export function formatListener(
  transport: ListenerSpec["transport"],
  addr: Deno.Addr,
): string {
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    return `unix:${addr.path}`;
  }
  return `${transport}://${formatAddress(addr)}`;
}
