// Copyright the deno-echo authors. MIT license.

// Made-up runs for the report's tests: a BenchResult with a seeded latency
// distribution and series, turned into the --json object.

import { Histogram } from "../../client.ts";
import type { BenchResult } from "../../src/bench/result.ts";
import { type BenchJson, benchJson } from "../../src/cli/bench_json.ts";
import { mulberry32 } from "../_helpers/util.ts";
import { NO_ERRORS } from "./_scripted_server.ts";

/** A run of `seconds` seconds on `connections` connections. */
export function madeUpRun(
  options: {
    seed?: number;
    seconds?: number;
    connections?: number;
    transport?: BenchResult["transport"];
    medianUs?: number;
    stallAt?: number;
  } = {},
): BenchJson {
  const {
    seed = 1,
    seconds = 5,
    connections = 8,
    transport = "tcp",
    medianUs = 60,
    stallAt = -1,
  } = options;
  const rand = mulberry32(seed);
  const latency = new Histogram();
  const points: BenchResult["series"]["points"] = [];
  for (let s = 0; s < seconds; s++) {
    const window = new Histogram();
    const count = s === stallAt ? 0 : 20_000 + Math.floor(rand() * 5000);
    for (let i = 0; i < count; i++) {
      // Log-normal-ish around the median, with a long tail.
      const ns = medianUs * 1000 *
        Math.exp((rand() + rand() + rand() - 1.5) * 1.2) *
        (rand() < 0.001 ? 50 : 1);
      window.record(ns);
      latency.record(ns);
    }
    points.push({
      start: s * 1000,
      length: 1000,
      roundTrips: count,
      bytes: count * 64,
      p50: window.percentile(50),
      p99: window.percentile(99),
      max: window.max,
      errors: s === stallAt ? 1 : 0,
      open: connections,
    });
  }
  const roundTrips = latency.count;
  const perConnection = Array.from(
    { length: connections },
    (_, i) => Math.round((roundTrips / connections) * (1 - i * 0.03)),
  );
  const result: BenchResult = {
    transport,
    address: transport === "unix"
      ? { transport: "unix", path: "/tmp/echo.sock" }
      : {
        transport: transport === "udp" ? "udp" : "tcp",
        hostname: "127.0.0.1",
        port: 2000,
      },
    startedAt: Date.UTC(2026, 11, 2, 10, 0, 0),
    connections,
    size: 64,
    pipeline: 1,
    rate: 0,
    warmup: 1000,
    elapsed: seconds * 1000,
    sent: roundTrips,
    roundTrips,
    roundTripsPerSecond: roundTrips / seconds,
    bytesSent: roundTrips * 64,
    bytesReceived: roundTrips * 64,
    latency,
    perConnection,
    fairness: 0.99,
    minShare: perConnection.at(-1)! / (roundTrips / connections),
    errors: { ...NO_ERRORS, other: stallAt >= 0 ? 1 : 0 },
    firstError: stallAt >= 0 ? "connection 3: reset" : null,
    series: { interval: 1000, points, truncated: false },
  };
  return benchJson(result);
}
