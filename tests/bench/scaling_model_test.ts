// Copyright the deno-echo authors. MIT license.

// The scaling table's arithmetic: /proc stat lines and the model.

import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  isIsolateThread,
  isolateCounts,
  type Measured,
  model,
  parseStat,
  parseStats,
} from "./scaling_model.ts";

// A real line of /proc/PID/stat, fields 14 and 15 (utime, stime) = 37, 5.
const TAIL = "S 2367 2367 1876 0 -1 4194304 6179 0 0 0 37 5 0 0 20 0 8 0 " +
  "15264 28132880384 15475 18446744073709551615";

Deno.test("parseStat() reads utime + stime after the last parenthesis", async (t) => {
  await t.step("a plain comm", () => {
    assertEquals(parseStat(`2369 (deno) ${TAIL}`), {
      id: 2369,
      comm: "deno",
      ticks: 42,
    });
  });
  await t.step("a comm with spaces and parentheses", () => {
    assertEquals(parseStat(`2371 (V8 (x) y) z)) ${TAIL}`), {
      id: 2371,
      comm: "V8 (x) y) z)",
      ticks: 42,
    });
  });
  await t.step("malformed lines", () => {
    assertEquals(parseStat(""), undefined);
    assertEquals(parseStat("cat: /proc/9/stat: No such file"), undefined);
    assertEquals(parseStat("12 (deno) S 1 2 3"), undefined);
  });
});

Deno.test("parseStats() keys every line by its id and skips the rest", () => {
  const stats = parseStats(
    `10 (deno) ${TAIL}\n\n11 (worker-1) ${
      TAIL.replace(" 37 5 ", " 100 20 ")
    }\n`,
  );
  assertEquals([...stats.keys()], [10, 11]);
  assertEquals(stats.get(10)?.ticks, 42);
  assertEquals(stats.get(11)?.ticks, 120);
  assertEquals(stats.get(11)?.comm, "worker-1");
});

Deno.test("isIsolateThread() counts the main thread and worker-N only", () => {
  assertEquals(isIsolateThread(10, 10, "deno"), true);
  assertEquals(isIsolateThread(10, 14, "worker-1"), true);
  assertEquals(isIsolateThread(10, 15, "worker-12"), true);
  assertEquals(isIsolateThread(10, 11, "deno"), false);
  assertEquals(isIsolateThread(10, 12, "V8 DefaultWorke"), false);
  assertEquals(isIsolateThread(10, 13, "tokio-runtime-w"), false);
  assertEquals(isIsolateThread(10, 16, "worker-"), false);
});

Deno.test("isolateCounts() doubles up to the maximum and ends on it", () => {
  assertEquals(isolateCounts(1), [1]);
  assertEquals(isolateCounts(2), [1, 2]);
  assertEquals(isolateCounts(6), [1, 2, 4, 6]);
  assertEquals(isolateCounts(16), [1, 2, 4, 8, 16]);
});

Deno.test("model() derives efficiency, prediction and scaling", () => {
  const rows: Measured[] = [
    {
      isolates: 1,
      roundTripsPerSecond: 30_000,
      serverCores: 0.6,
      isolateCores: [0.5],
      clientCores: 0.7,
    },
    {
      isolates: 2,
      roundTripsPerSecond: 48_000,
      serverCores: 1.2,
      isolateCores: [0.4, 0.6],
      clientCores: 1.1,
    },
    {
      isolates: 4,
      roundTripsPerSecond: 100_000,
      serverCores: 2.5,
      isolateCores: [0.5, 0.625, 0.5, 0.5],
      clientCores: 2,
    },
  ];
  const [one, two, four] = model(rows, 4);
  // 30,000 rt/s on 0.6 cores: 50 per CPU-ms; the isolate used half a core.
  assertAlmostEquals(one!.perCpuMs, 50);
  assertAlmostEquals(one!.efficiency, 1);
  assertAlmostEquals(one!.busiestShare, 0.5);
  assertAlmostEquals(one!.predicted, 60_000);
  assertAlmostEquals(one!.ideal, 60_000);
  assertAlmostEquals(one!.scaling, 1);
  assertEquals(one!.coresShared, false);
  // 40 per CPU-ms is 0.8 of 50; the busiest of two isolates used 60 %.
  assertAlmostEquals(two!.perCpuMs, 40);
  assertAlmostEquals(two!.efficiency, 0.8);
  assertAlmostEquals(two!.busiestShare, 0.6);
  assertAlmostEquals(two!.predicted, 80_000);
  assertAlmostEquals(two!.ideal, 120_000);
  assertAlmostEquals(two!.scaling, 2 / 3);
  assertEquals(two!.coresShared, false);
  assertEquals(two!.clientCores, 1.1);
  // 4 isolates and 4 load generators need 8 cores: 4 CPUs are shared.
  assertAlmostEquals(four!.efficiency, 0.8);
  assertAlmostEquals(four!.predicted, 160_000);
  assertAlmostEquals(four!.scaling, 160_000 / 240_000);
  assertEquals(four!.coresShared, true);
});

Deno.test("model() needs the one-isolate row first", () => {
  assertEquals(model([], 2), []);
  assertThrows(
    () =>
      model([{
        isolates: 2,
        roundTripsPerSecond: 1,
        serverCores: 1,
        isolateCores: [1, 1],
        clientCores: 1,
      }], 2),
    RangeError,
    "Expected the first row to have 1 isolate, not 2",
  );
});
