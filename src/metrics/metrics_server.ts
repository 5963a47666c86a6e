// Copyright the deno-echo authors. MIT license.

// A small HTTP server for Prometheus: `/metrics` and `/healthz`, nothing
// else, on its own port. Every answer is small: the exposition is bounded by
// the metrics' series limits, and every other answer is a few bytes.

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
}

/** A running metrics server, shaped like `Deno.HttpServer`. */
export interface MetricsServer extends AsyncDisposable {
  /** The bound address (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Resolves once the server has stopped. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting, lets requests in flight finish.
   *
   * @returns {@linkcode MetricsServer.finished}.
   */
  shutdown(): Promise<void>;
}

const TEXT = "text/plain; charset=utf-8";

/**
 * Serves metrics over HTTP with `Deno.serve`: `GET /metrics` the
 * exposition, `GET /healthz` `ok`, 404 for any other path and 405 for any
 * method but GET and HEAD. Prints nothing.
 *
 * @param options Where to listen and what to serve.
 * @returns The running server, listening already.
 * @throws {Deno.errors.AddrInUse} And the other errors of `Deno.serve` when
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
  const { hostname = DEFAULT_METRICS_HOSTNAME, port, metrics, signal } =
    options;
  const server = Deno.serve({
    hostname,
    port,
    ...(signal === undefined ? {} : { signal }),
    onListen: () => {},
    onError: () => answer(500, "internal error\n"),
  }, (request) => respond(request, metrics));
  return {
    addr: server.addr,
    finished: server.finished,
    shutdown: async () => {
      await server.shutdown();
      await server.finished;
    },
    [Symbol.asyncDispose]: async () => {
      await server.shutdown();
      await server.finished;
    },
  };
}

/**
 * Answers one request.
 *
 * @param request What was asked.
 * @param metrics What `/metrics` serves.
 * @returns The answer.
 */
function respond(request: Request, metrics: MetricsSource): Response {
  const head = request.method === "HEAD";
  if (request.method !== "GET" && !head) {
    return answer(405, "method not allowed\n", { allow: "GET, HEAD" });
  }
  switch (new URL(request.url).pathname) {
    case "/metrics": {
      let body: string;
      try {
        body = metrics.expose();
      } catch {
        return answer(500, "cannot read the metrics\n");
      }
      return answer(200, head ? null : body, {
        "content-type": METRICS_CONTENT_TYPE,
      });
    }
    case "/healthz":
      return answer(200, head ? null : "ok\n");
    default:
      return answer(404, head ? null : "not found\n");
  }
}

function answer(
  status: number,
  body: string | null,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, {
    status,
    headers: { "content-type": TEXT, "cache-control": "no-store", ...headers },
  });
}
