// Copyright the deno-echo authors. MIT license.

// The metrics about the program rather than its connections: version, start
// time, memory, and what its log has dropped.

import type { Registry } from "./registry.ts";

/** What the program tells its metrics about itself. */
export interface ProcessMetricsOptions {
  /** The program's version, for `echo_build_info`. */
  version: string;
  /**
   * How many log lines the program has dropped so far (its log writer's
   * count), read at each scrape.
   *
   * @default {() => 0}
   */
  logLinesDropped?: () => number;
  /**
   * When the process started, in seconds since the Unix epoch.
   *
   * @default {performance.timeOrigin / 1000}
   */
  startTime?: number;
  /**
   * Report `process_resident_memory_bytes` (`Deno.memoryUsage().rss`, read
   * at each scrape).
   *
   * @default {true}
   */
  memory?: boolean;
}

/**
 * Declares `echo_log_lines_dropped_total`, `echo_build_info`,
 * `process_start_time_seconds` and `process_resident_memory_bytes`, and
 * reads the ones that change at each scrape.
 *
 * @param registry Where to declare them.
 * @param options The version and the program's own figures.
 */
export function declareProcessMetrics(
  registry: Registry,
  options: ProcessMetricsOptions,
): void {
  const {
    version,
    logLinesDropped,
    startTime = performance.timeOrigin / 1000,
    memory = true,
  } = options;
  const logDrops = registry.counter({
    name: "echo_log_lines_dropped_total",
    help: "Log lines dropped because the log could not keep up.",
  }).series({});
  if (logLinesDropped !== undefined) {
    registry.onCollect(() => logDrops.value = logLinesDropped());
  }
  registry.gauge({
    name: "echo_build_info",
    help: "Always 1: the version of echo-server running.",
    labelNames: ["version"],
  }).series({ version }).value = 1;
  registry.gauge({
    name: "process_start_time_seconds",
    help: "When the process started, in seconds since the Unix epoch.",
  }).series({}).value = startTime;
  if (memory) {
    const rss = registry.gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes.",
    }).series({});
    registry.onCollect(() => rss.value = Deno.memoryUsage().rss);
  }
}
