// Copyright the deno-echo authors. MIT license.

// The report's fairness chart, as SVG text: each connection's round trips
// as a share of the mean, one panel a run.

import type { ChartRun } from "./bench_charts.ts";
import {
  axes,
  coord as n,
  escapeHtml,
  linearScale,
  linearTicks,
  plotArea,
  type PlotBox,
  runClass as colour,
  svg,
} from "./bench_svg.ts";

/**
 * Each connection's round trips as a share of the mean, most served first:
 * one panel a run, with the mean (100 %) marked.
 */
export function fairnessChart(runs: readonly ChartRun[]): string {
  const name = "fairness";
  const title = "Each connection's share of the work";
  const panel = 170;
  const box = {
    width: 960,
    height: panel * runs.length + 10,
    left: 64,
    right: 16,
    top: 0,
    bottom: 0,
  };
  let body = "";
  runs.forEach(({ label, run }, i) => {
    const inner = { ...box, height: panel, top: 26, bottom: 40 };
    const counts = [...run.perConnection].sort((a, b) => b - a);
    const mean = counts.reduce((a, b) => a + b, 0) / (counts.length || 1);
    let content: string;
    if (mean === 0) {
      content = `<text class="note" x="${box.width / 2}" y="${
        panel / 2
      }" text-anchor="middle">No round trips</text>`;
    } else {
      content = sharePanel(inner, counts, mean, i);
    }
    body += `<g transform="translate(0 ${
      i * panel
    })"><text class="panel-title" x="${box.left}" y="16">${
      escapeHtml(
        `${label}: ${counts.length} connection${
          counts.length === 1 ? "" : "s"
        }, fairness ${run.fairness.toFixed(3)}, least served ${
          Math.round(run.minShare * 100)
        }% of the mean`,
      )
    }</text>${content}</g>`;
  });
  return svg(name, box, title, body);
}

/** One run's bars of share of the mean. */
function sharePanel(
  box: PlotBox,
  counts: readonly number[],
  mean: number,
  i: number,
): string {
  const { x0, x1, y0, y1 } = plotArea(box);
  const shares = counts.map((c) => (100 * c) / mean);
  const yTicks = linearTicks(Math.max(100, ...shares), (v) => `${v}%`, 4);
  const y = linearScale([0, yTicks.at(-1)!.value], [y0, y1]);
  // Connection k (from 1) is the bar centred on k.
  const x = linearScale([0.5, counts.length + 0.5], [x0, x1]);
  const width = (x1 - x0) / counts.length;
  const gap = width > 4 ? 1 : 0;
  let d = "";
  shares.forEach((share, k) => {
    d += `M${n(x(k + 0.5) + gap / 2)} ${n(y0)}V${n(y(share))}h${
      n(Math.max(width - gap, 0.5))
    }V${n(y0)}z`;
  });
  const xTicks = linearTicks(counts.length, (v) => String(v), 8)
    .filter((t) =>
      Number.isInteger(t.value) && t.value >= 1 && t.value <= counts.length
    );
  if (xTicks[0]?.value !== 1) xTicks.unshift({ value: 1, label: "1" });
  return axes({
    box,
    x,
    y,
    xTicks,
    yTicks,
    xLabel: "connections, most served first",
    yLabel: "% of the mean",
  }) +
    `<path class="data bar ${colour(i)}" d="${d}"/>` +
    `<path class="mean" d="M${n(x0)} ${n(y(100))}H${n(x1)}"/>`;
}
