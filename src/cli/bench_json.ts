// Copyright the deno-echo authors. MIT license.

// The `echo-client bench --json` object: made from a result, and read back
// from a saved file for `echo-client bench report`.

import { formatAddress } from "../net/address.ts";
import {
  type BenchErrors,
  type BenchResult,
  type BenchTransport,
  errorCount,
} from "../bench/bench.ts";

/** One interval of `series.points`: latencies in microseconds. */
export interface BenchJsonPoint {
  /** When it starts, in ms since the measurement began. */
  atMs: number;
  /** Its length in ms (the last one may be shorter). */
  ms: number;
  roundTrips: number;
  bytes: number;
  p50Us: number | null;
  p99Us: number | null;
  maxUs: number | null;
  errors: number;
  /** Connections (UDP: sockets) open at its end. */
  open: number;
}

/** The latency percentiles, in microseconds (`null` with no round trips). */
export interface BenchJsonLatency {
  min: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/** The `--json` object, field by field, in the order printed. */
export interface BenchJson {
  target: string;
  connections: number;
  size: number;
  pipeline: number;
  rate: number;
  warmupMs: number;
  elapsedMs: number;
  sent: number;
  roundTrips: number;
  roundTripsPerSecond: number;
  bytesSent: number;
  bytesReceived: number;
  sentMBps: number;
  receivedMBps: number;
  latencyUs: BenchJsonLatency;
  fairness: number;
  minShare: number;
  errors: { total: number } & BenchErrors;
  firstError: string | null;
  perConnection: number[];
  transport: BenchTransport;
  /** When the measurement began (ISO 8601, UTC). */
  startedAt: string;
  /** The latency histogram: `[low, high, count]` of each non-empty bucket. */
  latencyBucketsNs: [number, number, number][];
  series: { intervalMs: number; truncated: boolean; points: BenchJsonPoint[] };
}

/** Where the run went, as people write it: `tls://…`, `unix:…`, `HOST:PORT`. */
export function describeTarget(result: BenchResult): string {
  const { address } = result;
  if (address.transport === "unix") return `unix:${address.path}`;
  const hostPort = formatAddress(address);
  return result.transport === "tcp"
    ? hostPort
    : `${result.transport}://${hostPort}`;
}

/** The `--json` object: plain numbers, latencies in microseconds. */
export function benchJson(result: BenchResult): BenchJson {
  const { latency, errors, series } = result;
  const seconds = result.elapsed / 1000;
  return {
    target: describeTarget(result),
    connections: result.connections,
    size: result.size,
    pipeline: result.pipeline,
    rate: result.rate,
    warmupMs: result.warmup,
    elapsedMs: round(result.elapsed, 3),
    sent: result.sent,
    roundTrips: result.roundTrips,
    roundTripsPerSecond: round(result.roundTripsPerSecond, 1),
    bytesSent: result.bytesSent,
    bytesReceived: result.bytesReceived,
    sentMBps: seconds > 0 ? round(result.bytesSent / 1e6 / seconds, 3) : 0,
    receivedMBps: seconds > 0
      ? round(result.bytesReceived / 1e6 / seconds, 3)
      : 0,
    latencyUs: {
      min: us(latency.min),
      mean: us(latency.mean),
      p50: us(latency.percentile(50)),
      p90: us(latency.percentile(90)),
      p99: us(latency.percentile(99)),
      p999: us(latency.percentile(99.9)),
      max: us(latency.max),
    },
    fairness: round(result.fairness, 4),
    minShare: round(result.minShare, 4),
    errors: { total: errorCount(errors), ...errors },
    firstError: result.firstError,
    perConnection: result.perConnection,
    transport: result.transport,
    startedAt: new Date(result.startedAt).toISOString(),
    latencyBucketsNs: [...latency.buckets()],
    series: {
      intervalMs: series.interval,
      truncated: series.truncated,
      points: series.points.map((point) => ({
        atMs: point.start,
        ms: round(point.length, 3),
        roundTrips: point.roundTrips,
        bytes: point.bytes,
        p50Us: us(point.p50),
        p99Us: us(point.p99),
        maxUs: us(point.max),
        errors: point.errors,
        open: point.open,
      })),
    },
  };
}

function us(ns: number): number | null {
  return Number.isNaN(ns) ? null : round(ns / 1000, 2);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

const TRANSPORTS: readonly string[] = ["tcp", "tls", "unix", "udp"];
const LATENCY_KEYS = ["min", "mean", "p50", "p90", "p99", "p999", "max"];
const ERROR_KEYS = [
  "total",
  "mismatches",
  "closedEarly",
  "resets",
  "timeouts",
  "overruns",
  "other",
  "lost",
];
const RUN_KEYS = [
  "connections",
  "size",
  "pipeline",
  "rate",
  "warmupMs",
  "elapsedMs",
  "roundTrips",
  "roundTripsPerSecond",
  "receivedMBps",
  "fairness",
  "minShare",
];
const POINT_KEYS = ["atMs", "ms", "roundTrips", "bytes", "errors", "open"];
const POINT_LATENCY_KEYS = ["p50Us", "p99Us", "maxUs"];

/**
 * Reads a saved `--json` run back, checking every field a report draws.
 * Runs saved before the series existed read with an empty series and
 * histogram (their charts then say so).
 *
 * @param text The file's text.
 * @param name The file's name, for messages.
 * @returns The run.
 * @throws {TypeError} If the text is not a saved run.
 */
export function parseBenchJson(text: string, name: string): BenchJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TypeError(
      `Invalid run "${name}": not JSON (${(error as Error).message})`,
    );
  }
  const check = new Checker(name);
  const run = check.object(value, "the top level");
  if (typeof run.target !== "string") check.bad("target", "a string");
  check.numbers(run, RUN_KEYS, "");
  check.numbers(
    check.object(run.latencyUs, "latencyUs"),
    LATENCY_KEYS,
    "latencyUs.",
    true,
  );
  const errors = check.object(run.errors, "errors");
  errors.lost ??= 0;
  check.numbers(errors, ERROR_KEYS, "errors.");
  if (run.firstError !== null && typeof run.firstError !== "string") {
    check.bad("firstError", "a string or null");
  }
  check.numberList(run.perConnection, "perConnection");
  run.transport ??= "tcp";
  if (!TRANSPORTS.includes(run.transport as string)) {
    check.bad("transport", '"tcp", "tls", "unix" or "udp"');
  }
  run.startedAt ??= "";
  if (typeof run.startedAt !== "string") check.bad("startedAt", "a string");
  checkHistory(run, check);
  return run as unknown as BenchJson;
}

/** The histogram and the series, empty in runs saved before they existed. */
function checkHistory(run: Record<string, unknown>, check: Checker): void {
  run.latencyBucketsNs ??= [];
  check.list(run.latencyBucketsNs, "latencyBucketsNs").forEach((bucket, i) => {
    const at = `latencyBucketsNs[${i}]`;
    if (check.numberList(bucket, at).length !== 3) {
      check.bad(at, "[low, high, count]");
    }
  });
  run.series ??= { intervalMs: 1000, truncated: false, points: [] };
  const series = check.object(run.series, "series");
  check.numbers(series, ["intervalMs"], "series.");
  if (typeof series.truncated !== "boolean") {
    check.bad("series.truncated", "true or false");
  }
  check.list(series.points, "series.points").forEach((point, i) => {
    const at = `series.points[${i}].`;
    const p = check.object(point, at.slice(0, -1));
    check.numbers(p, POINT_KEYS, at);
    check.numbers(p, POINT_LATENCY_KEYS, at, true);
  });
}

/** Checks the parts of one file, and says where it went wrong. */
class Checker {
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  bad(where: string, what: string): never {
    throw new TypeError(
      `Invalid run "${this.#name}": expected ${what} at "${where}"`,
    );
  }

  object(value: unknown, where: string): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return this.bad(where, "an object");
    }
    return value as Record<string, unknown>;
  }

  list(value: unknown, where: string): unknown[] {
    return Array.isArray(value) ? value : this.bad(where, "a list");
  }

  numberList(value: unknown, where: string): number[] {
    const items = this.list(value, where);
    if (!items.every(isNumber)) this.bad(where, "a list of numbers");
    return items as number[];
  }

  /** Every key is a finite number (or `null`, when `nullable`). */
  numbers(
    o: Record<string, unknown>,
    keys: readonly string[],
    at: string,
    nullable = false,
  ): void {
    for (const key of keys) {
      const v = o[key];
      if (!isNumber(v) && !(nullable && v === null)) {
        this.bad(`${at}${key}`, "a number");
      }
    }
  }
}

function isNumber(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value);
}
