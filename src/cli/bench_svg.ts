// Copyright the deno-echo authors. MIT license.

// What the report's charts are drawn with: escaping, scales, ticks, and a
// plot frame (grid, axes, labels) as SVG text. Colours and lines come from
// CSS classes, so one SVG serves light and dark mode.

/** Escapes text for HTML and SVG, in content and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Maps a value to a coordinate. */
export type Scale = (value: number) => number;

/** A linear scale from `[d0, d1]` to `[r0, r1]`. */
export function linearScale(
  [d0, d1]: readonly [number, number],
  [r0, r1]: readonly [number, number],
): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (value) => r0 + (value - d0) * k;
}

/** A log scale from `[d0, d1]` (both above 0) to `[r0, r1]`. */
export function logScale(
  [d0, d1]: readonly [number, number],
  range: readonly [number, number],
): Scale {
  const linear = linearScale([Math.log10(d0), Math.log10(d1)], range);
  return (value) => linear(Math.log10(Math.max(value, d0)));
}

/** A tick: where, and its label. */
export interface Tick {
  value: number;
  label: string;
}

/**
 * Round ticks from 0 to at least `max` (about `count` of them, steps of 1,
 * 2 or 5 times a power of ten).
 *
 * @returns The ticks; the last is the top of the axis.
 */
export function linearTicks(
  max: number,
  format: (value: number) => string,
  count = 5,
): Tick[] {
  const top = max > 0 ? max : 1;
  const raw = top / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: Tick[] = [];
  for (let i = 0; ticks.length === 0 || ticks.at(-1)!.value < top; i++) {
    const value = Number((i * step).toPrecision(12));
    ticks.push({ value, label: format(value) });
  }
  return ticks;
}

/**
 * Ticks of a log axis covering `[min, max]`: 1, 2 and 5 times each power
 * of ten (only the powers when the range spans more than four decades).
 *
 * @returns The ticks, and the axis ends (round values around the data).
 */
export function logTicks(
  min: number,
  max: number,
  format: (value: number) => string,
): { ticks: Tick[]; domain: [number, number] } {
  // The axis ends on the nearest 1, 2 or 5 times a power of ten.
  const below = (v: number): number => {
    const power = 10 ** Math.floor(Math.log10(v) + 1e-9);
    return [5, 2, 1].map((m) => m * power).find((e) => e <= v * (1 + 1e-9))!;
  };
  const above = (v: number): number => {
    const power = 10 ** Math.floor(Math.log10(v) - 1e-9);
    return [1, 2, 5, 10].map((m) => m * power).find((e) =>
      e >= v * (1 - 1e-9)
    )!;
  };
  const lo = below(min);
  let hi = above(max);
  if (hi <= lo) hi = above(lo * 1.5);
  const steps = Math.log10(hi / lo) > 4 ? [1] : [1, 2, 5];
  const ticks: Tick[] = [];
  for (
    let power = 10 ** Math.floor(Math.log10(lo) + 1e-9);
    power <= hi * (1 + 1e-9);
    power *= 10
  ) {
    for (const m of steps) {
      const value = Number((m * power).toPrecision(12));
      if (value >= lo * (1 - 1e-9) && value <= hi * (1 + 1e-9)) {
        ticks.push({ value, label: format(value) });
      }
    }
  }
  return { ticks, domain: [lo, hi] };
}

/** A compact count for axis labels: `950`, `12k`, `1.5M`. */
export function compactNumber(value: number): string {
  const abs = Math.abs(value);
  const [scaled, suffix] = abs >= 1e9
    ? [value / 1e9, "G"]
    : abs >= 1e6
    ? [value / 1e6, "M"]
    : abs >= 1e3
    ? [value / 1e3, "k"]
    : [value, ""];
  return `${Number(scaled.toPrecision(3))}${suffix}`;
}

/** A plot's outer size and the room left around its area for the axes. */
export interface PlotBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The area inside a box's margins. */
export function plotArea(box: PlotBox): {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
} {
  return {
    x0: box.left,
    x1: box.width - box.right,
    y0: box.height - box.bottom,
    y1: box.top,
  };
}

/** What {@linkcode axes} draws. */
export interface AxesSpec {
  box: PlotBox;
  x: Scale;
  y: Scale;
  xTicks: readonly Tick[];
  yTicks: readonly Tick[];
  xLabel: string;
  yLabel: string;
}

/** Grid lines, both axes, tick labels and axis titles. */
export function axes(spec: AxesSpec): string {
  const { box, x, y } = spec;
  const { x0, x1, y0, y1 } = plotArea(box);
  const n = (v: number): string => v.toFixed(1);
  let grid = "";
  let labels = "";
  for (const tick of spec.xTicks) {
    const at = x(tick.value);
    grid += `M${n(at)} ${n(y0)}V${n(y1)}`;
    // The last label ends at the plot's edge rather than past it.
    const anchor = at >= x1 - 1 ? "end" : "middle";
    labels += `<text x="${n(at)}" y="${n(y0 + 16)}" text-anchor="${anchor}">${
      escapeHtml(tick.label)
    }</text>`;
  }
  for (const tick of spec.yTicks) {
    const at = n(y(tick.value));
    grid += `M${n(x0)} ${at}H${n(x1)}`;
    labels += `<text x="${n(x0 - 6)}" y="${at}" dy="0.32em" text-anchor="end">${
      escapeHtml(tick.label)
    }</text>`;
  }
  const midY = n((y0 + y1) / 2);
  return `<path class="grid" d="${grid}"/>` +
    `<path class="axis" d="M${n(x0)} ${n(y1)}V${n(y0)}H${n(x1)}"/>` +
    `<g class="ticks">${labels}</g>` +
    `<text class="axis-title" x="${n((x0 + x1) / 2)}" y="${
      n(box.height - 6)
    }" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>` +
    `<text class="axis-title" transform="translate(14 ${midY}) rotate(-90)" text-anchor="middle">${
      escapeHtml(spec.yLabel)
    }</text>`;
}

/** Room a legend takes above a plot: one row, when there are two runs or more. */
export function legendRoom(count: number): number {
  return count < 2 ? 0 : 22;
}

/**
 * A legend on one row above the plot, from its left edge: a swatch and a
 * label a run (none for a single run).
 */
export function legend(box: PlotBox, labels: readonly string[]): string {
  if (labels.length < 2) return "";
  let x = box.left;
  return labels.map((label, i) => {
    const item = `<g class="legend"><rect class="swatch c${
      i % PALETTE
    }" x="${x}" y="7" width="10" height="10"/><text x="${
      x + 15
    }" y="12" dy="0.32em">${escapeHtml(label)}</text></g>`;
    x += 15 + label.length * 7 + 24;
    return item;
  }).join("");
}

/** How many run colours the style sheet defines. */
export const PALETTE = 8;

/** The CSS class of run `i`'s colour: `c0` to `c7`, then again. */
export function runClass(i: number): string {
  return `c${i % PALETTE}`;
}

/** A coordinate as SVG text: one decimal. */
export function coord(value: number): string {
  return value.toFixed(1);
}

/** An SVG element of the report, titled for screen readers. */
export function svg(
  name: string,
  box: PlotBox,
  title: string,
  body: string,
): string {
  return `<svg class="chart" data-chart="${
    escapeHtml(name)
  }" viewBox="0 0 ${box.width} ${box.height}" role="img" aria-label="${
    escapeHtml(title)
  }"><title>${escapeHtml(title)}</title>${body}</svg>`;
}
