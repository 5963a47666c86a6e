// Copyright the deno-echo authors. MIT license.

// The `echo-client bench` report: the table and the latency histogram (the
// `--json` object is in bench_json.ts, the HTML report in bench_html.ts).

import {
  type BenchErrors,
  type BenchResult,
  errorCount,
} from "../bench/bench.ts";
import type { Histogram } from "../bench/histogram.ts";
import { describeTarget } from "./bench_json.ts";

const ERROR_NAMES: Record<keyof BenchErrors, string> = {
  mismatches: "echo differed",
  closedEarly: "closed early",
  resets: "reset",
  timeouts: "timed out",
  overruns: "overruns",
  other: "other",
  lost: "datagrams lost",
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
    ["Target", describeTarget(result)],
    [
      "Load",
      `${
        plural(
          result.connections,
          result.transport === "udp" ? "socket" : "connection",
        )
      }, ${formatBytes(result.size)} messages, ${load}`,
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
    ...(result.transport === "udp"
      ? [["Lost", lostText(result)] as [string, string]]
      : []),
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
      `${result.fairness.toFixed(3)} (Jain's index); least-served ${
        result.transport === "udp" ? "socket" : "connection"
      }: ${Math.round(result.minShare * 100)}% of the mean`,
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

/** UDP: how many measured datagrams got no echo in time. */
function lostText(result: BenchResult): string {
  const { lost } = result.errors;
  const share = result.sent > 0 ? (lost / result.sent) * 100 : 0;
  return `${formatNumber(lost)} of ${formatNumber(result.sent)} datagrams (${
    share.toFixed(share > 0 && share < 0.1 ? 3 : 1)
  }%)`;
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

/** Milliseconds as seconds for people: `1.25 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A count for people: `12,345`. */
export function formatNumber(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Bytes as megabytes (10^6) for people: `17.0 MB`. */
export function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
}

/** A message size for people: `64 B`, `1 KiB`, `1 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
