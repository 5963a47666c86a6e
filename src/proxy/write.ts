// Copyright the deno-echo authors. MIT license.

import { buildProxyHeader } from "./build.ts";

/** What {@linkcode writeProxyHeader} says in the header. */
export interface WriteProxyHeaderOptions {
  /**
   * The client address to state, instead of the connection's own local
   * address: to test what a backend does with a given client.
   *
   * @default {undefined}
   */
  source?: Deno.NetAddr;
}

/** Anything a PROXY header can be written to: a TCP connection, say. */
export interface ProxyHeaderWriter {
  /** The local address: the header's source by default. */
  readonly localAddr: Deno.Addr;
  /** The peer: the header's destination. */
  readonly remoteAddr: Deno.Addr;
  /**
   * Writes some of `p`, as `Deno.Conn.write`.
   *
   * @param p The bytes.
   * @returns How many were written.
   */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Writes a PROXY header (v1 or v2) at the start of a connection, as a load
 * balancer would, stating the connection's own addresses (or `source`);
 * an IPv4 and an IPv6 address together go as IPv6. Call it before anything
 * else is written (on TLS, before the handshake).
 *
 * @example Send a v1 header, then data
 * ```ts
 * import { writeProxyHeader } from "./write.ts";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using server = await listener.accept();
 * const source: Deno.NetAddr = { transport: "tcp", hostname: "203.0.113.7", port: 51234 };
 * const length = await writeProxyHeader(client, 1, { source });
 * const buffer = new Uint8Array(length);
 * for (let have = 0; have < length;) have += (await server.read(buffer.subarray(have)))!;
 * assertEquals(
 *   new TextDecoder().decode(buffer),
 *   `PROXY TCP4 203.0.113.7 127.0.0.1 51234 ${listener.addr.port}\r\n`,
 * );
 * ```
 *
 * @param conn The connection, before anything was written to it.
 * @param version 1 for the text form, 2 for the binary form.
 * @param options Another source address to state.
 * @returns The header's length in bytes, once it is all written.
 * @throws {TypeError} If the connection is not over TCP, or the source is
 * not an IP address.
 */
export async function writeProxyHeader(
  conn: ProxyHeaderWriter,
  version: 1 | 2,
  options: WriteProxyHeaderOptions = {},
): Promise<number> {
  const source = options.source ?? tcpAddr(conn.localAddr, "local");
  const destination = tcpAddr(conn.remoteAddr, "remote");
  const header = buildProxyHeader(version, { source, destination });
  for (let off = 0; off < header.length;) {
    off += await conn.write(header.subarray(off));
  }
  return header.length;
}

function tcpAddr(addr: Deno.Addr, which: string): Deno.NetAddr {
  if (addr.transport !== "tcp") {
    throw new TypeError(
      `A PROXY header needs a TCP connection; its ${which} address is "${addr.transport}"`,
    );
  }
  return addr;
}
