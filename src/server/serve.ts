// Copyright the deno-echo authors. MIT license.

import { callHook } from "./hook.ts";
import type { Admission, Limits, RejectReason } from "./admission.ts";
import { closeQuietly } from "../net/close.ts";
import { unmapIPv4 } from "../net/address.ts";
import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import { type EchoResult, type EchoStopper, echoWith } from "../echo/echo.ts";
import { listenAll, listenUnix } from "../net/listen.ts";
import {
  formatListener,
  type ListenerSpec,
  parseListenUrl,
} from "../net/listen_url.ts";
import { DEFAULT_QUIT_WORD, validateQuitWord } from "../echo/quit_word.ts";
import {
  serveUdp,
  type UdpDropInfo,
  type UdpEchoServer,
  type UdpEchoStats,
  type UdpServeOptions,
} from "../udp/udp_server.ts";

export { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
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
  /**
   * Which isolate serves it: 0 for the one that called `serve()`, 1 and up
   * for its workers (see {@linkcode ServeOptions.workers}).
   */
  worker: number;
}

export type { RejectReason } from "./admission.ts";

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
  /**
   * How many isolates accept connections, to use more than one CPU core:
   * this one plus `workers - 1` web workers, each with its own listeners on
   * the same TCP and TLS addresses (`SO_REUSEPORT`: the kernel spreads new
   * connections over them). Connection limits and ids are shared by all, and
   * the hooks are called in this isolate for every connection. `unix:` and
   * `udp://` listeners are served by this isolate only. More than 1 needs
   * Linux and Deno's `--unstable-net` flag; at most 256.
   *
   * @default {1}
   */
  workers?: number;
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
 * How a server's TCP and TLS listeners treat their port:
 * - `none`: theirs alone (no `SO_REUSEPORT`);
 * - `first`: the first of several isolates sharing it: each address is
 *   bound alone first, so a port already in use is still an error, then
 *   again with `SO_REUSEPORT`;
 * - `join`: bound with `SO_REUSEPORT` to addresses the first one holds.
 */
export type PortSharing = "none" | "first" | "join";

/** What {@linkcode startServer} needs beyond the public options. */
export interface StartInternals {
  /** How TCP and TLS listeners bind. */
  share: PortSharing;
  /** Ids and limits, local or shared between isolates. */
  admission: (limits: Limits) => Admission;
  /** This isolate's number among the workers, 0 for the first. */
  worker: number;
}

/** Starts one server in this isolate; {@linkcode serve} without workers. */
export type StartServer = (
  options: ServeOptions,
  internals: StartInternals,
) => Promise<EchoServer>;

/**
 * Starts a server in this isolate, with its own listeners; `serve()` is this
 * plus workers, cancellation and `onListen`.
 *
 * @param options As for {@linkcode serve}; `workers`, `signal` and
 * `onListen` are left to the caller.
 * @param internals How ports are bound and where limits are kept.
 * @returns The running server.
 */
export const startServer: StartServer = async (options, internals) => {
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
  options.signal?.throwIfAborted();

  const listeners = await openListeners(specs, options, internals.share);
  return new Server(listeners, options, settings, internals);
};

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
  share: PortSharing,
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
      const bind = sharing(
        share,
        (hostname, port, reusePort) =>
          Deno.listenTls({
            hostname,
            port,
            cert,
            key,
            alpnProtocols,
            ...(reusePort ? { reusePort } : {}),
          }),
      );
      for (const l of await bindSpec(spec, share, bind)) {
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
      const bind = sharing(
        share,
        (hostname, port, reusePort) =>
          Deno.listen({ hostname, port, ...(reusePort ? { reusePort } : {}) }),
      );
      for (const l of await bindSpec(spec, share, bind)) {
        add("tcp", l, l.addr);
      }
    }
  }
}

/**
 * Binds a `tcp://` or `tls://` spec: every address its host names, or, when
 * joining a first isolate's listeners, exactly the address given (`::` is
 * then `::` alone: the first isolate's `::` is dual-stack, and a worker's own
 * `0.0.0.0` would take every IPv4 client from the first isolate).
 */
async function bindSpec<L extends Deno.Listener & { addr: Deno.NetAddr }>(
  spec: { hostname: string; port: number },
  share: PortSharing,
  bind: (hostname: string, port: number) => L,
): Promise<L[]> {
  if (share === "join") return [bind(spec.hostname, spec.port)];
  return await listenAll(spec.hostname, spec.port, bind);
}

/**
 * A bind function for {@linkcode listenAll} that shares ports as asked.
 * `first` binds each address without `SO_REUSEPORT` before binding it with
 * it: with the option alone, a port another sharing program holds would be
 * joined (its clients split with ours) instead of reported in use.
 */
function sharing<L extends Deno.Listener & { addr: Deno.NetAddr }>(
  share: PortSharing,
  open: (hostname: string, port: number, reusePort: boolean) => L,
): (hostname: string, port: number) => L {
  if (share === "none") return (hostname, port) => open(hostname, port, false);
  if (share === "join") return (hostname, port) => open(hostname, port, true);
  return (hostname, port) => {
    const alone = Deno.listen({ hostname, port });
    const chosen = alone.addr.port;
    alone.close();
    return open(hostname, chosen, true);
  };
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

/**
 * A live connection. Stopped through `stop` (set during the handshake, then
 * by the echo), not an `AbortController`: see {@linkcode EchoStopper}.
 */
interface Live extends EchoStopper {
  done: Promise<void>;
  /** Set once the connection was told to stop. */
  stopped: boolean;
}

/** The error a connection stopped by the server ends with. */
function stopError(): DOMException {
  return new DOMException("The server closed the connection", "AbortError");
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
  /** Ids and limits: this isolate's, or shared with workers. */
  readonly #admission: Admission;
  readonly #worker: number;
  /** Aborted when the listeners close: ends back-off sleeps. */
  readonly #stopAccepting = new AbortController();
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    listeners: OpenListener[],
    options: ServeOptions,
    settings: Settings,
    internals: StartInternals,
  ) {
    this.#listeners = listeners;
    this.#options = options;
    this.#settings = settings;
    this.#admission = internals.admission(settings);
    this.#worker = internals.worker;
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
    return this.#admission.open;
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
        callHook(this.#options.onAcceptError, error as Error);
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
    const id = this.#admission.nextId();
    const info: ConnectionInfo = {
      id,
      remoteAddr: unmapped(conn.remoteAddr),
      localAddr: unmapped(conn.localAddr),
      listener: listener.url,
      worker: this.#worker,
    };
    const reject = this.#admission.admit(clientKey(info));
    if (reject !== undefined) {
      closeQuietly(conn);
      callHook(this.#options.onReject, info, reject);
      return;
    }
    const live: Live = {
      done: Promise.resolve(),
      stopped: false,
      stop: undefined,
    };
    // Registered before the task starts, so hooks count this connection.
    this.#live.set(id, live);
    live.done = this.#serveConnection(conn, info, live);
  }

  async #serveConnection(
    conn: Deno.Conn,
    info: ConnectionInfo,
    live: Live,
  ): Promise<void> {
    const started = performance.now();
    if ("handshake" in conn) {
      try {
        await handshake(conn as Deno.TlsConn, this.#handshakeTimeout, live);
      } catch (error) {
        closeQuietly(conn);
        this.#forget(info);
        callHook(this.#options.onHandshakeError, info, error);
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
      callHook(this.#options.onOpen, info);
      const { quitWord, idleTimeout, maxBytes } = this.#settings;
      const echoing = echoWith(conn, { quitWord, idleTimeout, maxBytes }, live);
      // Told to stop before the echo began (during the handshake, say).
      if (live.stopped) live.stop!(stopError());
      result = await echoing;
    } finally {
      closeQuietly(conn);
      this.#forget(info);
    }
    callHook(this.#options.onClose, {
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
    this.#admission.release(clientKey(info));
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
      live.stopped = true;
      live.stop?.(stopError());
    }
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
  live: Live,
): Promise<void> {
  let timedOut = false;
  const close = (): void => closeQuietly(conn);
  const timer = setTimeout(() => {
    timedOut = true;
    close();
  }, timeout);
  if (live.stopped) close();
  live.stop = close;
  try {
    await conn.handshake();
  } catch (error) {
    if (timedOut) {
      throw new Deno.errors.TimedOut(`TLS handshake not done in ${timeout} ms`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
    live.stop = undefined;
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
