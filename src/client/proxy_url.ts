// Copyright the deno-echo authors. MIT license.

import { formatAddress, parseHostPort } from "../net/address.ts";

/** A proxy protocol a client can tunnel through. */
export type ProxyScheme = "http" | "socks5" | "socks5h";

/** A proxy to dial through, as {@linkcode parseProxyUrl} reads it. */
export interface ProxyConfig {
  /**
   * `"http"`: an HTTP proxy, asked with `CONNECT` (RFC 9110). `"socks5"`: a
   * SOCKS5 proxy (RFC 1928) given the target's address, resolved here.
   * `"socks5h"`: a SOCKS5 proxy given the target's name, resolved there.
   */
  scheme: ProxyScheme;
  /** The proxy's name or IP literal (IPv6 without brackets). */
  hostname: string;
  /** The proxy's port. */
  port: number;
  /**
   * Credentials: HTTP basic authentication (RFC 7617) or SOCKS5
   * username/password (RFC 1929).
   *
   * @default {undefined}
   */
  auth?: { username: string; password: string };
}

/** The port of each kind of proxy when the URL has none (as ncat and curl). */
export const DEFAULT_PROXY_PORTS: Readonly<Record<ProxyScheme, number>> = {
  http: 3128,
  socks5: 1080,
  socks5h: 1080,
};

const PROXY_URL = /^(http|socks5h?):\/\/(?:([^@/]*)@)?([^@/]+)\/?$/i;

/**
 * Parses a proxy URL: `http://[USER:PASS@]HOST[:PORT]`,
 * `socks5://[USER:PASS@]HOST[:PORT]` or `socks5h://...`; an IPv6 host goes
 * in brackets. The port defaults to 3128 for HTTP and 1080 for SOCKS5; user
 * and password may be percent-encoded.
 *
 * @example Read a SOCKS5 proxy with credentials
 * ```ts
 * import { parseProxyUrl } from "./proxy_url.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseProxyUrl("socks5h://me:s%40cret@[::1]:1080"), {
 *   scheme: "socks5h",
 *   hostname: "::1",
 *   port: 1080,
 *   auth: { username: "me", password: "s@cret" },
 * });
 * assertEquals(parseProxyUrl("http://proxy").port, 3128);
 * ```
 *
 * @param text The URL as written.
 * @returns The proxy.
 * @throws {RangeError} If the text is no such URL, the port is out of range,
 * or a credential is longer than SOCKS5 allows (255 bytes).
 */
export function parseProxyUrl(text: string): ProxyConfig {
  const match = PROXY_URL.exec(text);
  if (match === null) {
    throw new RangeError(
      `Invalid proxy "${text}": expected http://[USER:PASS@]HOST[:PORT] or socks5://[USER:PASS@]HOST[:PORT] (socks5h:// to resolve names at the proxy)`,
    );
  }
  const scheme = match[1]!.toLowerCase() as ProxyScheme;
  let where;
  try {
    where = parseHostPort(match[3]!);
  } catch (error) {
    throw new RangeError(
      `Invalid proxy "${text}": ${(error as Error).message}`,
    );
  }
  if (where.port === 0) {
    throw new RangeError(`Invalid proxy "${text}": port 0 cannot be dialed`);
  }
  const config: ProxyConfig = {
    scheme,
    hostname: where.hostname,
    port: where.port ?? DEFAULT_PROXY_PORTS[scheme],
  };
  if (match[2] !== undefined) config.auth = parseAuth(match[2], text, scheme);
  return config;
}

function parseAuth(
  userinfo: string,
  text: string,
  scheme: ProxyScheme,
): { username: string; password: string } {
  const colon = userinfo.indexOf(":");
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new RangeError(`Invalid proxy "${text}": bad percent-encoding`);
    }
  };
  const username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? "" : decode(userinfo.slice(colon + 1));
  if (scheme !== "http") {
    const encoder = new TextEncoder();
    for (const [what, value] of [["user", username], ["password", password]]) {
      const length = encoder.encode(value).length;
      if (length < 1 || length > 255) {
        throw new RangeError(
          `Invalid proxy "${text}": a SOCKS5 ${what} is 1 to 255 bytes, not ${length}`,
        );
      }
    }
  } else if (username.includes(":")) {
    throw new RangeError(
      `Invalid proxy "${text}": an HTTP proxy user cannot contain ":"`,
    );
  }
  return { username, password };
}

/**
 * A proxy as messages show it, without its password:
 * `socks5://me@127.0.0.1:1080`.
 *
 * @example Hide the password
 * ```ts
 * import { describeProxy, parseProxyUrl } from "./proxy_url.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(describeProxy(parseProxyUrl("http://me:pw@[::1]:8080")), "http://me@[::1]:8080");
 * ```
 *
 * @param proxy The proxy.
 * @returns Its URL without the password.
 */
export function describeProxy(proxy: ProxyConfig): string {
  const user = proxy.auth === undefined
    ? ""
    : `${encodeURIComponent(proxy.auth.username)}@`;
  return `${proxy.scheme}://${user}${formatAddress(proxy)}`;
}
