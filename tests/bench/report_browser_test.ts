// Copyright the deno-echo authors. MIT license.

// The HTML report in a real browser: a short run against a real server,
// its report (and a comparison of two runs) opened in headless Chromium,
// every chart measured as rendered, in light and dark mode, with no console
// error. Ignored where Chromium is not installed (Debian: apt-get install
// chromium).

import { assert, assertEquals } from "@std/assert";
import { runBench } from "../../client.ts";
import { serve } from "../../mod.ts";
import { renderReport } from "../../src/cli/bench_html.ts";
import { benchJson } from "../../src/cli/bench_json.ts";
import { Browser, CHROMIUM, hasChromium } from "./_chromium.ts";
import { NO_ERRORS } from "./_scripted_server.ts";

const ignore = !hasChromium();
if (ignore) {
  // deno-lint-ignore no-console
  console.log(`ignored: the browser tests need ${CHROMIUM}`);
}

/** What the page reports about its charts, measured by the browser. */
interface Rendered {
  charts: { name: string; width: number; paths: number[] }[];
  background: string;
  text: string;
  scripts: number;
  title: string;
}

const MEASURE = `(() => {
  const charts = [...document.querySelectorAll("svg[data-chart]")].map((svg) => ({
    name: svg.dataset.chart,
    width: svg.getBoundingClientRect().width,
    paths: [...svg.querySelectorAll("path.data")].map((p) =>
      p.getAttribute("d") === "" ? 0 : p.getTotalLength()
    ),
  }));
  const text = document.querySelector("svg[data-chart] .axis-title");
  return {
    charts,
    background: getComputedStyle(document.body).backgroundColor,
    text: getComputedStyle(text).fill,
    scripts: document.querySelectorAll("script:not([type='application/json'])").length,
    title: document.title,
  };
})()`;

const PNG = [0x89, 0x50, 0x4e, 0x47];

Deno.test({
  name:
    "the report of a real run renders in Chromium, in light and dark mode, without console errors",
  ignore,
  async fn(): Promise<void> {
    await using server = await serve({ hostname: "127.0.0.1", port: 0 });
    const port = server.addrs[0]!.port;
    const run = async (
      connections: number,
    ): Promise<ReturnType<typeof benchJson>> => {
      const result = await runBench({
        hostname: "127.0.0.1",
        port,
        connections,
        warmup: 200,
        duration: 1500,
      });
      assertEquals(result.errors, NO_ERRORS);
      return benchJson(result);
    };
    const first = await run(4);
    const second = await run(2);
    const dir = await Deno.makeTempDir({ prefix: "bench-report-" });
    try {
      const title = `</title><script>alert("x")</script>`;
      const pages = {
        one: renderReport([{ label: first.target, run: first }]),
        two: renderReport([
          { label: "4 connections", run: first },
          { label: "2 connections", run: second },
        ], { title }),
      };
      await using browser = await Browser.launch();
      for (const [name, html] of Object.entries(pages)) {
        const file = `${dir}/${name}.html`;
        await Deno.writeTextFile(file, html);
        for (const scheme of ["light", "dark"] as const) {
          await browser.colorScheme(scheme);
          await browser.open(`file://${file}`, 1200, 1600);
          const page = await browser.evaluate<Rendered>(MEASURE);
          const where = `${name}, ${scheme}`;
          assertEquals(
            page.charts.map((c) => c.name),
            ["latency", "throughput", "p99", "fairness"],
            where,
          );
          for (const chart of page.charts) {
            assert(
              chart.width > 800,
              `${where}: ${chart.name} is ${chart.width} px wide`,
            );
            assert(
              chart.paths.length > 0,
              `${where}: ${chart.name} has no data path`,
            );
            assert(
              chart.paths.every((length) => length > 0),
              `${where}: ${chart.name} paths ${chart.paths}`,
            );
          }
          if (name === "two") {
            // Both runs in each chart but the fairness panels (one each).
            assert(page.charts.every((c) => c.paths.length >= 2), where);
            assertEquals(page.title, title, "the title is text, not markup");
          }
          assertEquals(page.scripts, 0, where);
          const [background, text] = scheme === "light"
            ? ["rgb(255, 255, 255)", "rgb(31, 35, 40)"]
            : ["rgb(13, 17, 23)", "rgb(230, 237, 243)"];
          assertEquals(page.background, background, where);
          assertEquals(page.text, text, where);
          const png = await browser.screenshot();
          assertEquals([...png.subarray(0, 4)], PNG, where);
          assert(
            png.length > 20_000,
            `${where}: a ${png.length}-byte screenshot`,
          );
        }
      }
      assertEquals(browser.problems, [], "console errors or exceptions");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
