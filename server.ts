#!/usr/bin/env -S deno run --allow-net
// Copyright the deno-echo authors. MIT license.

/**
 * `echo-server`: a TCP echo server. Every byte a client sends comes back
 * unchanged; a line that says `BYE` is echoed and then ends the connection.
 *
 * Run it with `deno task server` (or `deno run --allow-net server.ts`);
 * `--help` lists the options. As a module it exports {@linkcode serve}.
 *
 * @example Embed the server
 * ```ts
 * import { serve } from "@deno-echo/echo/server";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * assertEquals(await server.shutdown(), { drained: true, closed: 0 });
 * ```
 *
 * @module
 */

import { parse, report, run } from "./src/cli/server_run.ts";

export type {
  ConnectionInfo,
  ConnectionResult,
  EchoServer,
  ListenerInfo,
  RejectReason,
  ServeOptions,
  ServerEvent,
  ServeTlsOptions,
  ShutdownResult,
} from "./src/server/types.ts";
export type { EchoEndReason, EchoResult } from "./src/echo/echo.ts";
export type { ListenerSpec } from "./src/net/listen_url.ts";
export type {
  UdpActivityInfo,
  UdpDatagramInfo,
  UdpDropInfo,
  UdpDropReason,
  UdpEchoStats,
  UdpServeOptions,
} from "./src/udp/udp_server.ts";
export { serve } from "./src/workers/serve.ts";
export { ServerExitCode } from "./src/cli/server_exit.ts";
export {
  type MetricsServerView,
  ServerMetrics,
  type ServerMetricsOptions,
} from "./src/metrics/server_metrics.ts";
export {
  type MetricsServer,
  type MetricsSource,
  serveMetrics,
  type ServeMetricsOptions,
} from "./src/metrics/metrics_server.ts";
export type { ProcessMetricsOptions } from "./src/metrics/process_metrics.ts";
export type {
  MetricFamily,
  MetricOptions,
  MetricType,
  Registry,
  Series,
} from "./src/metrics/registry.ts";

/** Parse, run, report: the exit code of one run of the program. */
async function main(args: readonly string[]): Promise<number> {
  try {
    const parsed = parse(args);
    return report("type" in parsed ? parsed : await run(parsed));
  } catch (error) {
    return report({ type: "crashed", error });
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
