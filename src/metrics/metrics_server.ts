// Copyright the deno-echo authors. MIT license.

// A small HTTP/1.1 server for Prometheus: `/metrics` and `/healthz`,
// nothing else, on its own port. Every answer is small: the exposition is
// bounded by the metrics' series limits, and every other answer is a few
// bytes. It shares the echo server's process, so it can neither crash it nor
// hold it: its accept loop survives every error (out of descriptors
// included), and its connections are few, bounded in size and in time.

import {
  type HttpAnswer,
  type HttpRequest,
  linger,
  RequestReader,
  textAnswer,
  writeAnswer,
} from "./http_conn.ts";
import { acceptLoop } from "../net/accept_loop.ts";
import { closeQuietly } from "../net/close.ts";

/** The content type of the Prometheus text format 0.0.4. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The hostname {@linkcode serveMetrics} listens on unless told otherwise. */
export const DEFAULT_METRICS_HOSTNAME = "127.0.0.1";

/** Anything that writes its metrics in the text format 0.0.4. */
export interface MetricsSource {
  /**
   * The metrics, read on every scrape.
   *
   * @returns The exposition text.
   */
  expose(): string;
}

/** How many scrape connections {@linkcode serveMetrics} keeps open at most. */
export const DEFAULT_METRICS_MAX_CONNECTIONS = 16;

/** {@linkcode ServeMetricsOptions.requestTimeout}'s default, in ms. */
export const DEFAULT_METRICS_REQUEST_TIMEOUT = 5000;

/**
 * How long, at most, `shutdown()` lets answers being written finish before
 * it closes their connections, in ms.
 */
export const METRICS_SHUTDOWN_GRACE = 1000;

/** Options for {@linkcode serveMetrics}. */
export interface ServeMetricsOptions {
  /**
   * The address to listen on: one IP address or name (never an echo
   * listener's address and port).
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The port; 0 picks a free one. */
  port: number;
  /** What `/metrics` serves. */
  metrics: MetricsSource;
  /** Aborting stops the server (as `shutdown()` does). */
  signal?: AbortSignal;
  /**
   * How many connections may be open at once; one more is closed as soon
   * as it is accepted. A positive integer.
   *
   * @default {16}
   */
  maxConnections?: number;
  /**
   * How long a connection may take to send a whole request (counted from
   * when it opened or was last answered: an idle keep-alive connection is
   * closed after as long), and how long to take one answer, in ms. Past
   * it, the connection is closed. A positive number.
   *
   * @default {5000}
   */
  requestTimeout?: number;
  /**
   * Told of every failed accept (out of file descriptors, say), which the
   * server waits out: 5 ms, doubling up to 1 s while accepts keep failing.
   * Called synchronously; what it throws is ignored.
   */
  onAcceptError?: (error: Error) => void;
}

/** What {@linkcode serveMetricsOn} needs besides a listener. */
export type MetricsServeOptions = Omit<
  ServeMetricsOptions,
  "hostname" | "port"
>;

/** A running metrics server, shaped like `Deno.HttpServer`. */
export interface MetricsServer extends AsyncDisposable {
  /** The bound address (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Resolves once the server has stopped. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting and closes the connections waiting for a request;
   * answers being written get up to {@linkcode METRICS_SHUTDOWN_GRACE} ms,
   * then their connections are closed too. Disposing does the same.
   *
   * @returns {@linkcode MetricsServer.finished}.
   */
  shutdown(): Promise<void>;
  /**
   * Stops accepting and closes every connection at once.
   *
   * @returns {@linkcode MetricsServer.finished}.
   */
  close(): Promise<void>;
}

/**
 * Serves metrics over HTTP/1.1: `GET /metrics` the exposition,
 * `GET /healthz` `ok`, 404 for any other path and 405 for any method but
 * GET and HEAD. Keeps at most `maxConnections` open, each bounded by
 * `requestTimeout`, request heads to 8 KiB and bodies to 64 KiB; an error
 * accepting (out of file descriptors) is waited out, never thrown, and
 * told to `onAcceptError`. Prints nothing.
 *
 * @param options Where to listen and what to serve.
 * @returns The running server, listening already.
 * @throws {Deno.errors.AddrInUse} And the other errors of `Deno.listen` when
 * it cannot listen.
 *
 * @example Scrape
 * ```ts
 * import { serveMetrics } from "./metrics_server.ts";
 * import { Registry } from "./registry.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const registry = new Registry();
 * registry.counter({ name: "up_total", help: "Ups." }).series({}).value = 1;
 * await using server = serveMetrics({ port: 0, metrics: registry });
 * const response = await fetch(
 *   `http://127.0.0.1:${server.addr.port}/metrics`,
 * );
 * assertEquals(response.status, 200);
 * assertEquals(
 *   await response.text(),
 *   "# HELP up_total Ups.\n# TYPE up_total counter\nup_total 1\n",
 * );
 * ```
 */
export function serveMetrics(options: ServeMetricsOptions): MetricsServer {
  const { hostname = DEFAULT_METRICS_HOSTNAME, port, ...rest } = options;
  checkOptions(rest);
  const listener = Deno.listen({ hostname, port });
  return serveMetricsOn(listener, rest);
}

/**
 * Serves metrics, as {@linkcode serveMetrics} does, on a listener already
 * open, which the server then owns (and closes when it stops).
 *
 * @param listener A TCP listener.
 * @param options What to serve, and the bounds.
 * @returns The running server.
 * @throws {RangeError} When a bound is not a positive number.
 *
 * @example On a listener of one's own
 * ```ts
 * import { serveMetricsOn } from "./metrics_server.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * await using server = serveMetricsOn(listener, {
 *   metrics: { expose: () => "up 1\n" },
 *   maxConnections: 4,
 * });
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/healthz`);
 * assertEquals(await response.text(), "ok\n");
 * ```
 */
export function serveMetricsOn(
  listener: Deno.Listener<Deno.Conn, Deno.NetAddr>,
  options: MetricsServeOptions,
): MetricsServer {
  try {
    checkOptions(options);
  } catch (error) {
    closeQuietly(listener);
    throw error;
  }
  return new Scraper(listener, options);
}

function checkOptions(options: MetricsServeOptions): void {
  const { maxConnections = 1, requestTimeout = 1 } = options;
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new RangeError(
      `maxConnections must be a positive integer, got ${maxConnections}`,
    );
  }
  if (!(requestTimeout > 0) || !Number.isFinite(requestTimeout)) {
    throw new RangeError(
      `requestTimeout must be a positive number of ms, got ${requestTimeout}`,
    );
  }
}

/** A connection, and whether it is being answered (not waiting). */
interface Live {
  busy: boolean;
}

class Scraper implements MetricsServer {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly #listener: Deno.Listener<Deno.Conn, Deno.NetAddr>;
  readonly #metrics: MetricsSource;
  readonly #max: number;
  readonly #timeout: number;
  readonly #onAcceptError: ((error: Error) => void) | undefined;
  readonly #live = new Map<Deno.Conn, Live>();
  readonly #stop = new AbortController();
  readonly #done = Promise.withResolvers<void>();
  #accepting = true;
  #grace: ReturnType<typeof setTimeout> | undefined;

  constructor(
    listener: Deno.Listener<Deno.Conn, Deno.NetAddr>,
    options: MetricsServeOptions,
  ) {
    this.#listener = listener;
    this.addr = listener.addr;
    this.#metrics = options.metrics;
    this.#max = options.maxConnections ?? DEFAULT_METRICS_MAX_CONNECTIONS;
    this.#timeout = options.requestTimeout ?? DEFAULT_METRICS_REQUEST_TIMEOUT;
    this.#onAcceptError = options.onAcceptError;
    this.finished = this.#done.promise;
    const { signal } = options;
    if (signal?.aborted) {
      this.#accepting = false;
      this.shutdown();
    } else {
      const onAbort = (): void => void this.shutdown();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#acceptLoop().catch(() => {}).finally(() => {
        signal?.removeEventListener("abort", onAbort);
        this.#accepting = false;
        this.shutdown();
      });
    }
  }

  shutdown(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      closeQuietly(this.#listener);
      for (const [conn, live] of this.#live) {
        if (!live.busy) closeQuietly(conn);
      }
      this.#grace = setTimeout(() => this.#closeAll(), METRICS_SHUTDOWN_GRACE);
    }
    this.#settle();
    return this.finished;
  }

  close(): Promise<void> {
    this.shutdown();
    this.#closeAll();
    return this.finished;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  #closeAll(): void {
    for (const conn of this.#live.keys()) closeQuietly(conn);
  }

  /** Resolves `finished` once nothing is left. */
  #settle(): void {
    if (!this.#stop.signal.aborted || this.#accepting || this.#live.size > 0) {
      return;
    }
    clearTimeout(this.#grace);
    this.#done.resolve();
  }

  async #acceptLoop(): Promise<void> {
    await acceptLoop(this.#listener, this.#stop.signal, (conn) => {
      if (this.#live.size >= this.#max) {
        closeQuietly(conn);
        return;
      }
      const live: Live = { busy: false };
      this.#live.set(conn, live);
      this.#serve(conn, live).catch(() => {
        // Closed by a timeout, by shutdown, or by the peer.
      }).finally(() => {
        closeQuietly(conn);
        this.#live.delete(conn);
        this.#settle();
      });
    }, (error) => {
      try {
        this.#onAcceptError?.(error);
      } catch {
        // A hook's failure must not end the accept loop.
      }
    });
  }

  /** Answers one connection's requests until it ends or must close. */
  async #serve(conn: Deno.Conn, live: Live): Promise<void> {
    const stop = this.#stop.signal;
    const reader = new RequestReader(conn);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => closeQuietly(conn), ms);
    };
    try {
      while (!stop.aborted) {
        arm(this.#timeout);
        const got = await reader.read();
        if (got.type === "end") return;
        live.busy = true;
        const request = got.type === "request" ? got.request : undefined;
        const answer = got.type === "request"
          ? respond(got.request, this.#metrics)
          : got.answer;
        const close = !request?.keepAlive || stop.aborted;
        arm(this.#timeout);
        await writeAnswer(conn, answer, {
          head: request?.method === "HEAD",
          close,
        });
        live.busy = false;
        if (close) {
          if (!stop.aborted) {
            arm(Math.min(this.#timeout, METRICS_SHUTDOWN_GRACE));
            await linger(conn);
          }
          return;
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Answers one request.
 *
 * @param request What was asked.
 * @param metrics What `/metrics` serves.
 * @returns The answer (sent without its body to a HEAD).
 */
function respond(request: HttpRequest, metrics: MetricsSource): HttpAnswer {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return textAnswer(405, "method not allowed\n", { allow: "GET, HEAD" });
  }
  switch (request.path) {
    case "/metrics": {
      let body: string;
      try {
        body = metrics.expose();
      } catch {
        return textAnswer(500, "cannot read the metrics\n");
      }
      return textAnswer(200, body, { "content-type": METRICS_CONTENT_TYPE });
    }
    case "/healthz":
      return textAnswer(200, "ok\n");
    default:
      return textAnswer(404, "not found\n");
  }
}
