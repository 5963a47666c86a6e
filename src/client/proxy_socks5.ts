// Copyright the deno-echo authors. MIT license.

// A tunnel through a SOCKS5 proxy: the method negotiation and CONNECT of
// RFC 1928, and username/password authentication (RFC 1929).

import { formatAddress, ipFamily } from "../net/address.ts";
import { formatIPv6, parseIp } from "../proxy/ip_bytes.ts";
import { ProxyError } from "./proxy_errors.ts";
import { type ByteConn, readExactly, writeAll } from "./proxy_io.ts";
import { describeProxy, type ProxyConfig } from "./proxy_url.ts";

const VERSION = 5;
const NO_AUTH = 0x00;
const USERNAME_PASSWORD = 0x02;
const NO_ACCEPTABLE_METHOD = 0xff;
const CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/** The reply codes of RFC 1928 (section 6), in words. */
export const SOCKS5_REPLIES: Readonly<Record<number, string>> = {
  1: "general SOCKS server failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

const encoder = new TextEncoder();

/**
 * Asks a SOCKS5 proxy to connect to the target. The target is sent as an
 * IP address when `hostname` is an IP literal, otherwise as a name for the
 * proxy to resolve (resolve it first for `socks5://`). Every reply is read
 * to its exact length, so nothing after it is taken off the connection.
 *
 * @example Through a scripted proxy
 * ```ts
 * import { socks5Connect } from "./proxy_socks5.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const sent: number[] = [];
 * const replies = [5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x9c, 0x40];
 * const conn = {
 *   write: (p: Uint8Array) => (sent.push(...p), Promise.resolve(p.length)),
 *   read: (p: Uint8Array) => (p[0] = replies.shift()!, Promise.resolve(1)),
 * };
 * const bound = await socks5Connect(conn, { scheme: "socks5", hostname: "proxy", port: 1080 }, { hostname: "127.0.0.1", port: 2000 });
 * assertEquals(sent, [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0x07, 0xd0]);
 * assertEquals(bound, { transport: "tcp", hostname: "127.0.0.1", port: 40000 });
 * ```
 *
 * @param conn A connection to the proxy.
 * @param proxy The proxy (its credentials, and its name for messages).
 * @param target Where the tunnel goes: an IP literal or a name.
 * @returns The address the proxy connected from, as it reports it (a name
 * or an unspecified address when it says nothing useful).
 * @throws {ProxyError} If the proxy wants credentials or refuses them,
 * refuses the request, cannot reach the target, or breaks the protocol.
 */
export async function socks5Connect(
  conn: ByteConn,
  proxy: ProxyConfig,
  target: { hostname: string; port: number },
): Promise<Deno.NetAddr> {
  const name = describeProxy(proxy);
  await negotiate(conn, proxy, name);
  await writeAll(conn, connectRequest(target));
  const [version, reply, , atyp] = await readExactly(conn, 4, name);
  if (version !== VERSION) throw badVersion(name, version!);
  if (reply !== 0) throw replyError(name, reply!, target);
  return await readBoundAddress(conn, atyp!, name);
}

/** The greeting, the method the proxy picks, and its authentication. */
async function negotiate(
  conn: ByteConn,
  proxy: ProxyConfig,
  name: string,
): Promise<void> {
  const methods = proxy.auth === undefined
    ? [NO_AUTH]
    : [NO_AUTH, USERNAME_PASSWORD];
  await writeAll(conn, new Uint8Array([VERSION, methods.length, ...methods]));
  const [version, method] = await readExactly(conn, 2, name);
  if (version !== VERSION) throw badVersion(name, version!);
  if (method === NO_ACCEPTABLE_METHOD) {
    throw new ProxyError(
      "auth",
      name,
      proxy.auth === undefined
        ? "it wants credentials (no acceptable authentication method); give them as socks5://USER:PASS@HOST:PORT"
        : "it accepts neither no authentication nor username/password",
    );
  }
  if (!methods.includes(method!)) {
    throw new ProxyError(
      "protocol",
      name,
      `it picked authentication method ${method}, which was not offered`,
    );
  }
  if (method !== USERNAME_PASSWORD) return;
  const user = encoder.encode(proxy.auth!.username);
  const password = encoder.encode(proxy.auth!.password);
  await writeAll(
    conn,
    new Uint8Array([1, user.length, ...user, password.length, ...password]),
  );
  const [, status] = await readExactly(conn, 2, name);
  if (status !== 0) {
    throw new ProxyError(
      "auth",
      name,
      `it refused the username and password (status ${status})`,
      { code: status! },
    );
  }
}

/** `VER CMD RSV ATYP DST.ADDR DST.PORT` for CONNECT. */
function connectRequest(
  target: { hostname: string; port: number },
): Uint8Array {
  const family = ipFamily(target.hostname);
  let address: number[];
  if (family === 0) {
    const bytes = encoder.encode(target.hostname);
    if (bytes.length > 255) {
      throw new RangeError(
        `Host name "${target.hostname}" is longer than SOCKS5 allows (255 bytes)`,
      );
    }
    address = [ATYP_DOMAIN, bytes.length, ...bytes];
  } else {
    const ip = parseIp(target.hostname);
    if (ip === undefined) {
      throw new RangeError(
        `Address "${target.hostname}" cannot be sent to a SOCKS5 proxy`,
      );
    }
    address = [ip.family === 4 ? ATYP_IPV4 : ATYP_IPV6, ...ip.bytes];
  }
  const { port } = target;
  return new Uint8Array([
    VERSION,
    CONNECT,
    0,
    ...address,
    port >> 8,
    port & 0xff,
  ]);
}

async function readBoundAddress(
  conn: ByteConn,
  atyp: number,
  name: string,
): Promise<Deno.NetAddr> {
  let hostname: string;
  if (atyp === ATYP_IPV4) {
    hostname = [...await readExactly(conn, 4, name)].join(".");
  } else if (atyp === ATYP_IPV6) {
    hostname = formatIPv6(await readExactly(conn, 16, name));
  } else if (atyp === ATYP_DOMAIN) {
    const [length] = await readExactly(conn, 1, name);
    hostname = new TextDecoder().decode(await readExactly(conn, length!, name));
  } else {
    throw new ProxyError(
      "protocol",
      name,
      `its reply has unknown address type ${atyp}`,
    );
  }
  const [high, low] = await readExactly(conn, 2, name);
  return { transport: "tcp", hostname, port: (high! << 8) | low! };
}

function badVersion(name: string, version: number): ProxyError {
  return new ProxyError(
    "protocol",
    name,
    `it answered with version ${version}, not SOCKS5`,
  );
}

function replyError(
  name: string,
  reply: number,
  target: { hostname: string; port: number },
): ProxyError {
  const words = SOCKS5_REPLIES[reply];
  const where = formatAddress(target);
  if (words === undefined) {
    return new ProxyError(
      "protocol",
      name,
      `it answered CONNECT to ${where} with unknown reply code ${reply}`,
      { code: reply },
    );
  }
  const failure = reply === 2 || reply === 7 || reply === 8
    ? "denied"
    : "target";
  const detail = failure === "denied"
    ? `it refused to connect to ${where} (${words})`
    : `it could not reach ${where} (${words})`;
  return new ProxyError(failure, name, detail, { code: reply });
}
