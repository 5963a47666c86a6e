// Copyright the deno-echo authors. MIT license.

// A tunnel through an HTTP proxy: `CONNECT host:port` (RFC 9110, 9.3.6),
// with basic authentication (RFC 7617) when credentials are given.

import { formatAddress } from "../net/address.ts";
import { ProxyError } from "./proxy_errors.ts";
import { type ByteConn, closedEarly, printable, writeAll } from "./proxy_io.ts";
import { describeProxy, type ProxyConfig } from "./proxy_url.ts";

/** The longest reply header read from an HTTP proxy, in bytes. */
export const MAX_CONNECT_REPLY = 8192;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LF = 0x0a;
const CR = 0x0d;

/**
 * Asks an HTTP proxy to open a tunnel to the target, and reads its reply
 * up to the blank line that ends it (at most {@linkcode MAX_CONNECT_REPLY}
 * bytes, one at a time, so that nothing after it is taken off the
 * connection). Any 2xx status opens the tunnel.
 *
 * @example Through a scripted proxy
 * ```ts
 * import { httpConnect } from "./proxy_http.ts";
 * import { assertEquals } from "@std/assert";
 *
 * let request = "";
 * const reply = new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n");
 * let at = 0;
 * const conn = {
 *   write: (p: Uint8Array) => (request += new TextDecoder().decode(p), Promise.resolve(p.length)),
 *   read: (p: Uint8Array) => (p[0] = reply[at++]!, Promise.resolve(1)),
 * };
 * await httpConnect(conn, { scheme: "http", hostname: "proxy", port: 3128 }, { hostname: "::1", port: 2000 });
 * assertEquals(request, "CONNECT [::1]:2000 HTTP/1.1\r\nHost: [::1]:2000\r\n\r\n");
 * ```
 *
 * @param conn A connection to the proxy.
 * @param proxy The proxy (its credentials, and its name for messages).
 * @param target Where the tunnel goes.
 * @throws {ProxyError} If the proxy wants credentials or refuses them (407),
 * refuses the request (other 4xx), cannot reach the target (5xx), or
 * sends something that is no HTTP reply.
 */
export async function httpConnect(
  conn: ByteConn,
  proxy: ProxyConfig,
  target: { hostname: string; port: number },
): Promise<void> {
  const name = describeProxy(proxy);
  const authority = formatAddress(target);
  let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (proxy.auth !== undefined) {
    const { username, password } = proxy.auth;
    request += `Proxy-Authorization: Basic ${
      base64(`${username}:${password}`)
    }\r\n`;
  }
  await writeAll(conn, encoder.encode(`${request}\r\n`));
  const head = await readHead(conn, name);
  const statusLine = head.split(/\r?\n/, 1)[0]!;
  const match = /^HTTP\/1\.[01] ([0-9]{3})(?: (.*))?$/.exec(statusLine);
  if (match === null) {
    throw new ProxyError(
      "protocol",
      name,
      `its reply is no HTTP status line: "${printable(statusLine)}"`,
    );
  }
  const code = Number(match[1]);
  if (code >= 200 && code < 300) return;
  throw statusError(name, proxy, authority, code, printable(match[2] ?? ""));
}

function statusError(
  name: string,
  proxy: ProxyConfig,
  authority: string,
  code: number,
  reason: string,
): ProxyError {
  const status = reason === "" ? `${code}` : `${code} ${reason}`;
  if (code === 407 || code === 401) {
    return new ProxyError(
      "auth",
      name,
      proxy.auth === undefined
        ? `it wants credentials (${status}); give them as http://USER:PASS@HOST:PORT`
        : `it refused the credentials (${status})`,
      { code },
    );
  }
  if (code >= 500 && code < 600) {
    return new ProxyError(
      "target",
      name,
      `it could not reach ${authority} (${status})`,
      { code },
    );
  }
  if (code >= 400 && code < 500) {
    return new ProxyError(
      "denied",
      name,
      `it refused to connect to ${authority} (${status})`,
      { code },
    );
  }
  return new ProxyError(
    "protocol",
    name,
    `it answered CONNECT with ${status}, not 2xx`,
    { code },
  );
}

/** The reply's header, up to and without the blank line. */
async function readHead(conn: ByteConn, name: string): Promise<string> {
  const head = new Uint8Array(MAX_CONNECT_REPLY);
  let length = 0;
  for (;;) {
    if (length === MAX_CONNECT_REPLY) {
      throw new ProxyError(
        "protocol",
        name,
        `its reply header is longer than ${MAX_CONNECT_REPLY} bytes`,
      );
    }
    const got = await conn.read(head.subarray(length, length + 1));
    if (got === null) throw closedEarly(name, length > 0);
    if (got === 0) continue;
    length++;
    const end = length - 1;
    if (head[end] !== LF) continue;
    // A blank line ends the header: "\r\n\r\n", or "\n\n" from a lax proxy.
    const previous = head[end - 1] === CR ? end - 2 : end - 1;
    if (previous >= 0 && head[previous] === LF) {
      return decoder.decode(head.subarray(0, length));
    }
  }
}

function base64(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
