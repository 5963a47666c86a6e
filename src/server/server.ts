// Copyright the deno-echo authors. MIT license.

import { callHook } from "../net/hook.ts";
import { type Admission, clientKey as admissionKey } from "./admission.ts";
import { isUdp, type OpenListener } from "./listeners.ts";
import { SERVE_DEFAULTS, type Settings } from "./options.ts";
import {
  type Admitted,
  pendingKey,
  preamble,
  type PreambleSetup,
  trustedProxy,
} from "./preamble.ts";
import { type Stoppable, tlsSetup } from "./tls.ts";
import type {
  ConnectionInfo,
  EchoServer,
  ListenerInfo,
  ServeOptions,
  ServerEvent,
  ShutdownResult,
} from "./types.ts";
import { acceptLoop } from "../net/accept_loop.ts";
import { closeQuietly } from "../net/close.ts";
import { unmapIPv4 } from "../net/address.ts";
import {
  type EchoOptions,
  type EchoResult,
  type EchoStopper,
  type EchoStream,
  echoWith,
} from "../echo/echo.ts";
import { type ConnLoopOptions, isConnLike } from "../echo/conn_loop.ts";
import type { UdpEchoServer, UdpEchoStats } from "../udp/udp_server.ts";
import type { Cidr } from "../proxy/cidr.ts";

/** What a {@linkcode Server} is made of. */
export interface ServerParts {
  /** Its listeners, open. */
  listeners: OpenListener[];
  /** As given to `serve()`: TLS settings and the event hook. */
  options: ServeOptions;
  /** The options every connection runs with. */
  settings: Settings;
  /** Ids and limits: this isolate's, or shared with workers. */
  admission: Admission;
  /** This isolate's number among the workers, 0 for the first. */
  worker: number;
  /** The proxies trusted by PROXY protocol listeners; none means any. */
  proxyFrom?: Cidr[] | undefined;
}

/**
 * A live connection. Stopped through `stop` (set during the handshake, then
 * by the echo), not an `AbortController`: see {@linkcode EchoStopper}.
 * Everything its end needs is here, so no suspended function waits for it:
 * with 10,000 idle connections, each object counts.
 */
interface Live extends EchoStopper, Stoppable, Admitted {
  /** As admitted; after the preamble, as the echo sees it. */
  info: ConnectionInfo;
  /** When it was accepted (`performance.now()`). */
  started: number;
}

/** A connection ready for its echo. */
type Closable = EchoStream & { close(): void };

/** The error a connection stopped by the server ends with. */
function stopError(): DOMException {
  return new DOMException("The server closed the connection", "AbortError");
}

/** The default of `proxyHeaderTimeout`, in ms (see its doc). */
const DEFAULT_PROXY_HEADER_TIMEOUT = 10_000;

/** One isolate's echo server: its accept loops and connection tasks. */
export class Server implements EchoServer {
  readonly addr: Deno.NetAddr | Deno.UnixAddr;
  readonly addrs: readonly Deno.NetAddr[];
  readonly listeners: readonly ListenerInfo[];
  readonly finished: Promise<void>;
  readonly #listeners: OpenListener[];
  readonly #options: ServeOptions;
  readonly #settings: Settings;
  /**
   * The options of every connection's echo, made once: for plain TCP, Nagle
   * turned off at the second chunk (see `ConnLoopOptions`)...
   */
  readonly #echoOptions: ConnLoopOptions;
  /** ...and for connections it was turned off for before their preamble. */
  readonly #preparedEchoOptions: EchoOptions;
  readonly #live = new Set<Live>();
  readonly #udp = new Map<string, UdpEchoServer>();
  readonly #admission: Admission;
  readonly #worker: number;
  readonly #proxyFrom: Cidr[] | undefined;
  /** What connections need between accept and echo. */
  readonly #preamble: PreambleSetup;
  /** Aborted when the listeners close: ends back-off sleeps. */
  readonly #stopAccepting = new AbortController();
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolved when the last live connection ends, once listeners closed. */
  #drained: PromiseWithResolvers<void> | undefined;
  /** Connections the server stopped before they ended. */
  #cut = 0;

  constructor(parts: ServerParts) {
    this.#listeners = parts.listeners;
    this.#options = parts.options;
    this.#settings = parts.settings;
    const { quitWord, idleTimeout, maxBytes } = parts.settings;
    this.#preparedEchoOptions = { quitWord, idleTimeout, maxBytes };
    this.#echoOptions = {
      ...this.#preparedEchoOptions,
      noDelayAtSecondChunk: true,
    };
    this.#admission = parts.admission;
    this.#worker = parts.worker;
    this.#proxyFrom = parts.proxyFrom;
    const { tls, proxyHeaderTimeout } = parts.options;
    const handshakeTimeout = tls?.handshakeTimeout ??
      SERVE_DEFAULTS.handshakeTimeout;
    this.#preamble = {
      admission: parts.admission,
      // Only tls:// listeners use it (and only they have loaded and checked
      // it): options given for them, with none among the listeners, are not.
      tls: tls === undefined ||
          !parts.listeners.some(({ info }) => info.transport === "tls")
        ? undefined
        : tlsSetup(tls),
      handshakeTimeout,
      proxyHeaderTimeout: proxyHeaderTimeout ?? DEFAULT_PROXY_HEADER_TIMEOUT,
      emit: (event) => this.#emit(event),
    };
    this.listeners = parts.listeners.map((l) => l.info);
    this.addr = this.listeners[0]!.addr;
    this.addrs = this.listeners.flatMap(({ addr }) =>
      addr.transport === "tcp" ? [addr] : []
    );
    for (const { listener, info } of parts.listeners) {
      // Keyed by its first address: one UDP server may have several.
      const known = [...this.#udp.values()].includes(listener as UdpEchoServer);
      if (isUdp(listener) && !known) this.#udp.set(info.url, listener);
    }
    this.finished = this.#run();
  }

  get connections(): number {
    return this.#admission.open;
  }

  get udpStats(): ReadonlyMap<string, UdpEchoStats> {
    return new Map([...this.#udp].map(([url, udp]) => [url, udp.stats]));
  }

  #emit(event: ServerEvent): void {
    callHook(this.#options.onEvent, event);
  }

  async #run(): Promise<void> {
    await Promise.all(this.#listeners.map((l) => this.#acceptLoop(l)));
    for (const { cleanup } of this.#listeners) await cleanup?.();
    // No more connections can arrive; wait for the live ones (each removes
    // itself from the set when it ends).
    if (this.#live.size > 0) {
      this.#drained = Promise.withResolvers();
      await this.#drained.promise;
    }
    clearTimeout(this.#drainTimer);
  }

  async #acceptLoop({ listener, info }: OpenListener): Promise<void> {
    if (isUdp(listener)) return await listener.finished;
    await acceptLoop(
      listener,
      this.#stopAccepting.signal,
      (conn) => this.#handle(conn, info),
      (error) => this.#emit({ type: "accept-error", error }),
    );
  }

  #handle(conn: Deno.Conn, listener: ListenerInfo): void {
    const id = this.#admission.nextId();
    const info: ConnectionInfo = {
      id,
      remoteAddr: unmapped(conn.remoteAddr),
      localAddr: unmapped(conn.localAddr),
      listener: listener.url,
      worker: this.#worker,
    };
    if (
      listener.proxyProtocol && !trustedProxy(this.#proxyFrom, info.remoteAddr)
    ) {
      closeQuietly(conn);
      this.#emit({ type: "reject", conn: info, reason: "proxy-untrusted" });
      return;
    }
    // On a PROXY listener, counted as the proxy until the header names the
    // client (see preamble.ts).
    const key = listener.proxyProtocol
      ? pendingKey(this.#proxyFrom, info)
      : clientKey(info);
    const reject = this.#admission.admit(key);
    if (reject !== undefined) {
      closeQuietly(conn);
      this.#emit({ type: "reject", conn: info, reason: reject });
      return;
    }
    const live: Live = {
      info,
      started: performance.now(),
      stopped: false,
      stop: undefined,
      key,
    };
    // Registered before anything waits, so events count this connection.
    this.#live.add(live);
    if (!listener.proxyProtocol && listener.transport !== "tls") {
      this.#echo(conn, live, this.#echoOptions);
    } else {
      this.#prepare(conn, listener, live);
    }
  }

  /** A PROXY header or a TLS handshake first, then the echo. */
  async #prepare(
    accepted: Deno.Conn,
    listener: ListenerInfo,
    live: Live,
  ): Promise<void> {
    const ready = await preamble(
      accepted,
      live.info,
      listener,
      this.#preamble,
      live,
    );
    if (!ready.ok) return this.#forget(live, ready.admitted);
    live.info = ready.info;
    this.#echo(ready.conn, live, this.#preparedEchoOptions);
  }

  /**
   * Echoes on a connection and reports its end: through a callback rather
   * than an awaiting function, one frame fewer per idle connection.
   */
  #echo(conn: Closable, live: Live, options: ConnLoopOptions): void {
    this.#emit({ type: "open", conn: live.info });
    const echoing = echoWith(conn, options, live);
    // Told to stop before the echo began (during the handshake, say).
    if (live.stopped) live.stop?.(stopError());
    echoing.then(
      (result) => this.#ended(conn, live, result),
      // The options were checked when the server started: not expected.
      (error) => {
        closeQuietly(conn);
        this.#ended(conn, live, { bytes: 0, reason: "error", error });
      },
    );
  }

  #ended(conn: Closable, live: Live, result: EchoResult): void {
    // The conn loop closes its connection itself (a second close would
    // throw, and an error costs a stack trace, at every connection); the
    // stream loop ends the streams, which may leave the resource open.
    if (!isConnLike(conn)) closeQuietly(conn);
    this.#forget(live);
    const durationMs = performance.now() - live.started;
    this.#emit({
      type: "close",
      conn: live.info,
      result: { ...result, durationMs },
    });
  }

  /**
   * Takes an ended connection out of the counts (out of the admission's too
   * while it is `admitted`), and ends the drain after the last one.
   */
  #forget(live: Live, admitted = true): void {
    this.#live.delete(live);
    if (admitted) this.#admission.release(live.key);
    if (this.#live.size === 0) this.#drained?.resolve();
  }

  #closeListeners(): void {
    if (this.#stopAccepting.signal.aborted) return;
    this.#stopAccepting.abort();
    for (const { listener } of this.#listeners) {
      if (isUdp(listener)) listener.close();
      else closeQuietly(listener);
    }
  }

  #abortAll(): void {
    for (const live of this.#live.values()) {
      if (!live.stopped) this.#cut++;
      live.stopped = true;
      live.stop?.(stopError());
    }
  }

  async shutdown(): Promise<ShutdownResult> {
    if (!this.#stopAccepting.signal.aborted) {
      this.#closeListeners();
      this.#drainTimer = setTimeout(
        () => this.#abortAll(),
        this.#settings.drainTimeout,
      );
    }
    await this.finished;
    return { drained: this.#cut === 0, closed: this.#cut };
  }

  close(): Promise<void> {
    this.#closeListeners();
    clearTimeout(this.#drainTimer);
    this.#abortAll();
    return this.finished;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** What `maxPerIp` counts by: see `clientKey()` in admission.ts. */
function clientKey(info: ConnectionInfo): string {
  return admissionKey(info.remoteAddr);
}

/**
 * The address with an IPv4-mapped IPv6 address as IPv4; otherwise the
 * connection's own object, not a copy (each copy costs every connection).
 */
function unmapped(addr: Deno.Addr): Deno.NetAddr | Deno.UnixAddr {
  if ("cid" in addr) throw new TypeError("vsock is not served");
  if ("path" in addr) return addr;
  const hostname = unmapIPv4(addr.hostname);
  if (hostname === addr.hostname) return addr;
  return { transport: addr.transport, hostname, port: addr.port };
}
