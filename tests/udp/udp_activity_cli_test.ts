// Copyright the deno-echo authors. MIT license.

// echo-server as a real process: the log lines that show datagrams getting
// through a udp:// listener.

import { assert, assertEquals, assertMatch, assertNotMatch } from "@std/assert";
import { udpEcho } from "../../mod.ts";
import { lines, logLine } from "../_helpers/cli.ts";
import { startListening } from "../server/_transport.ts";

Deno.test("echo-server logs a source's first datagram at once, the next ones in one line, none with --quiet", async (t) => {
  await t.step("logged", async () => {
    await using server = await startListening([
      "--listen",
      "udp://127.0.0.1:0",
    ]);
    const { port } = server.listening[0]!;
    await udpEcho("hello", { hostname: "127.0.0.1", port });
    await server.waitFor(
      "stderr",
      logLine("udp from 127\\.0\\.0\\.1: 1 datagram echoed \\(5 bytes\\)"),
    );
    // Within the interval (10 s): counted, told when it ends or the server
    // stops, whichever comes first.
    for (const text of ["a", "bb", "ccc"]) {
      await udpEcho(text, { hostname: "127.0.0.1", port });
    }
    const result = await server.stop("SIGTERM");
    assertEquals(result.code, 0, result.stderr);
    const log = lines(result.stderr);
    const activity = log.filter((l) => / udp from /.test(l));
    assertEquals(activity.length, 2, result.stderr);
    assertMatch(
      activity[1]!,
      logLine(
        "udp from 127\\.0\\.0\\.1: 3 datagrams echoed in [0-9.]+ m?s \\(6 bytes\\)",
      ),
    );
    const stopped = log.findIndex((l) => l.endsWith(" stopped"));
    assert(log.indexOf(activity[1]!) < stopped, "before the last line");
    assertMatch(
      result.stderr,
      logLine(
        `udp://127\\.0\\.0\\.1:${port}: 4 datagrams echoed; dropped: none`,
      ),
    );
  });

  await t.step("--quiet", async () => {
    await using server = await startListening([
      "--listen",
      "udp://127.0.0.1:0",
      "--quiet",
    ]);
    const { port } = server.listening[0]!;
    await udpEcho("hello", { hostname: "127.0.0.1", port });
    const result = await server.stop("SIGTERM");
    assertEquals(result.code, 0, result.stderr);
    assertNotMatch(result.stderr, / udp from /);
    assertMatch(
      result.stderr,
      logLine(
        `udp://127\\.0\\.0\\.1:${port}: 1 datagram echoed; dropped: none`,
      ),
    );
  });
});
