// Copyright the deno-echo authors. MIT license.

// Both programs under `deno run` without the permissions they need: exit 4
// and one line that names the flag to add. (Compiled binaries carry their
// permissions, so these run the scripts.)

import { assertEquals, assertMatch } from "@std/assert";
import {
  type Command,
  lines,
  projectPath,
  run,
  stackFrames,
} from "../_helpers/cli.ts";
import { assertFailed, closedPort } from "./_client.ts";

/** `deno run` with only `flags`, never asking. */
function script(name: string, flags: readonly string[] = []): Command {
  return [Deno.execPath(), "run", "--no-prompt", ...flags, projectPath(name)];
}

/** What every permission message ends with, as a pattern. */
const ALL_FLAGS =
  " \\(all it may use: --allow-net --allow-read --allow-write\\)";

Deno.test("echo-client exits 4 and names the --allow flag when Deno denies a permission", async (t) => {
  const port = String(closedPort());
  const cases: [string, string[], string[], RegExp][] = [
    [
      "net, dialing an address",
      [],
      ["127.0.0.1", port],
      new RegExp(
        `Deno denied net access to "127\\.0\\.0\\.1:${port}"\\. Run with --allow-net${ALL_FLAGS}$`,
      ),
    ],
    [
      "net, looking up a name",
      [],
      ["localhost", port],
      /Deno denied net access to look up "localhost"\. Run with --allow-net \(all it may use: --allow-net --allow-read --allow-write\)$/,
    ],
    [
      "net, udp://",
      [],
      [`udp://127.0.0.1:${port}`],
      /Run with --allow-net \(all it may use: --allow-net --allow-read --allow-write\)$/,
    ],
    [
      "read, a unix: socket",
      ["--allow-net"],
      ["unix:/nonexistent/echo.sock"],
      /Deno denied read access to "\/nonexistent\/echo\.sock"\. Run with --allow-read \(all it may use: --allow-net --allow-read --allow-write\)$/,
    ],
    [
      "read, a CA file",
      ["--allow-net"],
      ["--tls", "--ca", "ca.pem", "localhost", port],
      /Deno denied read access to ".*ca\.pem"\. Run with --allow-read \(all it may use: --allow-net --allow-read --allow-write\)$/,
    ],
  ];
  for (const [name, flags, args, message] of cases) {
    await t.step(name, async () => {
      const result = await run(script("client.ts", flags), args, "a\n");
      assertFailed(result, 4, message);
    });
  }
});

Deno.test("echo-server exits 4 and names the --allow flag when Deno denies a permission", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "the default host (a name)",
      ["--port", "0"],
      /look up "localhost"\. Run with --allow-net/,
    ],
    [
      "an address",
      ["-H", "127.0.0.1", "--port", "0"],
      /"127\.0\.0\.1:0"\. Run with --allow-net/,
    ],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const result = await run(script("server.ts"), args);
      assertEquals(result.code, 4, result.stderr);
      const [line, ...rest] = lines(result.stderr);
      assertEquals(rest, [], result.stderr);
      assertMatch(
        line ?? "",
        /^echo-server: Cannot listen on .*: Deno denied /,
      );
      assertMatch(line ?? "", message);
      assertEquals(stackFrames(result.stderr), []);
    });
  }
});
