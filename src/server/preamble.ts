// Copyright the deno-echo authors. MIT license.

// What a connection goes through between accept and echo: on a PROXY
// protocol listener the header (read within its timeout, its client address
// then the connection's, counted against `maxPerIp` in the proxy's stead),
// on `tls://` the handshake. Failures are reported as events here.

import { type Admission, clientKey } from "./admission.ts";
import { startTls, type Stoppable, type TlsSetup } from "./tls.ts";
import type { TlsSocketConn } from "./tls_conn.ts";
import type {
  ConnectionInfo,
  ListenerInfo,
  ServeOptions,
  ServerEvent,
} from "./types.ts";
import { closeQuietly } from "../net/close.ts";
import { noDelay } from "../net/no_delay.ts";
import { unmapIPv4 } from "../net/address.ts";
import { type Cidr, cidrContains, parseCidr } from "../proxy/cidr.ts";
import { readProxyHeader } from "../proxy/read.ts";
import type { ProxyHeader } from "../proxy/types.ts";

/** What a server's connections need for their preamble. */
export interface PreambleSetup {
  /** Ids and limits, for the swap from the proxy to the client. */
  admission: Admission;
  /** For `tls://` listeners. */
  tls: TlsSetup | undefined;
  /** Milliseconds a TLS client has for its handshake. */
  handshakeTimeout: number;
  /** Milliseconds a peer has for its PROXY header. */
  proxyHeaderTimeout: number;
  /** Where failures are reported. */
  emit: (event: ServerEvent) => void;
}

/** What the admission counts a connection under. */
export interface Admitted {
  /** The key it was admitted with, to release it by. */
  key: string;
}

/**
 * What a PROXY listener's connection is counted under until its header
 * has come. From trusted proxies (`proxyFrom`), a key of its own: a load
 * balancer opens many connections at once, and must not be held to
 * `maxPerIp` (`maxConnections` and the header timeout still bound them).
 * With every peer trusted, the peer's address: one host must not hold
 * every slot with connections that never send a header.
 *
 * @param proxyFrom From {@linkcode parseProxyOptions}.
 * @param info The connection as accepted.
 * @returns The key.
 */
export function pendingKey(
  proxyFrom: Cidr[] | undefined,
  info: ConnectionInfo,
): string {
  return proxyFrom === undefined
    ? clientKey(info.remoteAddr)
    : `PROXY header pending #${info.id}`;
}

/** A connection ready for the echo, or one that did not get that far. */
export type Preamble =
  | {
    ok: true;
    conn: Deno.Conn | TlsSocketConn | PrefixedConn;
    info: ConnectionInfo;
  }
  | {
    ok: false;
    /** The connection as last described. */
    info: ConnectionInfo;
    /** Whether it is still counted by the admission (under `info`). */
    admitted: boolean;
  };

/**
 * Checks the PROXY protocol options of `serve()` and parses `proxyFrom`.
 *
 * @param options `proxyFrom` and `proxyHeaderTimeout`, as given.
 * @returns The ranges, or `undefined` when every peer is trusted.
 * @throws {RangeError} If a range is not valid CIDR, or the timeout is not
 * a whole number of ms from 1 to 2147483647.
 */
export function parseProxyOptions(
  options: Pick<ServeOptions, "proxyFrom" | "proxyHeaderTimeout">,
): Cidr[] | undefined {
  const timeout = options.proxyHeaderTimeout;
  if (
    timeout !== undefined &&
    (!Number.isInteger(timeout) || timeout < 1 || timeout > 2 ** 31 - 1)
  ) {
    throw new RangeError(
      `Invalid proxyHeaderTimeout ${timeout}: expected a whole number of ms from 1 to 2147483647`,
    );
  }
  return options.proxyFrom?.map((range) => parseCidr(range));
}

/**
 * Whether a peer may connect to a PROXY protocol listener.
 *
 * @param ranges From {@linkcode parseProxyOptions}.
 * @param peer The TCP peer.
 * @returns Whether it is in one of the ranges (or there are none).
 */
export function trustedProxy(
  ranges: Cidr[] | undefined,
  peer: Deno.NetAddr | Deno.UnixAddr,
): boolean {
  if (ranges === undefined) return true;
  if (!("hostname" in peer)) return false;
  return ranges.some((range) => cidrContains(range, peer.hostname));
}

/**
 * Runs a connection's preamble. Its admission is the caller's, under
 * `live.key`; once a header names a client, it is counted under the
 * client's key instead (`live.key` changes).
 *
 * @param conn As accepted.
 * @param info As admitted.
 * @param listener The listener it came through.
 * @param setup What the server gives.
 * @param live Where a stop comes from meanwhile.
 * @returns The connection for the echo, or what became of it.
 */
export async function preamble(
  conn: Deno.Conn,
  info: ConnectionInfo,
  listener: ListenerInfo,
  setup: PreambleSetup,
  live: Stoppable & Admitted,
): Promise<Preamble> {
  // Before the handshake or the header: they are written to as well.
  noDelay(conn);
  let rest: Uint8Array | undefined;
  if (listener.proxyProtocol) {
    live.stop = () => closeQuietly(conn);
    if (live.stopped) closeQuietly(conn);
    try {
      const read = await readProxyHeader(conn, {
        timeout: setup.proxyHeaderTimeout,
      });
      rest = read.rest;
      const proxied = withHeader(info, read.header);
      if (proxied.remoteAddr !== info.remoteAddr) {
        // Counted as the client from now on, not as the proxy.
        setup.admission.release(live.key);
        live.key = clientKey(proxied.remoteAddr);
        const reason = setup.admission.admit(live.key);
        if (reason !== undefined) {
          closeQuietly(conn);
          setup.emit({ type: "reject", conn: proxied, reason });
          return { ok: false, info: proxied, admitted: false };
        }
      }
      info = proxied;
    } catch (error) {
      closeQuietly(conn);
      setup.emit({ type: "proxy-error", conn: info, error });
      return { ok: false, info, admitted: true };
    } finally {
      live.stop = undefined;
    }
  }
  if (listener.transport !== "tls") {
    const ready = rest?.length ? new PrefixedConn(conn, rest) : conn;
    return { ok: true, conn: ready, info };
  }
  try {
    const session = await startTls(
      conn,
      rest,
      setup.tls!,
      setup.handshakeTimeout,
      live,
    );
    const { clientSubject } = session;
    if (clientSubject !== undefined) info = { ...info, clientSubject };
    return { ok: true, conn: session.conn, info };
  } catch (error) {
    setup.emit({ type: "handshake-error", conn: info, error });
    return { ok: false, info, admitted: true };
  }
}

/** The connection as a PROXY header describes it. */
function withHeader(info: ConnectionInfo, header: ProxyHeader): ConnectionInfo {
  // A plain copy: Deno's own address objects have no prototype.
  const { transport, hostname, port } = info.remoteAddr as Deno.NetAddr;
  const proxy: Deno.NetAddr = { transport, hostname, port };
  const proxied: ConnectionInfo = { ...info, proxy };
  if (header.command === "local") proxied.proxyLocal = true;
  else if (header.source !== undefined) {
    const { source } = header;
    proxied.remoteAddr = "hostname" in source
      ? { ...source, hostname: unmapIPv4(source.hostname) }
      : source;
  }
  if (header.alpn !== undefined) proxied.proxyAlpn = header.alpn;
  if (header.authority !== undefined) {
    proxied.proxyAuthority = header.authority;
  }
  return proxied;
}

/**
 * A connection whose first bytes were read already (after a PROXY header):
 * they come out of the first reads, then the connection's own.
 */
export class PrefixedConn {
  readonly #conn: Deno.Conn;
  #first: Uint8Array | undefined;

  /**
   * @param conn The connection.
   * @param first Bytes read from it already.
   */
  constructor(conn: Deno.Conn, first: Uint8Array) {
    this.#conn = conn;
    this.#first = first;
  }

  /** The connection's own (the echo uses `read`). */
  get readable(): ReadableStream<Uint8Array> {
    return this.#conn.readable;
  }

  /** The connection's own (the echo uses `write`). */
  get writable(): WritableStream<Uint8Array> {
    return this.#conn.writable;
  }

  /**
   * Reads the bytes read already, then from the connection.
   *
   * @param buffer Where to put them.
   * @returns How many, or `null` at the end.
   */
  read(buffer: Uint8Array): Promise<number | null> {
    const first = this.#first;
    if (first === undefined) return this.#conn.read(buffer);
    const n = Math.min(buffer.length, first.length);
    buffer.set(first.subarray(0, n));
    this.#first = n < first.length ? first.subarray(n) : undefined;
    return Promise.resolve(n);
  }

  /**
   * As `Deno.Conn.write`.
   *
   * @param data The bytes.
   * @returns How many were written.
   */
  write(data: Uint8Array): Promise<number> {
    return this.#conn.write(data);
  }

  /**
   * As `Deno.Conn.closeWrite`.
   *
   * @returns Once our side is shut.
   */
  closeWrite(): Promise<void> {
    return (this.#conn as Deno.TcpConn).closeWrite();
  }

  /** As `Deno.Conn.close`. */
  close(): void {
    this.#conn.close();
  }
}
