// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
  Registry,
} from "../../src/metrics/registry.ts";

Deno.test("Registry.expose() writes the text format 0.0.4, escaped, in a fixed order", () => {
  const registry = new Registry();
  const hits = registry.counter({
    name: "demo_hits_total",
    help: 'Hits, by path\nand "kind" \\ slash.',
    labelNames: ["path", "kind"],
  });
  const level = registry.gauge({ name: "demo_level", help: "A level." });
  // Made out of order: the exposition sorts series by label values.
  hits.series({ path: "z", kind: "plain" }).value = 1;
  hits.series({ path: 'say "hi"', kind: "quote" }).value = 2;
  hits.series({ path: "C:\\dir", kind: "backslash" }).value = 3;
  hits.series({ path: "two\nlines", kind: "newline" }).value = 4;
  level.series({}).value = -1.5;
  assertEquals(
    registry.expose(),
    [
      '# HELP demo_hits_total Hits, by path\\nand "kind" \\\\ slash.',
      "# TYPE demo_hits_total counter",
      'demo_hits_total{path="C:\\\\dir",kind="backslash"} 3',
      'demo_hits_total{path="say \\"hi\\"",kind="quote"} 2',
      'demo_hits_total{path="two\\nlines",kind="newline"} 4',
      'demo_hits_total{path="z",kind="plain"} 1',
      "# HELP demo_level A level.",
      "# TYPE demo_level gauge",
      "demo_level -1.5",
      "",
    ].join("\n"),
  );
});

Deno.test("Registry.expose() leaves out a metric with no series yet", () => {
  const registry = new Registry();
  registry.counter({ name: "a_total", help: "A.", labelNames: ["x"] });
  registry.gauge({ name: "b", help: "B." }).series({}).value = 7;
  assertEquals(registry.expose(), "# HELP b B.\n# TYPE b gauge\nb 7\n");
});

Deno.test("Registry.expose() runs the collectors first, in order", () => {
  const registry = new Registry();
  const read = registry.gauge({ name: "read", help: "Read." }).series({});
  const order: number[] = [];
  registry.onCollect(() => {
    order.push(1);
    read.value = 41;
  });
  registry.onCollect(() => {
    order.push(2);
    read.value++;
  });
  assertEquals(
    registry.expose(),
    "# HELP read Read.\n# TYPE read gauge\nread 42\n",
  );
  assertEquals(order, [1, 2]);
  registry.onCollect(() => {
    throw new Error("unreadable");
  });
  assertThrows(() => registry.expose(), Error, "unreadable");
});

Deno.test("MetricFamily.series() returns one object per set of label values", () => {
  const registry = new Registry();
  const family = registry.counter({
    name: "x_total",
    help: "X.",
    labelNames: ["a", "b"],
  });
  const one = family.series({ a: "1", b: "2" });
  assertStrictEquals(family.series({ b: "2", a: "1" }), one);
  // Values that would run together if simply joined stay apart.
  const ab = family.series({ a: "ab", b: "" });
  const a_b = family.series({ a: "a", b: "b" });
  assertEquals(ab === a_b, false);
  assertEquals(family.size, 3);
  assertEquals(one.labelValues, ["1", "2"]);
});

Deno.test("MetricFamily.series() is bounded by maxSeries", () => {
  const family = new Registry().gauge({
    name: "bounded",
    help: "Bounded.",
    labelNames: ["peer"],
    maxSeries: 2,
  });
  family.series({ peer: "a" });
  family.series({ peer: "b" });
  family.series({ peer: "a" }); // known: no new series
  assertThrows(
    () => family.series({ peer: "c" }),
    RangeError,
    'Metric "bounded" already has 2 series',
  );
  assertEquals(family.size, 2);
});

Deno.test("MetricFamily.series() rejects missing and unknown labels", () => {
  const family = new Registry().counter({
    name: "l_total",
    help: "L.",
    labelNames: ["a"],
  });
  assertThrows(
    () => family.series({} as { a: string }),
    TypeError,
    'Label "a" of "l_total" is missing',
  );
  assertThrows(
    () => family.series({ a: "1", b: "2" } as { a: string }),
    TypeError,
    'Unknown label "b" for "l_total"',
  );
});

Deno.test("Registry rejects invalid and repeated names", async (t) => {
  const registry = new Registry();
  registry.counter({ name: "taken_total", help: "Taken." });
  await t.step("a name declared twice", () => {
    assertThrows(
      () => registry.gauge({ name: "taken_total", help: "Again." }),
      TypeError,
      'Metric "taken_total" is already declared',
    );
  });
  await t.step("an invalid metric name", () => {
    for (const name of ["", "1abc", "has space", "dash-ed", 'q"uote']) {
      assertThrows(
        () => registry.counter({ name, help: "Bad." }),
        TypeError,
        `Invalid metric name "${name}"`,
      );
    }
  });
  await t.step("an invalid or reserved label name", () => {
    for (const label of ["", "a:b", "__reserved", "9x", "a-b"]) {
      assertThrows(
        () =>
          registry.counter({
            name: "ok_total",
            help: "Ok.",
            labelNames: [label],
          }),
        TypeError,
        `Invalid label name "${label}" in "ok_total"`,
      );
    }
  });
  await t.step("a label name twice", () => {
    assertThrows(
      () =>
        registry.counter({
          name: "twice_total",
          help: "Twice.",
          labelNames: ["a", "a"],
        }),
      TypeError,
      'Label names repeat in "twice_total"',
    );
  });
  await t.step("a series limit that is not a positive integer", () => {
    for (const maxSeries of [0, -1, 1.5, NaN]) {
      assertThrows(
        () => registry.counter({ name: "lim_total", help: "L.", maxSeries }),
        RangeError,
        `Invalid series limit "${maxSeries}" for "lim_total"`,
      );
    }
  });
});

Deno.test("escapeLabelValue() escapes backslash, double quote and line feed only", () => {
  assertEquals(escapeLabelValue("plain"), "plain");
  assertEquals(escapeLabelValue("\\"), "\\\\");
  assertEquals(escapeLabelValue('"'), '\\"');
  assertEquals(escapeLabelValue("\n"), "\\n");
  assertEquals(escapeLabelValue("\t\r{}=,é"), "\t\r{}=,é");
  assertEquals(escapeLabelValue('\\n"'), '\\\\n\\"');
});

Deno.test("escapeHelp() escapes backslash and line feed, not quotes", () => {
  assertEquals(escapeHelp('a "b"'), 'a "b"');
  assertEquals(escapeHelp("a\\b\nc"), "a\\\\b\\nc");
});

Deno.test("formatValue() spells special values as the text format does", () => {
  assertEquals(formatValue(0), "0");
  assertEquals(formatValue(-0), "0");
  assertEquals(formatValue(12345678901), "12345678901");
  assertEquals(formatValue(0.25), "0.25");
  assertEquals(formatValue(NaN), "NaN");
  assertEquals(formatValue(Infinity), "+Inf");
  assertEquals(formatValue(-Infinity), "-Inf");
});
