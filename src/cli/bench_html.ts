// Copyright the deno-echo authors. MIT license.

// The HTML report of `echo-client bench --report` and `bench report`: one
// self-contained page (inline CSS, inline SVG, the runs' data inline as
// JSON; no script, no network), in light or dark as the browser prefers.

import type { BenchJson } from "./bench_json.ts";
import {
  type ChartRun,
  latencyChart,
  latencyOverTimeChart,
  throughputChart,
} from "./bench_charts.ts";
import { fairnessChart } from "./bench_fairness.ts";
import {
  formatBytes,
  formatLatency,
  formatNumber,
  formatSeconds,
} from "./bench_report.ts";
import { escapeHtml, PALETTE } from "./bench_svg.ts";
import { VERSION } from "./cli.ts";

/** Options of {@linkcode renderReport}. */
export interface ReportOptions {
  /** The page's title; by default made from the runs. */
  title?: string;
}

const STYLE = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328;
  --muted: #59636e; --grid: #e1e6eb; --axis: #8c959f; --panel: #f6f8fa;
  --c0: #0969da; --c1: #cf222e; --c2: #1a7f37; --c3: #8250df;
  --c4: #bc4c00; --c5: #1b7c83; --c6: #bf3989; --c7: #6e7781; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3;
  --muted: #9198a1; --grid: #262c36; --axis: #656c76; --panel: #151b23;
  --c0: #4493f8; --c1: #ff7b72; --c2: #3fb950; --c3: #bc8cff;
  --c4: #f0883e; --c5: #39c5cf; --c6: #f778ba; --c7: #9198a1; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1040px; padding: 24px 32px 48px;
  background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 16px; margin: 28px 0 4px; }
p { margin: 4px 0; }
.meta, .caption, footer { color: var(--muted); }
table { border-collapse: collapse; margin-top: 16px; width: 100%;
  font-variant-numeric: tabular-nums; font-size: 12.5px; }
th, td { padding: 4px 6px; text-align: right; white-space: nowrap;
  border-bottom: 1px solid var(--grid); }
td .target { display: block; color: var(--muted); font-size: 11.5px; }
th:first-child, td:first-child { text-align: left; white-space: normal;
  overflow-wrap: anywhere; min-width: 9em; }
.table { overflow-x: auto; }
thead th { color: var(--muted); font-weight: 600; }
.key { display: inline-block; width: 10px; height: 10px; margin-right: 6px;
  border-radius: 2px; vertical-align: baseline; }
.chart { display: block; width: 100%; height: auto; margin-top: 8px;
  background: var(--panel); border-radius: 6px; }
.chart text { fill: var(--fg); font-size: 12px; }
.chart .ticks text, .chart .note { fill: var(--muted); }
.chart .axis-title, .chart .panel-title { font-size: 12.5px; font-weight: 600; }
.grid { stroke: var(--grid); stroke-width: 1; fill: none; }
.axis { stroke: var(--axis); stroke-width: 1; fill: none; }
.line { fill: none; stroke-width: 2; stroke-linejoin: round; }
.line.p50 { stroke-width: 1.5; stroke-dasharray: 6 4; }
.line.max { stroke-width: 1.2; stroke-dasharray: 1.5 3; }
.area { stroke: none; fill-opacity: 0.18; }
.bar { stroke: none; fill-opacity: 0.85; }
.mark { fill: none; stroke-width: 1; stroke-dasharray: 3 3; }
.mean { fill: none; stroke: var(--fg); stroke-width: 1; stroke-dasharray: 5 4;
  opacity: 0.7; }
.error-mark { stroke: none; }
.mark-label { font-size: 11.5px; }
${
  Array.from({ length: PALETTE }, (_, i) =>
    `.c${i} { stroke: var(--c${i}); } .area.c${i}, .bar.c${i}, .swatch.c${i},` +
    ` .error-mark.c${i} { fill: var(--c${i}); } .chart .mark-label.c${i}` +
    ` { fill: var(--c${i}); } .key.c${i} { background: var(--c${i}); }`).join(
      "\n",
    )
}
`;

/**
 * The report of one or more runs, as one HTML page.
 *
 * @param runs The runs, each with the label the legend gives it.
 * @returns The page.
 */
export function renderReport(
  runs: readonly ChartRun[],
  options: ReportOptions = {},
): string {
  const title = options.title ?? defaultTitle(runs);
  const meta = runs.length === 1
    ? `<p class="meta">${escapeHtml(describeRun(runs[0]!.run))}</p>`
    : `<p class="meta">${runs.length} runs compared, one colour each</p>`;
  const data = JSON.stringify(
    runs.map(({ label, run }) => ({ label, run })),
  ).replace(/</g, "\\u003c");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
${meta}
</header>
${summaryTable(runs)}
<h2>Latency distribution</h2>
<p class="caption">Share of the round trips in each latency bin (20 bins a decade, log scale); dashed lines mark p50, p90, p99, p99.9 and the maximum.</p>
${latencyChart(runs)}
<h2>Throughput over the run</h2>
<p class="caption">Round trips echoed each second of the measurement; a triangle marks a second with errors.</p>
${throughputChart(runs)}
<h2>Latency over the run</h2>
<p class="caption">The 99th percentile of each second's round trips (log scale)${
    runs.length === 1 ? ", with the median and the maximum" : ""
  }: a stall or a pause shows as a spike or a gap. The last few milliseconds (the echoes still in flight when sending stopped) are left out here and above; the JSON has them.</p>
${latencyOverTimeChart(runs)}
<h2>Fairness</h2>
<p class="caption">Round trips of each connection as a share of the mean (the dashed line), most served first.</p>
${fairnessChart(runs)}
<footer><p>Made by echo-client bench ${
    escapeHtml(VERSION)
  }. Latencies are from the send (or the due time) to the last byte of the echo.</p></footer>
<script type="application/json" id="bench-runs">${data}</script>
</body>
</html>
`;
}

function defaultTitle(runs: readonly ChartRun[]): string {
  if (runs.length === 1) return `echo-client bench: ${runs[0]!.run.target}`;
  return `echo-client bench: ${runs.map((r) => r.label).join(" vs ")}`;
}

/** A run's load on one line, for the page's header. */
export function describeRun(run: BenchJson): string {
  const load = run.rate > 0
    ? `${
      formatNumber(run.rate)
    } messages/s (open loop, at most ${run.pipeline} in flight each)`
    : `${run.pipeline} in flight each (closed loop)`;
  const parts = [
    run.transport,
    `${formatNumber(run.connections)} ${
      run.transport === "udp" ? "socket" : "connection"
    }${run.connections === 1 ? "" : "s"}`,
    `${formatBytes(run.size)} messages`,
    load,
    `measured ${formatSeconds(run.elapsedMs)}${
      run.warmupMs > 0 ? ` after ${formatSeconds(run.warmupMs)} warm-up` : ""
    }`,
  ];
  if (run.startedAt !== "") parts.push(formatDate(run.startedAt));
  return parts.join(" · ");
}

/** `2026-12-02T10:00:00.123Z` as `2026-12-02 10:00:00 UTC`. */
function formatDate(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

/** One row a run: the figures of the text report. */
function summaryTable(runs: readonly ChartRun[]): string {
  const latency = (us: number | null): string =>
    us === null ? "-" : formatLatency(us * 1000);
  const head = [
    "Run",
    "Load",
    "Round trips/s",
    "MB/s each way",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "Fairness",
    "Errors",
  ];
  const rows = runs.map(({ label, run }, i) => {
    const target = label === run.target
      ? ""
      : `<span class="target">${escapeHtml(run.target)}</span>`;
    const cells = [
      `<span class="key c${i % PALETTE}"></span>${escapeHtml(label)}${target}`,
      escapeHtml(
        `${run.transport}, ${run.connections} × ${formatBytes(run.size)}${
          run.rate > 0 ? `, ${formatNumber(run.rate)}/s` : ""
        }`,
      ),
      formatNumber(run.roundTripsPerSecond),
      run.receivedMBps.toFixed(run.receivedMBps < 10 ? 2 : 1),
      latency(run.latencyUs.p50),
      latency(run.latencyUs.p90),
      latency(run.latencyUs.p99),
      latency(run.latencyUs.p999),
      latency(run.latencyUs.max),
      run.fairness.toFixed(3),
      run.errors.total === 0
        ? "0"
        : `<span title="${escapeHtml(run.firstError ?? "")}">${
          formatNumber(run.errors.total)
        }${
          run.errors.lost > 0 ? ` (${formatNumber(run.errors.lost)} lost)` : ""
        }</span>`,
    ];
    return `<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
  });
  const errors = runs
    .filter(({ run }) => run.firstError !== null)
    .map(({ label, run }) =>
      `<p class="caption">${
        escapeHtml(`${label}: first error: ${run.firstError}`)
      }</p>`
    );
  return `<div class="table"><table><thead><tr>${
    head.map((h) => `<th>${h}</th>`).join("")
  }</tr></thead><tbody>${rows.join("")}</tbody></table></div>${
    errors.join("")
  }`;
}
