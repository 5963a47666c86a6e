// Copyright the deno-echo authors. MIT license.

/**
 * Takes a screenshot of an HTML report in headless Chromium, as the one in
 * docs/bench.md was taken:
 *
 *   deno run --allow-run --allow-read --allow-write --allow-env --allow-net \
 *     tests/bench/report_screenshot.ts REPORT.html OUT.png [light|dark]
 *
 * The page is 1200 px wide; the screenshot holds all of it. Fails if the
 * page logged an error or threw.
 *
 * @module
 */

import { resolve } from "@std/path/resolve";
import { toFileUrl } from "@std/path/to-file-url";
import { Browser } from "./_chromium.ts";

const [report, output, scheme = "light"] = Deno.args;
if (
  report === undefined || output === undefined ||
  (scheme !== "light" && scheme !== "dark")
) {
  throw new TypeError(
    "Usage: report_screenshot.ts REPORT.html OUT.png [light|dark]",
  );
}
await using browser = await Browser.launch();
await browser.colorScheme(scheme);
await browser.open(toFileUrl(resolve(report)).href, 1200, 1600);
await Deno.writeFile(output, await browser.screenshot());
if (browser.problems.length > 0) {
  throw new Error(`The page reported: ${JSON.stringify(browser.problems)}`);
}
