// Copyright the deno-echo authors. MIT license.

// The measurement second by second: SeriesRecorder on made-up times, and
// runBench()'s series against a server that stalls.

import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { delay } from "@std/async/delay";
import { Histogram, runBench } from "../../client.ts";
import { serve } from "../../mod.ts";
import { MAX_SERIES_POINTS } from "../../src/bench/result.ts";
import { seriesInterval, SeriesRecorder } from "../../src/bench/series.ts";
import { NO_ERRORS, scriptedServer } from "./_scripted_server.ts";

Deno.test("SeriesRecorder cuts the measurement into intervals, empty ones included", () => {
  // The measurement begins at 500 (performance.now() time), 3 connections.
  const series = new SeriesRecorder(500, 1000, 3, 64);
  series.error(200); // During the warm-up: counted in the first interval.
  series.record(600, 1000);
  series.record(900, 3000);
  series.record(1499.9, 2000);
  // Nothing from 1500 to 3500: a stall shows as two empty seconds.
  series.closed(2000);
  series.record(3600, 5_000_000);
  series.error(3700);
  const { interval, points, truncated } = series.finish(3750);
  assertEquals(interval, 1000);
  assertEquals(truncated, false);
  assertEquals(points.map((p) => [p.start, p.length]), [
    [0, 1000],
    [1000, 1000],
    [2000, 1000],
    [3000, 250],
  ]);
  assertEquals(points.map((p) => p.roundTrips), [3, 0, 0, 1]);
  assertEquals(points.map((p) => p.bytes), [192, 0, 0, 64]);
  assertEquals(points.map((p) => p.errors), [1, 0, 0, 1]);
  // Open at the end of each interval.
  assertEquals(points.map((p) => p.open), [3, 2, 2, 2]);
  assertEquals(points[0]!.max, 3000);
  // The median is read from a histogram bucket.
  assertAlmostEquals(points[0]!.p50, 2000, 2000 * Histogram.RELATIVE_ERROR);
  assert(Number.isNaN(points[1]!.p99) && Number.isNaN(points[1]!.max));
  assertEquals(points[3]!.p99, 5_000_000);
});

Deno.test("SeriesRecorder keeps at most its cap of intervals and says so", () => {
  const series = new SeriesRecorder(0, 1000, 1, 1, 3);
  for (let t = 0; t < 10_000; t += 100) series.record(t, 1);
  const { points, truncated } = series.finish(10_000);
  assertEquals(points.length, 3);
  assertEquals(truncated, true);
  assertEquals(points.map((p) => p.roundTrips), [10, 10, 10]);
});

Deno.test("SeriesRecorder ends with nothing when the run ended before measuring", () => {
  const series = new SeriesRecorder(1000, 1000, 2, 64);
  series.error(10);
  assertEquals(series.finish(500).points, []);
});

Deno.test("seriesInterval() is a second, or whole seconds that keep long runs under the cap", () => {
  assertEquals(seriesInterval(5000, 0), 1000);
  assertEquals(seriesInterval(MAX_SERIES_POINTS * 1000, 0), 1000);
  assertEquals(seriesInterval(MAX_SERIES_POINTS * 1000 + 1, 0), 2000);
  assertEquals(seriesInterval(24 * 3600 * 1000, 0), 24_000);
  assertEquals(seriesInterval(5000, 100), 1000);
});

Deno.test("runBench() series adds up to the run's totals", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.addrs[0]!.port,
    connections: 3,
    warmup: 200,
    duration: 2000,
  });
  assertEquals(result.errors, NO_ERRORS);
  const { interval, points, truncated } = result.series;
  assertEquals(interval, 1000);
  assertEquals(truncated, false);
  // Two full seconds, then the drain (the echoes in flight at the end).
  assert(points.length === 2 || points.length === 3, `${points.length}`);
  assertEquals(points.slice(0, 2).map((p) => [p.start, p.length]), [
    [0, 1000],
    [1000, 1000],
  ]);
  assertEquals(
    points.reduce((n, p) => n + p.roundTrips, 0),
    result.roundTrips,
  );
  assertEquals(
    points.reduce((n, p) => n + p.bytes, 0),
    result.bytesReceived,
  );
  assert(points.slice(0, 2).every((p) => p.roundTrips > 0 && p.open === 3));
  const measured = points.filter((p) => p.roundTrips > 0);
  assert(measured.every((p) => p.p50 <= p.p99 && p.p99 <= p.max));
  assertEquals(Math.max(...measured.map((p) => p.max)), result.latency.max);
  assertEquals(points.at(-1)!.open, 0, "every connection closed at the end");
  assert(
    result.startedAt > Date.now() - 60_000 && result.startedAt <= Date.now(),
  );
});

Deno.test("runBench() series shows a server that stops echoing for two seconds", async () => {
  // Echoes at once, except that after the 200th message it waits 2.1 s.
  const pauseAt = 200 * 64;
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(4096);
    let offset = 0;
    let paused = false;
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      offset += n;
      if (!paused && offset >= pauseAt) {
        paused = true;
        await delay(2100);
      }
      for (let done = 0; done < n;) {
        done += await conn.write(buffer.subarray(done, n));
      }
    }
  });
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.port,
    connections: 1,
    duration: 3500,
  });
  assertEquals(result.errors, NO_ERRORS);
  const points = result.series.points;
  // 2.1 s without an echo holds at least one whole second with none.
  assert(
    points.some((p) => p.roundTrips === 0 && p.length === 1000),
    JSON.stringify(points.map((p) => p.roundTrips)),
  );
  // The message that waited shows in the second its echo came back.
  const maxima = points.map((p) => p.max).filter((ns) => !Number.isNaN(ns));
  assert(Math.max(...maxima) >= 2e9, JSON.stringify(maxima));
});

Deno.test("runBench() reports each phase, the warm-up too when it lasts a second", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const phases: string[] = [];
  await runBench({
    hostname: "127.0.0.1",
    port: server.addrs[0]!.port,
    connections: 2,
    warmup: 1000,
    duration: 800,
    onProgress: ({ phase }) => {
      if (phases.at(-1) !== phase) phases.push(phase);
    },
  });
  assertEquals(phases.slice(0, 2), ["warmup", "measure"]);
});
