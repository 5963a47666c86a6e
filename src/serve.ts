// Copyright the deno-echo authors. MIT license.

import { unmapIPv4 } from "./address.ts";
import { echo, type EchoResult } from "./echo.ts";
import { listenAll } from "./listen.ts";
import { DEFAULT_QUIT_WORD, validateQuitWord } from "./quit_word.ts";

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

/** A connection as the server's hooks see it. */
export interface ConnectionInfo {
  /** Counts up from 1 for each connection accepted by this server. */
  id: number;
  /** The peer; IPv4-mapped IPv6 addresses are shown as IPv4. */
  remoteAddr: Deno.NetAddr;
  /** The listener's address the peer reached. */
  localAddr: Deno.NetAddr;
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
   * Called when `accept()` fails (a client that reset before it was
   * accepted, or no file descriptors left). The server goes on; when out of
   * descriptors it backs off (5 ms doubling to 1 s) until one frees up.
   */
  onAcceptError?: (error: Error) => void;
}

/** A running echo server, shaped like `Deno.HttpServer`. */
export interface EchoServer extends AsyncDisposable {
  /** The bound addresses (the real port when 0 was asked). */
  readonly addrs: readonly Deno.NetAddr[];
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
  const { hostname = DEFAULT_HOSTNAME, port = DEFAULT_PORT, signal } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid port ${port}: expected 0 to 65535`);
  }
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

  const listeners = await listenAll(hostname, port);
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
  readonly finished: Promise<void>;
  readonly #listeners: Deno.TcpListener[];
  readonly #options: ServeOptions;
  readonly #settings: Settings;
  readonly #live = new Map<number, Live>();
  /** Open connections per client address, kept only with `maxPerIp`. */
  readonly #perIp = new Map<string, number>();
  /** Aborted when the listeners close: ends back-off sleeps. */
  readonly #stopAccepting = new AbortController();
  #nextId = 0;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    listeners: Deno.TcpListener[],
    options: ServeOptions,
    settings: Settings,
  ) {
    this.#listeners = listeners;
    this.#options = options;
    this.#settings = settings;
    this.addrs = listeners.map((l) => l.addr);
    this.finished = this.#run();
  }

  get connections(): number {
    return this.#live.size;
  }

  async #run(): Promise<void> {
    await Promise.all(this.#listeners.map((l) => this.#acceptLoop(l)));
    // No more connections can arrive; wait for the live ones (a connection's
    // task removes itself from the map when it ends).
    while (this.#live.size > 0) {
      await Promise.all([...this.#live.values()].map((c) => c.done));
    }
    clearTimeout(this.#drainTimer);
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    const stop = this.#stopAccepting.signal;
    let backoff = 0;
    while (!stop.aborted) {
      let conn: Deno.TcpConn;
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
      this.#handle(conn);
    }
  }

  #handle(conn: Deno.TcpConn): void {
    const id = ++this.#nextId;
    const info: ConnectionInfo = {
      id,
      remoteAddr: unmapped(conn.remoteAddr),
      localAddr: unmapped(conn.localAddr),
    };
    const { maxConnections, maxPerIp } = this.#settings;
    const ip = info.remoteAddr.hostname;
    const fromIp = this.#perIp.get(ip) ?? 0;
    const reject: RejectReason | undefined =
      maxConnections > 0 && this.#live.size >= maxConnections
        ? "max-connections"
        : maxPerIp > 0 && fromIp >= maxPerIp
        ? "max-per-ip"
        : undefined;
    if (reject !== undefined) {
      try {
        conn.close();
      } catch {
        // Gone already.
      }
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
    conn: Deno.TcpConn,
    info: ConnectionInfo,
    signal: AbortSignal,
  ): Promise<void> {
    const started = performance.now();
    try {
      conn.setNoDelay(true);
    } catch {
      // The peer is already gone; echo() will find out.
    }
    call(this.#options.onOpen, info);
    const { quitWord, idleTimeout, maxBytes, maxPerIp } = this.#settings;
    const result = await echo(conn, {
      quitWord,
      idleTimeout,
      maxBytes,
      signal,
    });
    try {
      conn.close();
    } catch {
      // Already closed by the echo, as usual.
    }
    this.#live.delete(info.id);
    if (maxPerIp > 0) {
      const ip = info.remoteAddr.hostname;
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.#perIp.set(ip, left);
      else this.#perIp.delete(ip);
    }
    call(this.#options.onClose, {
      ...info,
      ...result,
      durationMs: performance.now() - started,
    });
  }

  #closeListeners(): void {
    if (this.#stopAccepting.signal.aborted) return;
    this.#stopAccepting.abort();
    for (const listener of this.#listeners) {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
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

function unmapped(addr: Deno.NetAddr): Deno.NetAddr {
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
