// Copyright the deno-echo authors. MIT license.

// `deno task bench --workers N` as a real process: the scaling table, and
// its command line.

import { assert, assertEquals, assertMatch } from "@std/assert";
import { projectPath, run } from "../_helpers/cli.ts";

/** `deno run` as the bench task runs the suite. */
const SUITE = [
  Deno.execPath(),
  "run",
  "--allow-net=127.0.0.1",
  "--allow-run",
  "--allow-read",
  projectPath("tests/bench/suite.ts"),
];

/** One row of the table: isolates, then the nine figures, then a note. */
const ROW = new RegExp(
  "^ *([0-9]+) +([0-9,]+) +([0-9.]+) +([0-9]+)% +([0-9.]+) +([0-9.]+) +" +
    "([0-9,]+) +([0-9.]+) +([0-9.]+) *(cores shared)?$",
);

Deno.test("suite.ts --workers 2 prints the scaling table for 1 and 2 isolates", async () => {
  const result = await run(SUITE, ["0.5", "--workers", "2"], undefined, 30_000);
  assertEquals(result.code, 0, result.stdout + result.stderr);
  const cpus = navigator.hardwareConcurrency;
  assertMatch(result.stdout, new RegExp(`this machine has ${cpus} CPUs`));
  assertMatch(result.stdout, /^isolates +round trips\/s +server CPU/m);
  const rows = result.stdout.split("\n").flatMap((line) => {
    const match = ROW.exec(line);
    return match === null ? [] : [match];
  });
  assertEquals(rows.map((m) => Number(m[1])), [1, 2], result.stdout);
  for (const row of rows) {
    const figures = row.slice(2, 10).map((x) => Number(x!.replaceAll(",", "")));
    assert(figures.every((x) => x > 0), `not all positive: ${row[0]}`);
    const isolates = Number(row[1]);
    assertEquals(row[10] === "cores shared", 2 * isolates > cpus, row[0]);
  }
  // e(1) and x ideal at one isolate are 1 by definition.
  assertEquals(rows[0]![6], "1.00");
  assertEquals(rows[0]![8], "1.00");
  // --workers replaces the load suite and the micro-benchmarks.
  assert(!result.stdout.includes("ping-pong"), result.stdout);
  assert(!result.stdout.includes("benchmark"), result.stdout);
});

Deno.test("suite.ts rejects bad arguments with one clear line", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--workers", "0"], /Invalid --workers "0": expected a whole number/],
    [["--workers", "abc"], /Invalid --workers "abc": expected a whole number/],
    [["--workers"], /Invalid --workers "": expected a whole number/],
    [["abc", "--workers", "2"], /Invalid seconds "abc"/],
    [["--worker", "2"], /Unknown option "--worker"/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const result = await run(SUITE, args);
      assertEquals(result.code, 2);
      assertEquals(result.stdout, "");
      assertMatch(result.stderr, message);
      assertMatch(result.stderr, /^Usage: deno task bench/m);
    });
  }
});
