// Copyright the deno-echo authors. MIT license.

// The report's charts over latency and time, as SVG text: the latency
// distribution, and round trips and latency second by second. Every chart
// overlays the runs it is given, one colour a run. (The fairness chart is
// in bench_fairness.ts.)

import type { BenchJson, BenchJsonPoint } from "./bench_json.ts";
import { formatLatency } from "./bench_report.ts";
import {
  axes,
  compactNumber,
  coord as n,
  escapeHtml,
  legend,
  legendRoom,
  linearScale,
  linearTicks,
  logScale,
  logTicks,
  plotArea,
  type PlotBox,
  runClass as colour,
  svg,
} from "./bench_svg.ts";

/** One run as the charts draw it. */
export interface ChartRun {
  /** What the legend calls it. */
  label: string;
  run: BenchJson;
}

const latencyLabel = (ns: number): string => formatLatency(ns, true);

/** A note in the middle of a chart that has nothing to draw. */
export function empty(
  name: string,
  box: PlotBox,
  title: string,
  why: string,
): string {
  return svg(
    name,
    box,
    title,
    `<text class="note" x="${box.width / 2}" y="${
      box.height / 2
    }" text-anchor="middle">${escapeHtml(why)}</text>`,
  );
}

/** Histogram bins of the distribution chart, per decade. */
const BINS_PER_DECADE = 20;
const PERCENTILES = [
  ["p50", "p50"],
  ["p90", "p90"],
  ["p99", "p99"],
  ["p999", "p99.9"],
  ["max", "max"],
] as const;

/**
 * The latency distribution: the share of round trips in each bin of a log
 * scale (20 bins a decade), with p50, p90, p99, p99.9 and max marked.
 */
export function latencyChart(runs: readonly ChartRun[]): string {
  const name = "latency";
  const title = "Latency distribution";
  const room = legendRoom(runs.length);
  const box = {
    width: 960,
    height: 380 + room,
    left: 64,
    right: 16,
    top: 96 + room,
    bottom: 46,
  };
  const withData = runs.filter(({ run }) => run.latencyBucketsNs.length > 0);
  if (withData.length === 0) {
    return empty(name, box, title, "No latency histogram in these runs");
  }
  const binOf = (ns: number): number =>
    Math.floor(Math.log10(Math.max(ns, 1)) * BINS_PER_DECADE);
  const edge = (bin: number): number => 10 ** (bin / BINS_PER_DECADE);
  const shares = runs.map(({ run }) => {
    const bins = new Map<number, number>();
    let total = 0;
    for (const [low, high, count] of run.latencyBucketsNs) {
      const bin = binOf((low + high) / 2);
      bins.set(bin, (bins.get(bin) ?? 0) + count);
      total += count;
    }
    return { bins, total };
  });
  const allBins = shares.flatMap(({ bins }) => [...bins.keys()]);
  const markMax = Math.max(
    ...runs.map(({ run }) => (run.latencyUs.max ?? 0) * 1000),
  );
  const { ticks, domain } = logTicks(
    edge(Math.min(...allBins)),
    Math.max(edge(Math.max(...allBins) + 1), markMax),
    latencyLabel,
  );
  const { x0, x1, y0, y1 } = plotArea(box);
  const x = logScale(domain, [x0, x1]);
  const top = Math.max(
    ...shares.flatMap(({ bins, total }) =>
      [...bins.values()].map((c) => (100 * c) / total)
    ),
  );
  const yTicks = linearTicks(top, (v) => `${v}%`);
  const y = linearScale([0, yTicks.at(-1)!.value], [y0, y1]);
  let body = axes({
    box,
    x,
    y,
    xTicks: ticks,
    yTicks,
    xLabel: "round-trip time (log scale)",
    yLabel: "share of round trips (%)",
  });
  shares.forEach(({ bins, total }, i) => {
    if (total === 0) return;
    const keys = [...bins.keys()];
    const first = Math.min(...keys);
    const last = Math.max(...keys);
    let d = `M${n(x(edge(first)))} ${n(y0)}`;
    for (let bin = first; bin <= last; bin++) {
      const share = (100 * (bins.get(bin) ?? 0)) / total;
      d += `V${n(y(share))}H${n(x(edge(bin + 1)))}`;
    }
    d += `V${n(y0)}`;
    if (runs.length === 1) {
      body += `<path class="area ${colour(i)}" d="${d}Z"/>`;
    }
    body += `<path class="data line ${colour(i)}" d="${d}"/>`;
  });
  body += percentileMarks(runs, x, [x0, x1], [y0, y1]);
  body += legend(box, runs.map((r) => r.label));
  return svg(name, box, title, body);
}

/**
 * The percentile lines of each run, labelled in rows above the plot (one
 * row a percentile); a label that would overlap another in its row is left
 * out (the line stays, and the table has the value).
 */
function percentileMarks(
  runs: readonly ChartRun[],
  x: (v: number) => number,
  [, x1]: readonly [number, number],
  [y0, y1]: readonly [number, number],
): string {
  const taken: [number, number][][] = PERCENTILES.map(() => []);
  let marks = "";
  runs.forEach(({ run }, i) => {
    PERCENTILES.forEach(([key, label], row) => {
      const us = run.latencyUs[key];
      if (us === null) return;
      const at = x(us * 1000);
      const top = y1 - 80 + row * 16;
      marks += `<path class="mark ${colour(i)}" d="M${n(at)} ${n(y0)}V${
        n(top)
      }"/>`;
      const text = `${label} ${formatLatency(us * 1000)}`;
      const width = text.length * 6.6;
      // Right of the line, or left of it where the plot ends.
      const left = at + 3 + width > x1;
      const span: [number, number] = left
        ? [at - 3 - width, at - 3]
        : [at + 3, at + 3 + width];
      if (taken[row]!.some(([a, b]) => span[0] < b + 4 && a < span[1] + 4)) {
        return;
      }
      taken[row]!.push(span);
      marks += `<text class="mark-label ${colour(i)}" x="${
        n(left ? span[1] : span[0])
      }" y="${n(top)}" dy="0.8em"${left ? ' text-anchor="end"' : ""}>${
        escapeHtml(text)
      }</text>`;
    });
  });
  return marks;
}

/** Seconds of the run for the time axis: `0 s`, `2.5 s`. */
const secondsLabel = (ms: number): string =>
  `${Number((ms / 1000).toFixed(2))} s`;

/** The time axis shared by the charts over the run. */
function timeAxis(runs: readonly ChartRun[], range: [number, number]): {
  x: (ms: number) => number;
  ticks: ReturnType<typeof linearTicks>;
} {
  const end = Math.max(
    ...runs.flatMap(({ run }) =>
      [...rated(run), ...run.series.points.filter((p) => p.errors > 0)]
        .map((p) => p.atMs + p.ms)
    ),
  );
  const ticks = linearTicks(end, secondsLabel, 8);
  return { x: linearScale([0, ticks.at(-1)!.value], range), ticks };
}

/** The box of a chart over the run, with room for its legend. */
function timeBox(): PlotBox {
  return { width: 960, height: 322, left: 64, right: 16, top: 38, bottom: 46 };
}

/**
 * The intervals worth drawing over time: a short last interval (the drain,
 * usually a few milliseconds) is left out unless it is all there is. Its
 * rate would show as a spike, and its latencies are those of the messages
 * in flight when sending stopped, which the longest are likeliest to be (a
 * message that takes 100 times longer is 100 times likelier to be the one
 * under way at a given instant).
 */
function rated(run: BenchJson): BenchJsonPoint[] {
  const { points, intervalMs } = run.series;
  const full = points.filter((p) => p.ms >= intervalMs / 2);
  return full.length > 0 ? full : points;
}

/** Round trips a second over the run; seconds with errors marked. */
export function throughputChart(runs: readonly ChartRun[]): string {
  const name = "throughput";
  const title = "Round trips per second over the run";
  const box = timeBox();
  if (runs.every(({ run }) => run.series.points.length === 0)) {
    return empty(name, box, title, "No series in these runs");
  }
  const { x0, x1, y0, y1 } = plotArea(box);
  const { x, ticks } = timeAxis(runs, [x0, x1]);
  const rate = (p: BenchJsonPoint): number =>
    p.ms > 0 ? p.roundTrips / (p.ms / 1000) : 0;
  const top = Math.max(...runs.flatMap(({ run }) => rated(run).map(rate)));
  const yTicks = linearTicks(top, compactNumber);
  const y = linearScale([0, yTicks.at(-1)!.value], [y0, y1]);
  let body = axes({
    box,
    x,
    y,
    xTicks: ticks,
    yTicks,
    xLabel: "time since the measurement began (s)",
    yLabel: "round trips / s",
  });
  runs.forEach(({ run }, i) => {
    const points = rated(run);
    if (points.length === 0) return;
    let d = "";
    for (const p of points) {
      d += `${d === "" ? "M" : "L"}${n(x(p.atMs))} ${n(y(rate(p)))}H${
        n(x(p.atMs + p.ms))
      }`;
    }
    body += `<path class="data line ${colour(i)}" d="${d}"/>`;
    const errors = run.series.points.filter((p) => p.errors > 0);
    if (errors.length > 0) {
      body += `<path class="error-mark ${colour(i)}" d="${
        errors.map((p) => `M${n(x(p.atMs + p.ms / 2))} ${n(y0 - 2)}l-5 -9h10z`)
          .join("")
      }"><title>seconds with errors</title></path>`;
    }
  });
  body += legend(box, runs.map((r) => r.label));
  return svg(name, box, title, body);
}

/**
 * Latency second by second on a log scale: p99 of each run; with one run,
 * also p50 (dashed) and max (dotted), so a pause shows against the median.
 */
export function latencyOverTimeChart(runs: readonly ChartRun[]): string {
  const name = "p99";
  const title = "p99 latency per second over the run";
  const box = timeBox();
  const keys = runs.length === 1
    ? (["p50Us", "p99Us", "maxUs"] as const)
    : (["p99Us"] as const);
  const values = runs.flatMap(({ run }) =>
    rated(run).flatMap((p) => keys.map((k) => p[k]))
  ).filter((v): v is number => v !== null && v > 0);
  if (values.length === 0) {
    return empty(name, box, title, "No latencies over time in these runs");
  }
  const { x0, x1, y0, y1 } = plotArea(box);
  const { x, ticks } = timeAxis(runs, [x0, x1]);
  // Some room below and above the lines, so that none sits on an edge.
  const { ticks: yTicks, domain } = logTicks(
    (Math.min(...values) * 1000) / 1.5,
    Math.max(...values) * 1000 * 1.2,
    latencyLabel,
  );
  const y = logScale(domain, [y0, y1]);
  let body = axes({
    box,
    x,
    y,
    xTicks: ticks,
    yTicks,
    xLabel: "time since the measurement began (s)",
    yLabel: "latency (log scale)",
  });
  runs.forEach(({ run }, i) => {
    for (const key of keys) {
      let d = "";
      let pen = "M";
      for (const p of rated(run)) {
        const us = p[key];
        if (us === null || us <= 0) {
          pen = "M"; // A second without round trips breaks the line.
          continue;
        }
        d += `${pen}${n(x(p.atMs))} ${n(y(us * 1000))}H${n(x(p.atMs + p.ms))}`;
        pen = "L";
      }
      const style = key === "p99Us" ? "data line" : `line ${key.slice(0, -2)}`;
      if (d !== "") body += `<path class="${style} ${colour(i)}" d="${d}"/>`;
    }
  });
  body += runs.length === 1
    ? legendKeys(box, [["p99", "line"], ["p50", "line p50"], [
      "max",
      "line max",
    ]])
    : legend(box, runs.map((r) => r.label));
  return svg(name, box, title, body);
}

/** A legend of line styles (one run, several lines), above the plot. */
function legendKeys(box: PlotBox, keys: readonly [string, string][]): string {
  return keys.map(([label, style], i) => {
    const x = box.left + i * 90;
    return `<g class="legend"><path class="${style} c0" d="M${x} 12h24"/><text x="${
      x + 30
    }" y="12" dy="0.32em">${label}</text></g>`;
  }).join("");
}
