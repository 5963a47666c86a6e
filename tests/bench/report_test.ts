// Copyright the deno-echo authors. MIT license.

// The HTML report as text: self-contained, every chart drawn, labelled,
// every string escaped; saved runs read back and checked; the progress line.

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { parseBenchJson } from "../../src/cli/bench_json.ts";
import { renderReport } from "../../src/cli/bench_html.ts";
import { runLabels } from "../../src/cli/bench_compare.ts";
import { commandTarget, formatProgress } from "../../src/cli/bench_main.ts";
import { escapeHtml, linearTicks, logTicks } from "../../src/cli/bench_svg.ts";
import { madeUpRun } from "./_runs.ts";

const CHARTS = ["latency", "throughput", "p99", "fairness"];

/** The SVG of each chart, by its data-chart name. */
function charts(html: string): Map<string, string> {
  const found = new Map<string, string>();
  for (
    const match of html.matchAll(/<svg [^>]*data-chart="([^"]+)"[^]*?<\/svg>/g)
  ) {
    found.set(match[1]!, match[0]);
  }
  return found;
}

/** The `d` of every data path in an SVG. */
function dataPaths(svg: string): string[] {
  return [...svg.matchAll(/<path class="data[^"]*" d="([^"]*)"/g)].map((m) =>
    m[1]!
  );
}

Deno.test("renderReport() draws every chart of one run, with labelled axes", () => {
  const html = renderReport([{ label: "127.0.0.1:2000", run: madeUpRun() }]);
  const svgs = charts(html);
  assertEquals([...svgs.keys()], CHARTS);
  for (const [name, svg] of svgs) {
    const paths = dataPaths(svg);
    assert(paths.length > 0, `${name}: no data path`);
    assert(
      paths.every((d) => /^M[0-9.]+ [0-9.]+[VHLMhvz0-9. -]+$/.test(d)),
      name,
    );
  }
  for (
    const label of [
      "round-trip time (log scale)",
      "share of round trips (%)",
      "time since the measurement began (s)",
      "round trips / s",
      "latency (log scale)",
      "connections, most served first",
      "% of the mean",
    ]
  ) {
    assertStringIncludes(html, `>${escapeHtml(label)}</text>`);
  }
  // The percentiles are marked on the distribution.
  const latency = svgs.get("latency")!;
  for (const p of ["p50", "p90", "p99", "p99.9", "max"]) {
    assertMatch(
      latency,
      new RegExp(
        `class="mark-label c0"[^>]*>${p.replace(".", "\\.")} [0-9.]+ [µm]?s<`,
      ),
    );
  }
  // Units on the ticks.
  assertMatch(latency, />100 µs</);
  assertMatch(svgs.get("throughput")!, />[0-9.]+k</);
  assertMatch(svgs.get("throughput")!, />2 s</);
});

Deno.test("renderReport() titles one run with its target, load, length and date", () => {
  const html = renderReport([{ label: "x", run: madeUpRun() }]);
  assertStringIncludes(
    html,
    "<title>echo-client bench: 127.0.0.1:2000</title>",
  );
  assertStringIncludes(
    html,
    "tcp · 8 connections · 64 B messages · 1 in flight each (closed loop) · measured 5.00 s after 1.00 s warm-up · 2026-12-02 10:00:00 UTC",
  );
});

Deno.test("renderReport() is self-contained and follows the light or dark setting", () => {
  const html = renderReport([{ label: "a", run: madeUpRun() }]);
  assertNotMatch(html, /https?:/);
  assertNotMatch(html, /\b(src|href)=/);
  assertNotMatch(html, /<link|@import|url\(|@font-face/);
  // The only script is the runs' data, which is never run.
  assertEquals(
    [...html.matchAll(/<script[^>]*>/g)].map((m) => m[0]),
    ['<script type="application/json" id="bench-runs">'],
  );
  assertStringIncludes(html, '<meta name="color-scheme" content="light dark">');
  assertMatch(
    html,
    /@media \(prefers-color-scheme: dark\) \{ :root \{ --bg: #0d1117/,
  );
  const data = /<script type="application\/json" id="bench-runs">(.*)<\/script>/
    .exec(html)!;
  const runs = JSON.parse(data[1]!);
  assertEquals(runs[0].label, "a");
  assertEquals(runs[0].run.roundTrips, madeUpRun().roundTrips);
});

Deno.test("renderReport() escapes every string it is given", () => {
  const evil =
    `<img src=x onerror="alert('1')">&</script><script>alert(2)</script>`;
  const run = madeUpRun({ stallAt: 2 });
  run.target = `unix:/tmp/${evil}`;
  run.firstError = evil;
  const html = renderReport([{ label: evil, run }, {
    label: "b",
    run: madeUpRun(),
  }], {
    title: evil,
  });
  assertNotMatch(html, /<img|<script>alert|onerror="/);
  assertStringIncludes(html, escapeHtml(evil));
  // In the data block too: no "</script>" nor "<" from the data.
  const data = /id="bench-runs">(.*?)<\/script>/s.exec(html)![1]!;
  assertNotMatch(data, /</);
  assertEquals(JSON.parse(data)[0].label, evil);
  assertEquals(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});

Deno.test("renderReport() overlays runs, one colour and one legend entry each", () => {
  const html = renderReport([
    { label: "before", run: madeUpRun({ seed: 1, medianUs: 60 }) },
    {
      label: "after",
      run: madeUpRun({ seed: 2, medianUs: 35, connections: 4, seconds: 3 }),
    },
  ]);
  const svgs = charts(html);
  for (const name of ["latency", "throughput", "p99"]) {
    const svg = svgs.get(name)!;
    assertMatch(svg, /class="data line c0"/, name);
    assertMatch(svg, /class="data line c1"/, name);
    assertMatch(
      svg,
      /<g class="legend">.*>before<\/text>.*>after<\/text>/,
      name,
    );
  }
  // One fairness panel a run.
  assertEquals(dataPaths(svgs.get("fairness")!).length, 2);
  assertMatch(svgs.get("fairness")!, />after: 4 connections, fairness/);
  assertMatch(html, /<title>echo-client bench: before vs after<\/title>/);
  assertMatch(
    html,
    /<td><span class="key c1"><\/span>after<span class="target">127\.0\.0\.1:2000<\/span><\/td>/,
  );
});

Deno.test("renderReport() marks the seconds with errors and breaks the line where none echoed", () => {
  const html = renderReport([{ label: "a", run: madeUpRun({ stallAt: 2 }) }]);
  const svgs = charts(html);
  assertEquals(
    [...svgs.get("throughput")!.matchAll(/class="error-mark c0"/g)].length,
    1,
  );
  // p99 over time: the empty second splits the line in two.
  const [p99] = dataPaths(svgs.get("p99")!);
  assertEquals(p99!.match(/M/g)!.length, 2);
});

Deno.test("renderReport() says so when a saved run has no series or histogram", () => {
  const old = JSON.parse(JSON.stringify(madeUpRun()));
  delete old.series;
  delete old.latencyBucketsNs;
  delete old.transport;
  delete old.startedAt;
  delete old.errors.lost;
  const run = parseBenchJson(JSON.stringify(old), "old.json");
  assertEquals(run.transport, "tcp");
  assertEquals(run.errors.lost, 0);
  const html = renderReport([{ label: "old", run }]);
  assertStringIncludes(html, "No latency histogram in these runs");
  assertStringIncludes(html, "No series in these runs");
  assertEquals(dataPaths(charts(html).get("fairness")!).length, 1);
});

Deno.test("parseBenchJson() reads a run back and refuses what is not one", async (t) => {
  const good = madeUpRun();
  assertEquals(parseBenchJson(JSON.stringify(good), "a.json"), good);
  // deno-lint-ignore no-explicit-any
  type Run = Record<string, any>;
  const cases: [string, (run: Run) => unknown, RegExp][] = [
    ["not JSON", () => "{", /^Invalid run "x.json": not JSON/],
    ["not an object", () => [1], /expected an object at "the top level"/],
    [
      "no target",
      (r) => ({ ...r, target: 5 }),
      /expected a string at "target"/,
    ],
    [
      "a string count",
      (r) => ({ ...r, roundTrips: "7" }),
      /a number at "roundTrips"/,
    ],
    ["an infinite rate", (r) => ({ ...r, rate: 1e999 }), /a number at "rate"/],
    [
      "a bad percentile",
      (r) => ({ ...r, latencyUs: { ...r.latencyUs, p99: "1" } }),
      /"latencyUs\.p99"/,
    ],
    ["a bad point", (r) => {
      r.series.points[3].open = null;
      return r;
    }, /"series\.points\[3\]\.open"/],
    [
      "a bad bucket",
      (r) => ({ ...r, latencyBucketsNs: [[1, 2]] }),
      /"latencyBucketsNs\[0\]"/,
    ],
    [
      "an unknown transport",
      (r) => ({ ...r, transport: "sctp" }),
      /"transport"/,
    ],
  ];
  for (const [name, edit, message] of cases) {
    await t.step(name, () => {
      const edited = edit(JSON.parse(JSON.stringify(good)));
      const text = typeof edited === "string" ? edited : JSON.stringify(edited);
      const error = assertThrows(
        () => parseBenchJson(text, "x.json"),
        TypeError,
      );
      assertMatch(error.message, message);
    });
  }
});

Deno.test("runLabels() names each run after its file, whole paths where names repeat", () => {
  assertEquals(runLabels(["a.json", "dir/b.JSON", "c"]), ["a", "b", "c"]);
  assertEquals(runLabels(["x/run.json", "y/run.json", "z.json"]), [
    "x/run.json",
    "y/run.json",
    "z",
  ]);
});

Deno.test("linearTicks() counts from 0 in round steps up to at least the maximum", () => {
  const values = (max: number): number[] =>
    linearTicks(max, String).map((t) => t.value);
  assertEquals(values(24_000), [0, 5000, 10_000, 15_000, 20_000, 25_000]);
  assertEquals(values(20_000), [0, 5000, 10_000, 15_000, 20_000]);
  assertEquals(values(0.3), [0, 0.1, 0.2, 0.3]);
  assertEquals(values(0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  for (const max of [1, 7, 99, 101, 12_345, 1e9 + 1]) {
    assert(values(max).at(-1)! >= max, `${max}`);
  }
});

Deno.test("logTicks() ends the axis on round values around the data", () => {
  const label = (v: number): string => String(v);
  assertEquals(logTicks(18, 11_000, label).domain, [10, 20_000]);
  assertEquals(logTicks(250, 260, label).domain, [200, 500]);
  assertEquals(
    logTicks(1, 1000, label).ticks.map((t) => t.value),
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
  );
  assertEquals(logTicks(1, 1e9, label).ticks.length, 10);
});

Deno.test("formatProgress() shows the phase: warm-up, measuring, draining", () => {
  const p = {
    roundTripsPerSecond: 12345.6,
    p99: 85_200,
    errors: 0,
    roundTrips: 1,
  };
  assertEquals(
    formatProgress("127.0.0.1:2000", 5000, {
      ...p,
      phase: "warmup",
      elapsed: -500,
    }),
    "127.0.0.1:2000: warm-up, 0.50 s left, 12,346 round trips/s, p99 85.2 µs, 0 error(s)",
  );
  assertEquals(
    formatProgress("udp://[::1]:7", 5000, {
      ...p,
      phase: "measure",
      elapsed: 2000,
    }),
    "udp://[::1]:7: measuring 2.00 s / 5.00 s, 12,346 round trips/s, p99 85.2 µs, 0 error(s)",
  );
  assertEquals(
    formatProgress("h:1", 0, { ...p, phase: "measure", elapsed: 2000 }),
    "h:1: measuring 2.00 s, 12,346 round trips/s, p99 85.2 µs, 0 error(s)",
  );
  assertMatch(
    formatProgress("h:1", 5000, { ...p, phase: "drain", elapsed: 5001 }),
    /^h:1: draining \(waiting for the last echoes\), /,
  );
});

Deno.test("commandTarget() names where the load goes as the user wrote it", () => {
  const at = { hostname: "::1", port: 2443, path: "" };
  assertEquals(commandTarget({ ...at, transport: "tcp" }), "[::1]:2443");
  assertEquals(commandTarget({ ...at, transport: "tls" }), "tls://[::1]:2443");
  assertEquals(
    commandTarget({
      hostname: "localhost",
      port: 7,
      path: "",
      transport: "udp",
    }),
    "udp://localhost:7",
  );
  assertEquals(
    commandTarget({ ...at, transport: "unix", path: "/run/echo.sock" }),
    "unix:/run/echo.sock",
  );
});
