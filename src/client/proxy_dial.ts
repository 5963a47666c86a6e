// Copyright the deno-echo authors. MIT license.

// A stream connection to an echo server by any route: directly, through an
// HTTP CONNECT or SOCKS5 proxy, from a chosen source address, with or
// without TLS on top; with how long each step took.

import { ipFamily } from "../net/address.ts";
import { closeQuietly } from "../net/close.ts";
import { buildProxyHeader } from "../proxy/build.ts";
import { checkDuration } from "../net/duration.ts";
import { resolveAll } from "../net/resolve.ts";
import type { NodeConn } from "../net/node_conn.ts";
import {
  ConnectTimeoutError,
  dial,
  dialTls,
  type DialTlsOptions,
} from "./dial.ts";
import { ProxyError } from "./proxy_errors.ts";
import { EchoHalfClose } from "./proxy_half_close.ts";
import { httpConnect } from "./proxy_http.ts";
import { socks5Connect } from "./proxy_socks5.ts";
import { describeProxy, parseProxyUrl, type ProxyConfig } from "./proxy_url.ts";
import type { SourceAddress } from "./source_dial.ts";

export type { SourceAddress } from "./source_dial.ts";

/** Options for {@linkcode dialRoute}: where, how, and by which way. */
export interface RouteOptions extends DialTlsOptions {
  /**
   * Run TLS over the connection (with the trust options of
   * {@linkcode DialTlsOptions}).
   *
   * @default {false}
   */
  tls?: boolean;
  /**
   * Tunnel through this proxy: `http://[USER:PASS@]HOST[:PORT]`,
   * `socks5://...` or `socks5h://...`, or one parsed by `parseProxyUrl`.
   * `family` then applies to the connection to the proxy (and to resolving
   * the target for `socks5://`). The connection's `closeWrite()` then waits
   * until as many bytes have been read as were written: some proxies
   * (tinyproxy) drop the tunnel, and the echo on its way, at a half-close.
   *
   * @default {undefined}
   */
  proxy?: ProxyConfig | string;
  /**
   * Bind this local address (and port) before connecting: to the proxy when
   * there is one, otherwise to the server.
   *
   * @default {undefined}
   */
  source?: SourceAddress;
  /**
   * Send a PROXY protocol header (HAProxy's, v1 text or v2 binary) first,
   * before any TLS, as a load balancer does: with the connection's own
   * addresses, or `source` as the client's. Through a proxy the server must
   * be given as an IP address (it is the header's destination).
   *
   * @default {undefined}
   */
  proxyHeader?: ProxyHeaderOption;
}

/** The PROXY protocol header {@linkcode dialRoute} sends first. */
export interface ProxyHeaderOption {
  /** 1 for the text form, 2 for the binary form. */
  version: 1 | 2;
  /**
   * The client address the header states (an IP literal and a port).
   *
   * @default {undefined} (the connection's own local address)
   */
  source?: { hostname: string; port: number };
}

/** How long each step of {@linkcode dialRoute} took, in milliseconds. */
export interface RouteTimings {
  /** The TCP connection (to the proxy, when there is one). */
  connect: number;
  /** The proxy's handshake, when there is a proxy. */
  proxy?: number;
  /** The TLS handshake, for TLS (left out when it is part of `connect`). */
  tls?: number;
}

/** A connection made by {@linkcode dialRoute}. */
export interface RoutedConn {
  /** The connection, ready for echo traffic. */
  conn: Deno.Conn;
  /** How long each step took. */
  timings: RouteTimings;
}

/**
 * Opens a stream connection to an echo server directly, through a proxy,
 * from a chosen source address, or both; then TLS if asked. `timeout`
 * bounds all of it. Without a proxy or a source it is {@linkcode dial} or
 * {@linkcode dialTls}.
 *
 * @example Through a SOCKS5 proxy, timed
 * ```ts ignore
 * import { dialRoute } from "./proxy_dial.ts";
 *
 * const { conn, timings } = await dialRoute({
 *   hostname: "echo.internal",
 *   port: 2000,
 *   proxy: "socks5h://127.0.0.1:1080",
 *   timeout: 5000,
 * });
 * console.log(timings.connect, timings.proxy);
 * conn.close();
 * ```
 *
 * @param options Where, TLS, proxy, source, timeout and cancellation.
 * @returns The connection and how long each step took.
 * @throws {ProxyError} If the proxy cannot be reached, wants credentials,
 * refuses, or cannot reach the target.
 * @throws {ConnectTimeoutError} If `timeout` ran out.
 * @throws {Deno.errors.AddrInUse} If the source cannot be bound.
 * @throws {Deno.errors.InvalidData} If the TLS handshake fails.
 */
export async function dialRoute(options: RouteOptions): Promise<RoutedConn> {
  const { hostname = "localhost", port = 2000, timeout = 0 } = options;
  checkDuration("timeout", timeout);
  const proxy = typeof options.proxy === "string"
    ? parseProxyUrl(options.proxy)
    : options.proxy;
  const { source } = options;
  const started = performance.now();
  if (
    proxy === undefined && source === undefined &&
    options.proxyHeader === undefined
  ) {
    if (!options.tls) {
      return {
        conn: await dial(options),
        timings: { connect: since(started) },
      };
    }
    if (options.clientCert !== undefined) {
      // Only connectTls presents a client certificate: one step.
      const conn = await dialTls(options);
      return { conn, timings: { connect: since(started) } };
    }
  }
  options.signal?.throwIfAborted();
  using deadline = new Deadline(timeout, options.signal);
  try {
    return await dialSteps(options, proxy, deadline.signal);
  } catch (error) {
    if (deadline.timedOut) {
      throw new ConnectTimeoutError(hostname, port, timeout);
    }
    throw error;
  }
}

/** The steps of a route with a proxy or a source (or plain TLS, timed). */
async function dialSteps(
  options: RouteOptions,
  proxy: ProxyConfig | undefined,
  signal: AbortSignal,
): Promise<RoutedConn> {
  const { hostname = "localhost", port = 2000, family, source } = options;
  // node:tls is the one TLS that can follow a source bind, or present a
  // client certificate over a connection made first.
  const viaNode = source !== undefined ||
    (options.tls === true && options.clientCert !== undefined);
  const nodeDial = viaNode ? await import("./source_dial.ts") : undefined;
  const hop = proxy ?? { hostname, port };
  let started = performance.now();
  let conn: Deno.Conn;
  try {
    conn = nodeDial === undefined
      ? await dial({
        hostname: hop.hostname,
        port: hop.port,
        signal,
        ...(family === undefined ? {} : { family }),
      })
      : await nodeDial.connectFrom(source, hop, family, signal);
  } catch (error) {
    if (proxy === undefined || signal.aborted) throw error;
    throw new ProxyError(
      "connect",
      describeProxy(proxy),
      `cannot connect to it: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const timings: RouteTimings = { connect: since(started) };
  const closeOnAbort = (): void => closeQuietly(conn);
  signal.addEventListener("abort", closeOnAbort, { once: true });
  try {
    if (proxy !== undefined) {
      started = performance.now();
      await tunnel(conn, proxy, { hostname, port }, options);
      timings.proxy = since(started);
    }
    if (options.proxyHeader !== undefined) {
      await sendProxyHeader(conn, options.proxyHeader, proxy, {
        hostname,
        port,
      });
    }
    if (options.tls) {
      started = performance.now();
      signal.removeEventListener("abort", closeOnAbort);
      conn = nodeDial === undefined
        ? await startDenoTls(conn as Deno.TcpConn, options, signal)
        : await nodeDial.startNodeTls(
          conn as NodeConn,
          tlsSettings(options),
          signal,
        );
      timings.tls = since(started);
    }
    return {
      conn: proxy === undefined ? conn : new EchoHalfClose(conn),
      timings,
    };
  } catch (error) {
    closeQuietly(conn);
    throw error;
  } finally {
    signal.removeEventListener("abort", closeOnAbort);
  }
}

/** A PROXY header with the connection's addresses (or the source given). */
async function sendProxyHeader(
  conn: Deno.Conn,
  header: ProxyHeaderOption,
  proxy: ProxyConfig | undefined,
  target: { hostname: string; port: number },
): Promise<void> {
  const local = conn.localAddr as Deno.NetAddr;
  const peer = conn.remoteAddr as Deno.NetAddr;
  if (proxy !== undefined && ipFamily(target.hostname) === 0) {
    throw new TypeError(
      `A PROXY header through a proxy names the server by address: give an IP address, not "${target.hostname}"`,
    );
  }
  const destination: Deno.NetAddr = proxy === undefined
    ? { transport: "tcp", hostname: peer.hostname, port: peer.port }
    : { transport: "tcp", ...target };
  const source: Deno.NetAddr = {
    transport: "tcp",
    ...(header.source ?? { hostname: local.hostname, port: local.port }),
  };
  const bytes = buildProxyHeader(header.version, { source, destination });
  for (let off = 0; off < bytes.length;) {
    off += await conn.write(bytes.subarray(off));
  }
}

/** The proxy's handshake, for the target. */
async function tunnel(
  conn: Deno.Conn,
  proxy: ProxyConfig,
  target: { hostname: string; port: number },
  options: RouteOptions,
): Promise<void> {
  if (proxy.scheme === "http") return await httpConnect(conn, proxy, target);
  let { hostname } = target;
  if (proxy.scheme === "socks5") {
    // socks5://: the name is resolved here, the proxy gets the address.
    const [first] = await resolveAll(hostname, options.family);
    hostname = first!.address;
  }
  await socks5Connect(conn, proxy, { hostname, port: target.port });
}

function tlsSettings(options: RouteOptions): {
  hostname: string;
  alpnProtocols: string[];
  caCerts?: string[];
  unsafelyDisableHostnameVerification?: boolean;
  clientCert?: { cert: string; key: string };
} {
  const { caCerts, clientCert } = options;
  return {
    hostname: options.hostname ?? "localhost",
    alpnProtocols: options.alpnProtocols ?? ["echo"],
    ...(caCerts === undefined ? {} : { caCerts }),
    ...(options.unsafelyDisableHostnameVerification
      ? { unsafelyDisableHostnameVerification: true }
      : {}),
    ...(clientCert === undefined ? {} : { clientCert }),
  };
}

/** Deno's TLS over a connection made (and tunnelled) first. */
async function startDenoTls(
  tcp: Deno.TcpConn,
  options: RouteOptions,
  signal: AbortSignal,
): Promise<Deno.TlsConn> {
  const { caCerts } = options;
  const conn = await Deno.startTls(tcp, {
    hostname: options.hostname ?? "localhost",
    alpnProtocols: options.alpnProtocols ?? ["echo"],
    ...(caCerts === undefined ? {} : { caCerts }),
    ...(options.unsafelyDisableHostnameVerification
      ? { unsafelyDisableHostnameVerification: true }
      : {}),
  });
  const onAbort = (): void => closeQuietly(conn);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await conn.handshake();
    return conn;
  } catch (error) {
    closeQuietly(conn);
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function since(started: number): number {
  return performance.now() - started;
}

/** One signal for a caller's cancellation and a timeout (0: none). */
class Deadline implements Disposable {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #outer: AbortSignal | undefined;
  readonly #onOuter = (): void => this.#controller.abort(this.#outer!.reason);
  timedOut = false;

  constructor(timeout: number, outer: AbortSignal | undefined) {
    this.#outer = outer;
    outer?.addEventListener("abort", this.#onOuter, { once: true });
    this.#timer = timeout > 0
      ? setTimeout(() => {
        this.timedOut = true;
        this.#controller.abort(new Deno.errors.TimedOut("Timed out"));
      }, timeout)
      : undefined;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#outer?.removeEventListener("abort", this.#onOuter);
  }
}
