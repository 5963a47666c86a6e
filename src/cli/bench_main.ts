// Copyright the deno-echo authors. MIT license.

// `echo-client bench`: its command line, live progress line and report (not
// part of the library; client.ts maps the outcome to exit codes).

import { parseArgs } from "node:util";
import { formatAddress, parseHostPort, parsePort } from "../net/address.ts";
import {
  type BenchErrors,
  type BenchProgress,
  type BenchResult,
  errorCount,
  MAX_IN_FLIGHT,
  runBench,
} from "../bench/bench.ts";
import {
  errorText,
  parseCount,
  parseDuration,
  UsageError,
  usageErrorFrom,
  writeText,
} from "./cli.ts";
import type { Histogram } from "../bench/histogram.ts";
import type { IPFamily } from "../net/resolve.ts";
import { DEFAULT_PORT } from "../net/defaults.ts";

const DEFAULT_CONNECTIONS = 10;
const DEFAULT_SIZE = 64;
const DEFAULT_DURATION = 5000;
const DEFAULT_WARMUP = 1000;
const DEFAULT_MAX_IN_FLIGHT = 1024;
const DEFAULT_CONNECT_TIMEOUT = 10_000;
const DEFAULT_READ_TIMEOUT = 10_000;

/** `echo-client bench --help`. */
export const BENCH_USAGE =
  `Usage: echo-client bench [OPTIONS] [HOST[:PORT] | HOST PORT]

Loads a TCP echo server from many connections and measures it: round trips
a second, bytes a second each way, latency percentiles, and how evenly the
connections were served. Every echoed byte is checked. HOST and PORT as for
echo-client (default: localhost, port ${DEFAULT_PORT}).

Options:
  -c, --connections N   Connections to open (default: ${DEFAULT_CONNECTIONS})
  -s, --size SIZE       Bytes per message: 64, 1K, 64K, 1M (default: ${DEFAULT_SIZE})
  -d, --duration TIME   Measure for TIME: 500ms, 5s, 2m, or seconds (default: ${
    DEFAULT_DURATION / 1000
  }s)
  -n, --messages N      Measure N round trips in all instead, then stop
  -p, --pipeline N      Messages in flight on each connection (default: 1);
                        with --rate, the most allowed in flight (default: ${DEFAULT_MAX_IN_FLIGHT})
  -r, --rate N          Open loop: send N messages a second in all, each on
                        time whether or not earlier echoes are back; latency
                        counts from when each message was due
      --warmup TIME     Load the server for TIME before measuring (default:
                        ${
    DEFAULT_WARMUP / 1000
  }s with --duration, 0 with --messages)
      --json            Print one JSON object instead of the report
  -4                    Use IPv4 addresses only
  -6                    Use IPv6 addresses only
  -t, --timeout TIME    Give up connecting after TIME (default: ${
    DEFAULT_CONNECT_TIMEOUT / 1000
  }s)
      --read-timeout TIME
                        Give up on a connection when echoes are due and none
                        has come for TIME (0 = wait forever; default: ${
    DEFAULT_READ_TIMEOUT / 1000
  }s)
  -h, --help            Show this help and exit

A live progress line goes to stderr once a second when it is a terminal.

Exit codes: 0 every echo correct, 1 unexpected failure, 2 bad command line,
3 refused, 4 unknown host, 5 unreachable, 6 timed out (connecting, or
echoes stopped for --read-timeout), 7 a connection was reset, 8 the server
closed a connection early, 9 an echoed byte differed from the byte sent,
10 --rate: a connection had --pipeline messages unanswered when one more
was due (the server fell behind the rate).
`;

/** A parsed `echo-client bench` command line. */
export interface BenchArgs {
  hostname: string;
  port: number;
  family: IPFamily | undefined;
  timeout: number;
  readTimeout: number;
  connections: number;
  size: number;
  duration: number;
  messages: number;
  pipeline: number;
  rate: number;
  warmup: number;
  json: boolean;
}

/**
 * Parses the arguments after `bench`.
 *
 * @throws {UsageError} For anything unknown, missing or out of range.
 */
export function parseBenchArgs(args: string[]): BenchArgs | "help" {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        connections: { type: "string", short: "c" },
        size: { type: "string", short: "s" },
        duration: { type: "string", short: "d" },
        messages: { type: "string", short: "n" },
        pipeline: { type: "string", short: "p" },
        rate: { type: "string", short: "r" },
        warmup: { type: "string" },
        json: { type: "boolean" },
        "4": { type: "boolean" },
        "6": { type: "boolean" },
        timeout: { type: "string", short: "t" },
        "read-timeout": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    throw usageErrorFrom(error);
  }
  if (values.help) return "help";
  if (positionals.length > 2) {
    throw new UsageError(
      `Too many arguments: expected HOST[:PORT] or HOST PORT, got ${positionals.length}`,
    );
  }
  if (values["4"] && values["6"]) {
    throw new UsageError("Use -4 or -6, not both");
  }
  if (values.duration !== undefined && values.messages !== undefined) {
    throw new UsageError("Use --duration or --messages, not both");
  }
  const positive = (
    text: string | undefined,
    option: string,
    fallback: number,
    sizes = false,
  ): number => {
    if (text === undefined) return fallback;
    const value = parseCount(text, option, sizes);
    if (value < 1) {
      throw new UsageError(`Invalid ${option} "${text}": expected 1 or more`);
    }
    return value;
  };
  const duration = values.duration === undefined
    ? DEFAULT_DURATION
    : parseDuration(values.duration, "--duration");
  if (duration <= 0) {
    throw new UsageError(
      `Invalid --duration "${values.duration}": expected more than 0`,
    );
  }
  const messages = positive(values.messages, "--messages", 0);
  const rate = positive(values.rate, "--rate", 0);
  const connections = positive(
    values.connections,
    "--connections",
    DEFAULT_CONNECTIONS,
  );
  if (messages > 0 && messages < connections) {
    throw new UsageError(
      `Invalid --messages "${values.messages}": fewer than the ${connections} connections`,
    );
  }
  const pipeline = positive(
    values.pipeline,
    "--pipeline",
    rate > 0 ? DEFAULT_MAX_IN_FLIGHT : 1,
  );
  if (pipeline > MAX_IN_FLIGHT) {
    throw new UsageError(
      `Invalid --pipeline "${values.pipeline}": at most ${MAX_IN_FLIGHT}`,
    );
  }
  let target;
  try {
    target = parseHostPort(positionals[0] ?? "localhost");
    const second = positionals[1];
    if (second !== undefined && target.port !== undefined) {
      throw new UsageError(
        "Give the port once: as HOST:PORT or as a second argument",
      );
    }
    if (second !== undefined) target.port = parsePort(second);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(errorText(error));
  }
  const port = target.port ?? DEFAULT_PORT;
  if (port === 0) throw new UsageError("Port 0 cannot be dialed");
  return {
    hostname: target.hostname,
    port,
    family: values["4"] ? 4 : values["6"] ? 6 : undefined,
    timeout: values.timeout === undefined
      ? DEFAULT_CONNECT_TIMEOUT
      : parseDuration(values.timeout, "--timeout"),
    readTimeout: values["read-timeout"] === undefined
      ? DEFAULT_READ_TIMEOUT
      : parseDuration(values["read-timeout"], "--read-timeout"),
    connections,
    size: positive(values.size, "--size", DEFAULT_SIZE, true),
    duration,
    messages,
    pipeline,
    rate,
    warmup: values.warmup === undefined
      ? (messages > 0 ? 0 : DEFAULT_WARMUP)
      : parseDuration(values.warmup, "--warmup"),
    json: values.json ?? false,
  };
}

/** The kinds of failure, the most telling first (for the exit code). */
const SEVERITY: readonly (keyof BenchErrors)[] = [
  "mismatches",
  "closedEarly",
  "resets",
  "timeouts",
  "overruns",
  "other",
];

/** The most telling kind of failure in a run, if any. */
export function worstError(
  errors: BenchErrors,
): keyof BenchErrors | undefined {
  return SEVERITY.find((kind) => errors[kind] > 0);
}

/**
 * Runs the benchmark a command line asks for, with a progress line on stderr
 * when it is a terminal, and prints the report (or JSON) on stdout.
 *
 * @returns The result, for the exit code.
 */
export async function runBenchCommand(args: BenchArgs): Promise<BenchResult> {
  const live = Deno.stderr.isTerminal();
  const target = formatAddress(args);
  const total = args.messages > 0 ? "" : ` / ${formatSeconds(args.duration)}`;
  const onProgress = (p: BenchProgress): void => {
    const when = p.phase === "warmup"
      ? `warming up (${formatSeconds(-p.elapsed)} left)`
      : p.phase === "drain"
      ? "waiting for the last echoes"
      : `${formatSeconds(p.elapsed)}${total}`;
    writeText(
      Deno.stderr,
      `\r${target}: ${when}, ${
        formatNumber(p.roundTripsPerSecond)
      } round trips/s, p99 ${formatLatency(p.p99)}, ${p.errors} error(s)\x1b[K`,
    );
  };
  let result: BenchResult;
  try {
    result = await runBench({
      hostname: args.hostname,
      port: args.port,
      ...(args.family === undefined ? {} : { family: args.family }),
      connectTimeout: args.timeout,
      timeout: args.readTimeout,
      connections: args.connections,
      size: args.size,
      duration: args.duration,
      messages: args.messages,
      rate: args.rate,
      ...(args.rate > 0
        ? { maxInFlight: args.pipeline }
        : { pipeline: args.pipeline }),
      warmup: args.warmup,
      ...(live ? { onProgress } : {}),
    });
  } finally {
    if (live) writeText(Deno.stderr, "\r\x1b[K");
  }
  writeText(
    Deno.stdout,
    args.json
      ? JSON.stringify(benchJson(result)) + "\n"
      : formatReport(result) + "\n" + formatHistogram(result.latency),
  );
  return result;
}

/** The `--json` object: plain numbers, latencies in microseconds. */
export function benchJson(result: BenchResult): Record<string, unknown> {
  const us = (ns: number): number | null =>
    Number.isNaN(ns) ? null : round(ns / 1000, 2);
  const { latency, errors } = result;
  const seconds = result.elapsed / 1000;
  return {
    target: formatAddress(result.address),
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
  };
}

const ERROR_NAMES: Record<keyof BenchErrors, string> = {
  mismatches: "echo differed",
  closedEarly: "closed early",
  resets: "reset",
  timeouts: "timed out",
  overruns: "overruns",
  other: "other",
};

/** The report table. */
export function formatReport(result: BenchResult): string {
  const { latency, errors } = result;
  const seconds = result.elapsed / 1000;
  const perSecond = (bytes: number): string =>
    `${formatMB(bytes)} (${formatMB(seconds > 0 ? bytes / seconds : 0)}/s)`;
  const load = result.rate > 0
    ? `${
      formatNumber(result.rate)
    } messages/s (open loop, at most ${result.pipeline} in flight each)`
    : `${result.pipeline} in flight each (closed loop)`;
  const total = errorCount(errors);
  const kinds = (Object.keys(ERROR_NAMES) as (keyof BenchErrors)[])
    .filter((kind) => errors[kind] > 0)
    .map((kind) => `${ERROR_NAMES[kind]} ${errors[kind]}`);
  const rows: [string, string][] = [
    ["Target", formatAddress(result.address)],
    [
      "Load",
      `${plural(result.connections, "connection")}, ${
        formatBytes(result.size)
      } messages, ${load}`,
    ],
    [
      "Measured",
      `${formatSeconds(result.elapsed)}${
        result.warmup > 0
          ? ` after ${formatSeconds(result.warmup)} warm-up`
          : ""
      }`,
    ],
    [
      "Round trips",
      `${formatNumber(result.roundTrips)} (${
        formatNumber(result.roundTripsPerSecond)
      }/s)`,
    ],
    ["Sent", perSecond(result.bytesSent)],
    ["Received", perSecond(result.bytesReceived)],
    [
      "Latency",
      latency.count === 0 ? "-" : [
        `p50 ${formatLatency(latency.percentile(50))}`,
        `p90 ${formatLatency(latency.percentile(90))}`,
        `p99 ${formatLatency(latency.percentile(99))}`,
        `p99.9 ${formatLatency(latency.percentile(99.9))}`,
        `max ${formatLatency(latency.max)}`,
      ].join("  "),
    ],
    [
      "Fairness",
      `${result.fairness.toFixed(3)} (Jain's index); least-served connection: ${
        Math.round(result.minShare * 100)
      }% of the mean`,
    ],
    [
      "Errors",
      total === 0
        ? "0"
        : `${total} (${kinds.join(", ")}); first: ${result.firstError ?? "-"}`,
    ],
  ];
  return rows.map(([name, value]) => `${name.padEnd(13)}${value}\n`).join("");
}

/** Bucket edges of the printed histogram: 1, 1.5, 2, 3, 5, 7 per decade. */
const STEPS = [1, 1.5, 2, 3, 5, 7];
const BAR_WIDTH = 40;

/**
 * The latency histogram as text: log-scale rows (1, 1.5, 2, 3, 5, 7 per
 * decade), a bar each, counts and the cumulative share.
 */
export function formatHistogram(histogram: Histogram): string {
  if (histogram.count === 0) return "";
  const edges: number[] = [];
  for (let decade = 1; decade <= 1e12; decade *= 10) {
    for (const step of STEPS) edges.push(step * decade);
  }
  const rowOf = (ns: number): number => {
    let row = 0;
    while (row < edges.length - 1 && edges[row + 1]! <= ns) row++;
    return row;
  };
  const first = rowOf(histogram.min);
  const last = rowOf(histogram.max);
  const counts = new Array<number>(last - first + 1).fill(0);
  for (const [low, high, count] of histogram.buckets()) {
    const row = Math.min(
      last,
      Math.max(first, rowOf((low + high - 1) / 2)),
    );
    counts[row - first]! += count;
  }
  const most = Math.max(...counts);
  const names = edges.slice(first, last + 2).map((edge) =>
    formatLatency(edge, true)
  );
  const nameWidth = Math.max(...names.map((name) => name.length));
  const labels = counts.map((_, i) =>
    `${names[i]!.padStart(nameWidth)} - ${names[i + 1]!.padStart(nameWidth)}`
  );
  const countWidth = Math.max(...counts.map((c) => formatNumber(c).length));
  let seen = 0;
  let text = "Latency histogram (log scale)\n";
  counts.forEach((count, i) => {
    seen += count;
    const bar = "#".repeat(Math.round((count / most) * BAR_WIDTH)) ||
      (count > 0 ? "." : "");
    text += `${labels[i]} |${bar.padEnd(BAR_WIDTH)}| ${
      formatNumber(count).padStart(countWidth)
    }  ${((seen / histogram.count) * 100).toFixed(2).padStart(6)}%\n`;
  });
  return text;
}

/**
 * A duration in nanoseconds for people: `850 ns`, `92.4 µs`, `1.25 ms`,
 * `2.01 s`; `short` drops trailing zeros (for round bucket edges).
 */
export function formatLatency(ns: number, short = false): string {
  if (Number.isNaN(ns)) return "-";
  const [value, unit] = ns < 1e3
    ? [ns, "ns"]
    : ns < 1e6
    ? [ns / 1e3, "µs"]
    : ns < 1e9
    ? [ns / 1e6, "ms"]
    : [ns / 1e9, "s"];
  const text = value >= 100 ? value.toFixed(0) : value.toPrecision(3);
  return `${short ? String(Number(text)) : text} ${unit}`;
}

function plural(n: number, noun: string): string {
  return `${formatNumber(n)} ${noun}${n === 1 ? "" : "s"}`;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function formatNumber(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
}

function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
