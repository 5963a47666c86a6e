// Copyright the deno-echo authors. MIT license.

// echo-server --workers as a real process.

import { assertEquals, assertMatch, assertNotMatch } from "@std/assert";
import {
  assertNoCrash,
  assertStopsCleanly,
  assertUsage,
  connectTo,
  projectPath,
  roundTrip,
  runServer,
  startServer,
} from "../_helpers/cli.ts";

const decoder = new TextDecoder();

/**
 * How to run the server with workers: the compiled binary has
 * `--unstable-net` baked in; `deno run` needs it, and --allow-read for the
 * worker module.
 */
const WORKERS_COMMAND = Deno.env.get("ECHO_SERVER_BIN")
  ? [Deno.env.get("ECHO_SERVER_BIN")!]
  : [
    Deno.execPath(),
    "run",
    "--unstable-net",
    "--allow-net",
    "--allow-read",
    projectPath("server.ts"),
  ];

Deno.test("echo-server --workers", async (t) => {
  await t.step(
    "--workers 2 serves from both isolates, logs the worker, stops on SIGTERM",
    async () => {
      await using server = await startServer(
        ["--workers", "2", "--hostname", "127.0.0.1"],
        { command: WORKERS_COMMAND },
      );
      await server.waitFor("stderr", "2 workers accept on each TCP");
      // 24 connections on 2 listeners all on one: once in 8 million runs.
      for (let i = 0; i < 24; i++) {
        using conn = await connectTo(server.addrs[0]!);
        assertEquals(decoder.decode(await roundTrip(conn, `${i}\n`)), `${i}\n`);
      }
      const log = await server.waitFor(
        "stderr",
        (text) => (text.match(/closed: client closed/g) ?? []).length === 24,
      );
      assertMatch(log, / on worker 0 connected/);
      assertMatch(log, / on worker 1 connected/);
      await assertStopsCleanly(server);
    },
  );

  await t.step("--workers 1 is the plain server", async () => {
    await using server = await startServer(["--workers", "1"], {
      command: WORKERS_COMMAND,
      listening: 2,
    });
    using conn = await connectTo(server.addrs[0]!);
    assertEquals(decoder.decode(await roundTrip(conn, "one\n")), "one\n");
    const log = await server.waitFor("stderr", "closed: client closed");
    assertNotMatch(log, /worker/);
    await assertStopsCleanly(server);
  });

  for (const bad of ["0", "x", "1.5", "257"]) {
    await t.step(`--workers ${bad} is a usage error`, async () => {
      assertUsage(
        await runServer(["--workers", bad], WORKERS_COMMAND),
        "echo-server",
        /--workers/,
      );
    });
  }

  if (Deno.env.get("ECHO_SERVER_BIN")) return;
  await t.step(
    "without --unstable-net: exit 2, saying which flag is missing",
    async () => {
      assertUsage(
        await runServer(["--workers", "2", "--port", "0"]),
        "echo-server",
        /--workers 2: workers need Deno's --unstable-net flag, given to deno run, deno install or deno compile \(deno task server has it\); or give --workers 1/,
      );
    },
  );

  await t.step(
    "--workers auto without --unstable-net: one isolate, no error",
    async () => {
      await using server = await startServer(
        ["--workers", "auto", "--hostname", "127.0.0.1"],
      );
      using conn = await connectTo(server.addrs[0]!);
      assertEquals(decoder.decode(await roundTrip(conn, "auto\n")), "auto\n");
      const log = await server.waitFor("stderr", "closed: client closed");
      assertNotMatch(log, /worker/);
      await assertStopsCleanly(server);
    },
  );

  await t.step(
    "without --allow-read: exit 4, saying what to allow",
    async () => {
      const result = await runServer(
        ["--workers", "2", "--port", "0"],
        [
          Deno.execPath(),
          "run",
          "--unstable-net",
          "--allow-net",
          projectPath("server.ts"),
        ],
      );
      assertEquals(result.code, 4, result.stderr);
      assertNoCrash(result.stderr);
      assertMatch(
        result.stderr,
        /Deno denied read access to ".*worker_main\.ts" \(the workers' module\)\. Run with --allow-read/,
      );
    },
  );
});
