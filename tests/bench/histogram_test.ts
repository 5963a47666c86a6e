// Copyright the deno-echo authors. MIT license.

// The histogram the load generator measures latency with.

import { assert, assertEquals } from "@std/assert";
import { Histogram } from "../../client.ts";
import { mulberry32 } from "../_helpers/util.ts";

Deno.test("Histogram percentiles are within the bucket error of exact ones", async (t) => {
  // A seeded generator keeps failures reproducible.
  const random = mulberry32(12345);
  const distributions: [string, () => number][] = [
    [
      "log-uniform over 1 ns to 10 s",
      () => Math.exp(random() * Math.log(1e10)),
    ],
    ["uniform over 0 to 1000", () => random() * 1000],
    [
      "loopback-like, with a long tail",
      () => 20_000 + 10_000 * random() + (random() < 0.01 ? 5e6 * random() : 0),
    ],
  ];
  for (const [name, sample] of distributions) {
    await t.step(name, () => {
      const histogram = new Histogram();
      const values: number[] = [];
      for (let i = 0; i < 50_000; i++) {
        const value = sample();
        values.push(value);
        histogram.record(value);
      }
      values.sort((a, b) => a - b);
      assertEquals(histogram.count, values.length);
      assertEquals(histogram.min, values[0]);
      assertEquals(histogram.max, values.at(-1));
      const mean = values.reduce((a, b) => a + b) / values.length;
      assert(Math.abs(histogram.mean - mean) <= mean * 1e-9);
      for (const p of [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100]) {
        const rank = Math.max(1, Math.ceil((p / 100) * values.length));
        const exact = values[rank - 1]!;
        const got = histogram.percentile(p);
        // Values are floored to whole units before bucketing: allow one unit.
        const bound = exact * Histogram.RELATIVE_ERROR + 1;
        assert(
          Math.abs(got - exact) <= bound,
          `p${p}: got ${got}, exact ${exact}, bound ${bound}`,
        );
      }
    });
  }
  await t.step("small whole numbers are exact", () => {
    const histogram = new Histogram();
    for (let v = 0; v < 128; v++) histogram.record(v, 2);
    assertEquals(histogram.count, 256);
    assertEquals(histogram.percentile(50), 63);
    assertEquals([...histogram.buckets()][5], [5, 6, 2]);
  });
  await t.step("empty, add and reset", () => {
    const a = new Histogram();
    assert(Number.isNaN(a.percentile(50)) && Number.isNaN(a.min));
    const b = new Histogram();
    b.record(1000);
    b.record(3000);
    a.record(2000);
    a.add(b);
    assertEquals(a.count, 3);
    assertEquals(a.min, 1000);
    assertEquals(a.max, 3000);
    assertEquals(a.mean, 2000);
    a.reset();
    assertEquals(a.count, 0);
  });
});
