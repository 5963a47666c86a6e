// Copyright the deno-echo authors. MIT license.

// Counters and gauges in the Prometheus text exposition format 0.0.4.
//
// Every series is made up front (or once, the first time its label values
// are seen) and kept: counting is `series.value++` on an object the caller
// holds, with no label lookup, no string built and no allocation per event.
// The text is built only when scraped.

/** What a metric measures: a total that only grows, or a level. */
export type MetricType = "counter" | "gauge";

/** How many series one metric may have unless told otherwise. */
export const DEFAULT_MAX_SERIES = 1000;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * One series: a metric with one set of label values, and its value. Hot
 * paths keep the series and add to {@linkcode Series.value} directly.
 *
 * @example Count
 * ```ts
 * import { Registry } from "./registry.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const registry = new Registry();
 * const served = registry.counter({ name: "served_total", help: "Served." })
 *   .series({});
 * served.value++;
 * assertEquals(served.value, 1);
 * ```
 */
export class Series {
  /**
   * The current value. A counter's only grows (a caller that sets it from a
   * total it reads keeps that true).
   */
  value = 0;
  /** The label values, in the order of the metric's label names. */
  readonly labelValues: readonly string[];
  /** `{a="x",b="y"}` (empty without labels), escaped once, here. */
  readonly #text: string;

  /**
   * Made by {@linkcode MetricFamily.series}, not directly.
   *
   * @param labelNames The metric's label names.
   * @param labelValues The values, in the same order.
   */
  constructor(labelNames: readonly string[], labelValues: readonly string[]) {
    this.labelValues = labelValues;
    this.#text = labelNames.length === 0
      ? ""
      : `{${
        labelNames.map((name, i) =>
          `${name}="${escapeLabelValue(labelValues[i]!)}"`
        ).join(",")
      }}`;
  }

  /**
   * The sample line, without its newline.
   *
   * @param name The metric's name.
   * @returns `name{labels} value`.
   */
  line(name: string): string {
    return `${name}${this.#text} ${formatValue(this.value)}`;
  }
}

/**
 * Declares a metric.
 *
 * @typeParam L The label names.
 */
export interface MetricOptions<L extends string> {
  /** The metric's name, e.g. `echo_connections_accepted_total`. */
  name: string;
  /** One line that says what it measures (the `# HELP` text). */
  help: string;
  /**
   * The labels every series has, fixed here: each set of values is a series.
   *
   * @default {[]}
   */
  labelNames?: readonly L[];
  /**
   * How many series it may have; one more is an error, so that a label fed
   * from outside cannot grow it without bound.
   *
   * @default {1000}
   */
  maxSeries?: number;
}

/**
 * A metric: its name, help, type, label names, and its series.
 *
 * @typeParam L The label names.
 */
export class MetricFamily<L extends string = never> {
  /** The metric's name. */
  readonly name: string;
  /** The `# HELP` text, unescaped. */
  readonly help: string;
  /** Counter or gauge. */
  readonly type: MetricType;
  /** The label names, in the order they are written. */
  readonly labelNames: readonly L[];
  readonly #maxSeries: number;
  readonly #series = new Map<string, Series>();
  /** The series in exposition order, or undefined once one was added. */
  #sorted: Series[] | undefined = [];

  /**
   * Made by {@linkcode Registry.counter} and {@linkcode Registry.gauge}.
   *
   * @param type Counter or gauge.
   * @param options Its name, help, labels and bound.
   */
  constructor(type: MetricType, options: MetricOptions<L>) {
    const { name, help, labelNames = [], maxSeries = DEFAULT_MAX_SERIES } =
      options;
    if (!METRIC_NAME.test(name)) {
      throw new TypeError(`Invalid metric name "${name}"`);
    }
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new TypeError(`Invalid label name "${label}" in "${name}"`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new TypeError(`Label names repeat in "${name}"`);
    }
    if (!Number.isInteger(maxSeries) || maxSeries < 1) {
      throw new RangeError(
        `Invalid series limit "${maxSeries}" for "${name}": must be a positive integer`,
      );
    }
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = labelNames;
    this.#maxSeries = maxSeries;
  }

  /** How many series it has. */
  get size(): number {
    return this.#series.size;
  }

  /**
   * The series with these label values, made the first time they are seen.
   * Call it once and keep the series; not on every event.
   *
   * @param labels A value for every label name (any string: it is escaped).
   * @returns The series, always the same object for the same values.
   * @throws {TypeError} When a label is missing or unknown.
   * @throws {RangeError} When the metric already has `maxSeries` series.
   */
  series(labels: Readonly<Record<L, string>>): Series {
    const given = Object.keys(labels);
    const unknown = given.find((k) => !this.labelNames.includes(k as L));
    if (unknown !== undefined) {
      throw new TypeError(`Unknown label "${unknown}" for "${this.name}"`);
    }
    const values = this.labelNames.map((label) => {
      const value: unknown = labels[label];
      if (typeof value !== "string") {
        throw new TypeError(`Label "${label}" of "${this.name}" is missing`);
      }
      return value;
    });
    // A key no two value lists share: each value's length, then the value.
    const key = values.map((v) => `${v.length}:${v}`).join("");
    const found = this.#series.get(key);
    if (found !== undefined) return found;
    if (this.#series.size >= this.#maxSeries) {
      throw new RangeError(
        `Metric "${this.name}" already has ${this.#maxSeries} series`,
      );
    }
    const made = new Series(this.labelNames, values);
    this.#series.set(key, made);
    this.#sorted = undefined;
    return made;
  }

  /**
   * Its exposition: `# HELP`, `# TYPE` and one line per series, sorted by
   * label values; nothing when it has no series yet.
   *
   * @returns The text, each line ending in a newline.
   */
  expose(): string {
    if (this.#series.size === 0) return "";
    this.#sorted ??= [...this.#series.values()].sort((a, b) =>
      compareValues(a.labelValues, b.labelValues)
    );
    let text = `# HELP ${this.name} ${escapeHelp(this.help)}\n` +
      `# TYPE ${this.name} ${this.type}\n`;
    for (const series of this.#sorted) text += `${series.line(this.name)}\n`;
    return text;
  }
}

/**
 * A set of metrics, exposed together in the Prometheus text format 0.0.4,
 * in the order they were declared.
 *
 * @example Declare, count, expose
 * ```ts
 * import { Registry } from "./registry.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const registry = new Registry();
 * const requests = registry.counter({
 *   name: "requests_total",
 *   help: "Requests served.",
 *   labelNames: ["method"],
 * });
 * const get = requests.series({ method: "GET" });
 * get.value += 2;
 * assertEquals(
 *   registry.expose(),
 *   "# HELP requests_total Requests served.\n" +
 *     "# TYPE requests_total counter\n" +
 *     'requests_total{method="GET"} 2\n',
 * );
 * ```
 */
export class Registry {
  readonly #families: Pick<MetricFamily<string>, "name" | "expose">[] = [];
  readonly #collectors: (() => void)[] = [];

  /**
   * Declares a counter: a total that only grows.
   *
   * @typeParam L The label names.
   * @param options Its name (ending in `_total`, by convention), help and
   * labels.
   * @returns The metric, to make its series from.
   * @throws {TypeError} When the name is taken or a name is invalid.
   */
  counter<L extends string = never>(
    options: MetricOptions<L>,
  ): MetricFamily<L> {
    return this.#add(new MetricFamily("counter", options));
  }

  /**
   * Declares a gauge: a level that goes up and down.
   *
   * @typeParam L The label names.
   * @param options Its name, help and labels.
   * @returns The metric, to make its series from.
   * @throws {TypeError} When the name is taken or a name is invalid.
   */
  gauge<L extends string = never>(options: MetricOptions<L>): MetricFamily<L> {
    return this.#add(new MetricFamily("gauge", options));
  }

  /**
   * Adds a function run before each exposition, in the order added, to set
   * values read from elsewhere (a getter, a stats object).
   *
   * @param collect Sets series' values; what it throws, `expose()` throws.
   */
  onCollect(collect: () => void): void {
    this.#collectors.push(collect);
  }

  /**
   * Runs the collectors, then writes every metric that has a series.
   *
   * @returns The exposition, text format 0.0.4.
   */
  expose(): string {
    for (const collect of this.#collectors) collect();
    let text = "";
    for (const family of this.#families) text += family.expose();
    return text;
  }

  #add<L extends string>(family: MetricFamily<L>): MetricFamily<L> {
    if (this.#families.some((f) => f.name === family.name)) {
      throw new TypeError(`Metric "${family.name}" is already declared`);
    }
    this.#families.push(family);
    return family;
  }
}

/**
 * Escapes a label value for the text format: backslash, double quote and
 * line feed.
 *
 * @param value Any string.
 * @returns The text to put between the quotes.
 *
 * @example Escape
 * ```ts
 * import { escapeLabelValue } from "./registry.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/**
 * Escapes `# HELP` text for the text format: backslash and line feed.
 *
 * @param text Any string.
 * @returns The text to put after the metric name.
 *
 * @example Escape
 * ```ts
 * import { escapeHelp } from "./registry.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(escapeHelp('a\\b\n"c"'), 'a\\\\b\\n"c"');
 * ```
 */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/**
 * Writes a sample value the way the text format spells it.
 *
 * @param value Any number.
 * @returns `NaN`, `+Inf`, `-Inf`, or the number.
 *
 * @example Spell
 * ```ts
 * import { formatValue } from "./registry.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatValue(3), "3");
 * assertEquals(formatValue(Infinity), "+Inf");
 * ```
 */
export function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function compareValues(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
