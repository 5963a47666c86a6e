// Copyright the deno-echo authors. MIT license.

import { closeQuietly } from "./close.ts";
import { unmapIPv4 } from "./address.ts";
import { echo, type EchoResult } from "./echo.ts";
import { listenAll, listenUnix } from "./listen.ts";
import {
  formatListener,
  type ListenerSpec,
  parseListenUrl,
} from "./listen_url.ts";
import { DEFAULT_QUIT_WORD, validateQuitWord } from "./quit_word.ts";
import {
  serveUdp,
  type UdpDropInfo,
  type UdpEchoServer,
  type UdpEchoStats,
  type UdpServeOptions,
} from "./udp_server.ts";

/** The port the textbook echo clients dial. */
export const DEFAULT_PORT = 2000;
/** Both loopbacks: nothing is exposed beyond the machine until asked. */
export const DEFAULT_HOSTNAME = "localhost";
/** How long {@linkcode EchoServer.shutdown} lets connections finish, in ms. */
export const DEFAULT_DRAIN_TIMEOUT = 5000;
/** How long a connection may stay idle before it is closed, in ms (5 min). */
export const DEFAULT_IDLE_TIMEOUT = 300_000;
/** How many connections may be open at once. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** How long a TLS client has to complete its handshake, in ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/** Certificate and key for `tls://` listeners. */
export interface ServeTlsOptions {
  /** The certificate chain, PEM: the server's certificate first. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /**
   * ALPN protocols to announce.
   *
   * @default {["echo"]}
   */
  alpnProtocols?: string[];
  /**
   * How long a client has to complete the handshake, in ms. The handshake
   * runs in the connection's own task, never in the accept loop, so a client
   * that stalls it delays nobody else.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
}

/** One open listener. */
export interface ListenerInfo {
  /** How it listens. */
  transport: ListenerSpec["transport"];
  /** The bound address (the real port when 0 was asked). */
  addr: Deno.Addr;
  /** The listener as a URL, e.g. `tls://127.0.0.1:2443`: logs name it. */
  url: string;
}

/** A connection as the server's hooks see it. */
export interface ConnectionInfo {
  /** Counts up from 1 for each connection accepted by this server. */
  id: number;
  /** The peer; IPv4-mapped IPv6 addresses are shown as IPv4. */
  remoteAddr: Deno.NetAddr | Deno.UnixAddr;
  /** The listener's address the peer reached. */
  localAddr: Deno.NetAddr | Deno.UnixAddr;
  /** The listener it came through, as a URL (see {@linkcode ListenerInfo}). */
  listener: string;
}

/** Why a connection was closed as soon as it was accepted. */
export type RejectReason =
  /** `maxConnections` were open. */
  | "max-connections"
  /** `maxPerIp` connections from the same address were open. */
  | "max-per-ip";

/** A closed connection: who, how much was echoed, for how long, and why. */
export interface ConnectionCloseInfo extends ConnectionInfo, EchoResult {
  /** Milliseconds from accept to close. */
  durationMs: number;
}

/** Options for {@linkcode serve}. */
export interface ServeOptions {
  /**
   * Listeners, as URLs (`tcp://[::]:2000`, `tls://localhost:2443`,
   * `unix:/run/echo.sock`) or objects; instead of `hostname` and `port`,
   * which are the short form of one `tcp://` listener.
   */
  listen?: readonly (string | ListenerSpec)[];
  /** Certificate and key, needed by `tls://` listeners. */
  tls?: ServeTlsOptions;
  /** Limits for `udp://` listeners (see {@linkcode serveUdp}). */
  udp?: Pick<
    UdpServeOptions,
    | "maxDatagramSize"
    | "ratePerSource"
    | "burst"
    | "maxSources"
    | "allowPrivilegedSourcePorts"
  >;
  /** Called when a `udp://` listener drops a datagram, and why. */
  onUdpDrop?: (info: UdpDropInfo) => void;
  /**
   * Where to listen: a name (every address it resolves to; `localhost` means
   * both `127.0.0.1` and `::1`), an IP literal, or `::` for every interface
   * on both stacks.
   *
   * @default {"localhost"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one (the same on every address).
   *
   * @default {2000}
   */
  port?: number;
  /**
   * Close a connection after echoing a line that says this word; `null` for
   * a pure RFC 862 echo.
   *
   * @default {"BYE"}
   */
  quitWord?: string | null;
  /**
   * How long {@linkcode EchoServer.shutdown} waits for connections to finish
   * before closing them, in milliseconds.
   *
   * @default {5000}
   */
  drainTimeout?: number;
  /**
   * Close a connection when nothing has been read or written for this many
   * milliseconds (a client that trickles bytes is slow, not idle); 0 never.
   *
   * @default {300000}
   */
  idleTimeout?: number;
  /**
   * How many connections may be open at once; a connection beyond that is
   * closed as soon as it is accepted (never left unserved in the backlog) and
   * reported to `onReject`. 0 means no limit.
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * How many connections one client address may have open at once; beyond
   * that as for `maxConnections`. 0 means no limit.
   *
   * @default {0}
   */
  maxPerIp?: number;
  /**
   * Close a connection after echoing this many bytes. 0 means no limit.
   *
   * @default {0}
   */
  maxBytes?: number;
  /** Aborting closes the listeners and every connection at once. */
  signal?: AbortSignal;
  /** Called once, with every bound address, when the server is listening. */
  onListen?: (addrs: readonly Deno.NetAddr[]) => void;
  /** Called when a connection is accepted. */
  onOpen?: (info: ConnectionInfo) => void;
  /** Called when a connection is closed. */
  onClose?: (info: ConnectionCloseInfo) => void;
  /** Called when a connection is closed at once because of a limit. */
  onReject?: (info: ConnectionInfo, reason: RejectReason) => void;
  /**
   * Called when a TLS handshake fails or times out; such a connection is
   * not reported to `onOpen` or `onClose`.
   */
  onHandshakeError?: (info: ConnectionInfo, error: unknown) => void;
  /** Called when a stale Unix socket file (nothing listening) was replaced. */
  onStaleSocket?: (path: string) => void;
  /**
   * Called when `accept()` fails (a client that reset before it was
   * accepted, or no file descriptors left). The server goes on; when out of
   * descriptors it backs off (5 ms doubling to 1 s) until one frees up.
   */
  onAcceptError?: (error: Error) => void;
}

/** A running echo server, shaped like `Deno.HttpServer`. */
export interface EchoServer extends AsyncDisposable {
  /**
   * The bound network addresses (the real port when 0 was asked), of every
   * TCP and TLS listener; `listeners` has them all, Unix sockets included.
   */
  readonly addrs: readonly Deno.NetAddr[];
  /** Every listener, with its kind and URL. */
  readonly listeners: readonly ListenerInfo[];
  /** What the `udp://` listeners have echoed and dropped, by listener URL. */
  readonly udpStats: ReadonlyMap<string, UdpEchoStats>;
  /** Resolves once the listeners are closed and every connection has ended. */
  readonly finished: Promise<void>;
  /** Connections open right now. */
  readonly connections: number;
  /**
   * Graceful: stops accepting at once, lets live connections finish for up to
   * `drainTimeout` ms, then closes the rest.
   *
   * @returns {@linkcode EchoServer.finished}.
   */
  shutdown(): Promise<void>;
  /**
   * Abrupt: closes the listeners and every connection now.
   *
   * @returns {@linkcode EchoServer.finished}.
   */
  close(): Promise<void>;
}

/**
 * Starts a TCP echo server: every byte a client sends comes back unchanged;
 * a line saying the quit word (`BYE`) is echoed and then ends the connection.
 * Many clients are served at once, and no client can make the server stop or
 * buffer without bound.
 *
 * `await using` closes it abruptly at the end of the scope; call
 * `shutdown()` first for a graceful drain.
 *
 * @example Serve on a free port and echo one line
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { deepEqual } from "node:assert/strict";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * await using client = await connect(server.addrs[0]!);
 * deepEqual(await client.send("hello"), "hello");
 * ```
 *
 * @param options Where to listen, the quit word, hooks and cancellation.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {Deno.errors.PermissionDenied} If the system refuses the port.
 * @throws {Deno.errors.AddrNotAvailable} If the address is not this host's.
 * @throws {UnknownHostError} If the hostname names no address.
 */
export async function serve(options: ServeOptions = {}): Promise<EchoServer> {
  const { signal } = options;
  const specs = listenerSpecs(options);
  const settings: Settings = {
    quitWord: options.quitWord === undefined
      ? DEFAULT_QUIT_WORD
      : options.quitWord,
    drainTimeout: checkLimit(
      "drainTimeout",
      options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT,
    ),
    idleTimeout: checkLimit(
      "idleTimeout",
      options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
    ),
    maxConnections: checkLimit(
      "maxConnections",
      options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    ),
    maxPerIp: checkLimit("maxPerIp", options.maxPerIp ?? 0),
    maxBytes: checkLimit("maxBytes", options.maxBytes ?? 0),
  };
  if (settings.quitWord !== null) validateQuitWord(settings.quitWord);
  signal?.throwIfAborted();

  const listeners = await openListeners(specs, options);
  const server = new Server(listeners, options, settings);
  if (signal !== undefined) {
    if (signal.aborted) server.close();
    const onAbort = (): void => void server.close();
    signal.addEventListener("abort", onAbort, { once: true });
    server.finished.then(() => signal.removeEventListener("abort", onAbort));
  }
  call(options.onListen, server.addrs);
  return server;
}

function listenerSpecs(options: ServeOptions): ListenerSpec[] {
  const { listen } = options;
  if (listen !== undefined) {
    if (options.hostname !== undefined || options.port !== undefined) {
      throw new TypeError("Give either listen or hostname and port, not both");
    }
    if (listen.length === 0) throw new RangeError("No listeners given");
  }
  const specs =
    listen?.map((entry) =>
      typeof entry === "string" ? parseListenUrl(entry, DEFAULT_PORT) : entry
    ) ?? [{
      transport: "tcp",
      hostname: options.hostname ?? DEFAULT_HOSTNAME,
      port: options.port ?? DEFAULT_PORT,
    }];
  for (const spec of specs) {
    if (spec.transport === "unix") continue;
    const { port } = spec;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Invalid port ${port}: expected 0 to 65535`);
    }
    if (spec.transport === "tls" && options.tls === undefined) {
      throw new TypeError("A tls:// listener needs the tls option");
    }
  }
  return specs;
}

interface OpenListener {
  /** A stream listener, or a UDP server (which needs no accept loop). */
  readonly listener: Deno.Listener | UdpEchoServer;
  readonly info: ListenerInfo;
  /** Removes what the listener left behind (a Unix socket file). */
  readonly cleanup?: () => Promise<void>;
}

/** Opens every listener, or none: on a failure the ones opened are closed. */
async function openListeners(
  specs: ListenerSpec[],
  options: ServeOptions,
): Promise<OpenListener[]> {
  const opened: OpenListener[] = [];
  const add = (
    transport: ListenerSpec["transport"],
    listener: Deno.Listener | UdpEchoServer,
    addr: Deno.Addr,
    cleanup?: () => Promise<void>,
  ): void => {
    const info = { transport, addr, url: formatListener(transport, addr) };
    opened.push(cleanup ? { listener, info, cleanup } : { listener, info });
  };
  try {
    for (const spec of specs) {
      try {
        await openOne(spec);
      } catch (error) {
        if (typeof error === "object" && error !== null) {
          failures.set(error, spec);
        }
        throw error;
      }
    }
  } catch (error) {
    for (const { listener, cleanup } of opened) {
      await listener.close();
      await cleanup?.();
    }
    throw error;
  }
  return opened;

  async function openOne(spec: ListenerSpec): Promise<void> {
    if (spec.transport === "unix") {
      const listener = await listenUnix(spec.path, options.onStaleSocket);
      add("unix", listener, listener.addr, () => removeSocket(spec.path));
    } else if (spec.transport === "tls") {
      const { cert, key, alpnProtocols = ["echo"] } = options.tls!;
      const bind = (hostname: string, port: number): Deno.TlsListener =>
        Deno.listenTls({ hostname, port, cert, key, alpnProtocols });
      for (const l of await listenAll(spec.hostname, spec.port, bind)) {
        add("tls", l, l.addr);
      }
    } else if (spec.transport === "udp") {
      const udp = await serveUdp({
        hostname: spec.hostname,
        port: spec.port,
        ...options.udp,
        ...(options.onUdpDrop ? { onDrop: options.onUdpDrop } : {}),
      });
      // One UDP server may have several sockets (both loopbacks).
      for (const addr of udp.addrs) add("udp", udp, addr);
    } else {
      for (const l of await listenAll(spec.hostname, spec.port)) {
        add("tcp", l, l.addr);
      }
    }
  }
}

/** Which listener each failure of {@linkcode serve} came from. */
const failures = new WeakMap<object, ListenerSpec>();

/**
 * Tells which listener could not be opened, for an error thrown by
 * {@linkcode serve}.
 *
 * @param error What `serve()` threw.
 * @returns The listener it was opening, if the error came from one.
 */
export function failedListener(error: unknown): ListenerSpec | undefined {
  return typeof error === "object" && error !== null
    ? failures.get(error)
    : undefined;
}

/** Removes our socket file, if it is still a socket (never anything else). */
async function removeSocket(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isSocket) await Deno.remove(path);
  } catch {
    // Gone already, or not ours to remove.
  }
}

/** Options with their defaults applied. */
interface Settings {
  quitWord: string | null;
  drainTimeout: number;
  idleTimeout: number;
  maxConnections: number;
  maxPerIp: number;
  maxBytes: number;
}

function checkLimit(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Invalid ${name} ${value}: expected 0 or more`);
  }
  return value;
}

interface Live {
  readonly abort: AbortController;
  done: Promise<void>;
}

/** Errors that concern one would-be connection, not the listener. */
const PER_CONNECTION_ERRORS = [
  Deno.errors.ConnectionAborted,
  Deno.errors.ConnectionReset,
  Deno.errors.NotConnected,
];

const BACKOFF_MIN = 5;
const BACKOFF_MAX = 1000;

class Server implements EchoServer {
  readonly addrs: readonly Deno.NetAddr[];
  readonly listeners: readonly ListenerInfo[];
  readonly finished: Promise<void>;
  readonly #listeners: OpenListener[];
  readonly #options: ServeOptions;
  readonly #settings: Settings;
  readonly #live = new Map<number, Live>();
  readonly #udp = new Map<string, UdpEchoServer>();
  /** Open connections per client address, kept only with `maxPerIp`. */
  readonly #perIp = new Map<string, number>();
  /** Aborted when the listeners close: ends back-off sleeps. */
  readonly #stopAccepting = new AbortController();
  #nextId = 0;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    listeners: OpenListener[],
    options: ServeOptions,
    settings: Settings,
  ) {
    this.#listeners = listeners;
    this.#options = options;
    this.#settings = settings;
    this.listeners = listeners.map((l) => l.info);
    this.addrs = this.listeners.flatMap(({ addr }) =>
      addr.transport === "tcp" ? [addr] : []
    );
    for (const { listener, info } of listeners) {
      // Keyed by its first address: one UDP server may have several.
      const known = [...this.#udp.values()].includes(listener as UdpEchoServer);
      if (isUdp(listener) && !known) this.#udp.set(info.url, listener);
    }
    this.finished = this.#run();
  }

  get connections(): number {
    return this.#live.size;
  }

  get udpStats(): ReadonlyMap<string, UdpEchoStats> {
    return new Map([...this.#udp].map(([url, udp]) => [url, udp.stats]));
  }

  async #run(): Promise<void> {
    await Promise.all(this.#listeners.map((l) => this.#acceptLoop(l)));
    for (const { cleanup } of this.#listeners) await cleanup?.();
    // No more connections can arrive; wait for the live ones (a connection's
    // task removes itself from the map when it ends).
    while (this.#live.size > 0) {
      await Promise.all([...this.#live.values()].map((c) => c.done));
    }
    clearTimeout(this.#drainTimer);
  }

  async #acceptLoop({ listener, info }: OpenListener): Promise<void> {
    if (isUdp(listener)) return await listener.finished;
    const stop = this.#stopAccepting.signal;
    let backoff = 0;
    while (!stop.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stop.aborted || error instanceof Deno.errors.BadResource) return;
        call(this.#options.onAcceptError, error as Error);
        if (PER_CONNECTION_ERRORS.some((type) => error instanceof type)) {
          continue;
        }
        // Out of file descriptors, or something unforeseen: back off rather
        // than spin, and try again.
        backoff = Math.min(Math.max(backoff * 2, BACKOFF_MIN), BACKOFF_MAX);
        await sleep(backoff, stop);
        continue;
      }
      backoff = 0;
      this.#handle(conn, info);
    }
  }

  #handle(conn: Deno.Conn, listener: ListenerInfo): void {
    const id = ++this.#nextId;
    const info: ConnectionInfo = {
      id,
      remoteAddr: unmapped(conn.remoteAddr),
      localAddr: unmapped(conn.localAddr),
      listener: listener.url,
    };
    const { maxConnections, maxPerIp } = this.#settings;
    const ip = clientKey(info);
    const fromIp = this.#perIp.get(ip) ?? 0;
    const reject: RejectReason | undefined =
      maxConnections > 0 && this.#live.size >= maxConnections
        ? "max-connections"
        : maxPerIp > 0 && fromIp >= maxPerIp
        ? "max-per-ip"
        : undefined;
    if (reject !== undefined) {
      closeQuietly(conn);
      call(this.#options.onReject, info, reject);
      return;
    }
    if (maxPerIp > 0) this.#perIp.set(ip, fromIp + 1);
    const live: Live = {
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    // Registered before the task starts, so hooks count this connection.
    this.#live.set(id, live);
    live.done = this.#serveConnection(conn, info, live.abort.signal);
  }

  async #serveConnection(
    conn: Deno.Conn,
    info: ConnectionInfo,
    signal: AbortSignal,
  ): Promise<void> {
    const started = performance.now();
    if ("handshake" in conn) {
      try {
        await handshake(conn as Deno.TlsConn, this.#handshakeTimeout, signal);
      } catch (error) {
        closeQuietly(conn);
        this.#forget(info);
        call(this.#options.onHandshakeError, info, error);
        return;
      }
    }
    try {
      // TCP only: TLS and Unix connections have no Nagle to turn off.
      (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
    } catch {
      // The peer is already gone; echo() will find out.
    }
    let result: EchoResult;
    try {
      call(this.#options.onOpen, info);
      const { quitWord, idleTimeout, maxBytes } = this.#settings;
      result = await echo(conn, { quitWord, idleTimeout, maxBytes, signal });
    } finally {
      closeQuietly(conn);
      this.#forget(info);
    }
    call(this.#options.onClose, {
      ...info,
      ...result,
      durationMs: performance.now() - started,
    });
  }

  get #handshakeTimeout(): number {
    return this.#options.tls?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  }

  /** Takes an ended connection out of the counts. */
  #forget(info: ConnectionInfo): void {
    this.#live.delete(info.id);
    if (this.#settings.maxPerIp > 0) {
      const ip = clientKey(info);
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.#perIp.set(ip, left);
      else this.#perIp.delete(ip);
    }
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
    for (const { abort } of this.#live.values()) abort.abort();
  }

  shutdown(): Promise<void> {
    if (!this.#stopAccepting.signal.aborted) {
      this.#closeListeners();
      this.#drainTimer = setTimeout(
        () => this.#abortAll(),
        this.#settings.drainTimeout,
      );
    }
    return this.finished;
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

function isUdp(
  listener: Deno.Listener | UdpEchoServer,
): listener is UdpEchoServer {
  return "stats" in listener;
}

/** What `maxPerIp` counts by: the address, or one key for all Unix peers. */
function clientKey(info: ConnectionInfo): string {
  const addr = info.remoteAddr;
  return "path" in addr ? "unix" : addr.hostname;
}

/**
 * Completes a TLS handshake within `timeout` ms. On timeout or abort the
 * connection is closed, which ends the handshake with an error.
 */
async function handshake(
  conn: Deno.TlsConn,
  timeout: number,
  signal: AbortSignal,
): Promise<void> {
  let timedOut = false;
  const close = (): void => closeQuietly(conn);
  const timer = setTimeout(() => {
    timedOut = true;
    close();
  }, timeout);
  signal.addEventListener("abort", close, { once: true });
  try {
    await conn.handshake();
  } catch (error) {
    if (timedOut) {
      throw new Deno.errors.TimedOut(`TLS handshake not done in ${timeout} ms`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", close);
  }
}

function unmapped(addr: Deno.Addr): Deno.NetAddr | Deno.UnixAddr {
  if ("path" in addr) return { transport: "unix", path: addr.path };
  if ("cid" in addr) throw new TypeError("vsock is not served");
  return {
    transport: addr.transport,
    hostname: unmapIPv4(addr.hostname),
    port: addr.port,
  };
}

/** Calls a hook; a hook that throws must not take the server down. */
function call<A extends unknown[]>(
  hook: ((...args: A) => void) | undefined,
  ...args: A
): void {
  if (hook === undefined) return;
  try {
    hook(...args);
  } catch {
    // Hooks are the embedder's; their failures are theirs to report.
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
