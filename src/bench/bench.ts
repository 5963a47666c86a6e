// Copyright the deno-echo authors. MIT license.

// The load generator: runBench() opens the connections and runs them.

import { openEndpoints } from "./endpoints.ts";
import { type BenchOptions, settle } from "./options.ts";
import type { BenchResult } from "./result.ts";
import { Run } from "./run.ts";

export {
  BENCH_DEFAULTS,
  type BenchOptions,
  type BenchTlsOptions,
  MAX_DATAGRAM_PAYLOAD,
  MAX_IN_FLIGHT,
} from "./options.ts";
export {
  type BenchErrors,
  type BenchInterval,
  type BenchProgress,
  type BenchResult,
  type BenchSeries,
  type BenchTransport,
  errorCount,
  fairness,
  MAX_SERIES_POINTS,
} from "./result.ts";

/**
 * Generates load on an echo server and measures it: opens `connections`
 * connections (TCP, TLS or Unix; or UDP sockets), sends `size`-byte
 * messages on each (closed loop with `pipeline` in flight, or open loop at a
 * fixed `rate`), checks every echoed byte, and reports round trips a second,
 * bytes a second, the latency distribution, the measurement second by
 * second, how evenly the connections were served, and every failure.
 *
 * The payload is a pseudo-random stream without newlines (so it never says
 * the quit word), addressed by position: nothing sent is kept, and a
 * mismatch, a lost or reordered chunk, or an echo sent to the wrong
 * connection is caught. A connection that fails is closed and counted; the
 * others go on. Over UDP each message is one datagram, sent once: an echo
 * not back within `lossTimeout` is counted in `errors.lost`. Each connection reuses one read buffer, writes straight from
 * the payload table, and checks echoes with a native compare.
 *
 * @example Measure 50 round trips against an in-process server
 * ```ts
 * import { serve } from "@deno-echo/echo";
 * import { runBench } from "@deno-echo/echo/client";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * const result = await runBench({
 *   hostname: "127.0.0.1",
 *   port: server.addrs[0]!.port,
 *   connections: 2,
 *   messages: 50,
 * });
 * assertEquals(result.roundTrips, 50);
 * assertEquals(result.firstError, null);
 * ```
 *
 * @param options The server, the load, and how long to measure.
 * @returns The measurements; the run resolves even when connections fail
 * (see `errors`).
 * @throws {RangeError} If an option is out of range.
 * @throws {TypeError} If the transport is unknown, or `"unix"` has no path.
 * @throws {Deno.errors.ConnectionRefused} If a connection is refused (as for
 * the other errors of `dial()`, no load is sent then).
 */
export async function runBench(
  options: BenchOptions = {},
): Promise<BenchResult> {
  const settings = settle(options);
  const { signal } = options;
  signal?.throwIfAborted();
  const endpoints = await openEndpoints(settings, signal);
  const run = new Run(settings, endpoints, options.onProgress);
  const onAbort = (): void => run.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) run.abort();
  try {
    await run.finished;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (signal?.aborted) throw signal.reason;
  return run.result();
}
