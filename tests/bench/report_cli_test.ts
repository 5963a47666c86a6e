// Copyright the deno-echo authors. MIT license.

// `echo-client bench --report` and `echo-client bench report` as real
// processes: the files they write, and their mistakes.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { serve } from "../../mod.ts";
import {
  CLIENT_COMMAND,
  type Command,
  projectPath,
  run,
} from "../_helpers/cli.ts";
import { madeUpRun } from "./_runs.ts";

/** The client with the file permissions the reports need. */
const CLIENT: Command = Deno.env.get("ECHO_CLIENT_BIN") ? CLIENT_COMMAND : [
  Deno.execPath(),
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  projectPath("client.ts"),
];

const client = (args: string[]) => run(CLIENT, args);

Deno.test("echo-client bench --report writes the HTML report of the run, besides --json", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const port = server.addrs[0]!.port;
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/run.html`;
    const result = await client([
      "bench",
      `127.0.0.1:${port}`,
      "-c",
      "2",
      "-d",
      "1200ms",
      "--warmup",
      "100ms",
      "--json",
      "--report",
      file,
    ]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stderr, "");
    const json = JSON.parse(result.stdout);
    assertEquals(json.series.intervalMs, 1000);
    assert(json.series.points.length >= 1);
    const html = await Deno.readTextFile(file);
    assertStringIncludes(
      html,
      `<title>echo-client bench: 127.0.0.1:${port}</title>`,
    );
    assertEquals(
      [...html.matchAll(/<svg class="chart" data-chart="/g)].length,
      4,
    );
    // The page carries the run it draws.
    const data = /id="bench-runs">(.*)<\/script>/.exec(html)![1]!;
    assertEquals(JSON.parse(data)[0].run, json);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("echo-client bench --report refuses a folder that does not exist before sending any load", async () => {
  let opened = 0;
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    onEvent: (event) => {
      if (event.type === "open") opened++;
    },
  });
  const result = await client([
    "bench",
    `127.0.0.1:${server.addrs[0]!.port}`,
    "--report",
    "/nonexistent-folder/run.html",
  ]);
  assertEquals(result.code, 2);
  assertMatch(
    result.stderr,
    /^echo-client bench: Invalid --report "\/nonexistent-folder\/run.html": no folder "\/nonexistent-folder" to write it in\n/,
  );
  assertEquals(opened, 0);
});

Deno.test("echo-client bench report overlays saved runs in one HTML file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/before.json`,
      JSON.stringify(madeUpRun({ seed: 1 })),
    );
    await Deno.writeTextFile(
      `${dir}/after.json`,
      JSON.stringify(madeUpRun({ seed: 2, medianUs: 30 })),
    );
    const out = `${dir}/compare.html`;
    const result = await client([
      "bench",
      "report",
      `${dir}/before.json`,
      `${dir}/after.json`,
      "-o",
      out,
    ]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout + result.stderr, "");
    const html = await Deno.readTextFile(out);
    assertStringIncludes(
      html,
      "<title>echo-client bench: before vs after</title>",
    );
    assertMatch(html, /<g class="legend">.*>before<\/text>.*>after<\/text>/);
    const titled = await client([
      "bench",
      "report",
      `${dir}/before.json`,
      "--title",
      "Tuesday <b>",
      "-o",
      out,
    ]);
    assertEquals(titled.code, 0, titled.stderr);
    assertStringIncludes(
      await Deno.readTextFile(out),
      "<h1>Tuesday &lt;b&gt;</h1>",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("echo-client bench report exits 2 on a bad command line or a file that is not a run", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, '{"target": 1}');
    await Deno.writeTextFile(`${dir}/good.json`, JSON.stringify(madeUpRun()));
    for (
      const [args, message] of [
        [["-o", `${dir}/x.html`], /Expected one or more saved runs/],
        [[`${dir}/good.json`], /Expected -o FILE\.html/],
        [[`${dir}/good.json`, "-o"], /needs a value/],
        [
          [`${dir}/missing.json`, "-o", `${dir}/x.html`],
          /Cannot read .*missing\.json: /,
        ],
        [
          [`${dir}/bad.json`, "-o", `${dir}/x.html`],
          /Invalid run ".*bad\.json": expected a string at "target"/,
        ],
        [["--bogus"], /Unknown option --bogus/],
      ] as const
    ) {
      await t.step(args.join(" ").replaceAll(dir, "DIR"), async () => {
        const result = await client(["bench", "report", ...args]);
        assertEquals(result.code, 2, result.stderr);
        assertEquals(result.stdout, "");
        assertMatch(result.stderr, message);
        assertMatch(result.stderr, /Try 'echo-client bench report --help'/);
      });
    }
    await t.step("--help", async () => {
      const result = await client(["bench", "report", "--help"]);
      assertEquals(result.code, 0);
      assertMatch(result.stdout, /^Usage: echo-client bench report /);
      assertMatch(result.stdout, /-o, --output FILE/);
    });
    await t.step("a report that cannot be written", async () => {
      const result = await client([
        "bench",
        "report",
        `${dir}/good.json`,
        "-o",
        `${dir}/no/such/folder.html`,
      ]);
      assertEquals(result.code, 1);
      assertMatch(
        result.stderr,
        /^echo-client bench report: Cannot write the report: /,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
