// Copyright the deno-echo authors. MIT license.

// Both programs as real processes whose standard output fails: a full
// device (/dev/full, ENOSPC) is a failure, said on stderr with exit 1; a
// reader that goes away (`| head -1`, EPIPE) is no failure and stays quiet.

import { assert, assertEquals, assertMatch } from "@std/assert";
import { serve } from "../../mod.ts";
import {
  CLIENT_COMMAND,
  type Command,
  lines,
  type ProcessResult,
  projectPath,
  run,
  SERVER_COMMAND,
  stackFrames,
} from "../_helpers/cli.ts";

// Asked of bash: Deno's permissions guard /dev as a whole.
const HAS_DEV_FULL = await new Deno.Command("bash", {
  args: ["-c", "test -c /dev/full"],
}).output().then((out) => out.success, () => false);
const ignore = !HAS_DEV_FULL;

/** `command`, run by bash with its standard output on /dev/full. */
function toFull(command: Command): Command {
  return ["bash", "-c", 'exec "$@" > /dev/full', "bash", ...command];
}

/**
 * `command`, run by bash with its standard output into `head -1`; bash
 * exits with the program's own code.
 */
function toHead(command: Command): Command {
  return [
    "bash",
    "-c",
    '"$@" | head -1; exit "${PIPESTATUS[0]}"',
    "bash",
    ...command,
  ];
}

/** Asserts exit 1 and one line on stderr: the cause and what to do. */
function assertOutputFailed(
  result: ProcessResult,
  program: string,
  what: string,
): void {
  assertEquals(result.code, 1, result.stderr);
  const errors = lines(result.stderr).filter((line) =>
    !line.startsWith("Connected to ")
  );
  assertEquals(errors, [
    `${program}: Cannot write ${what} to standard output: ` +
    "No space left on device (os error 28). " +
    "Free some space, or write the output elsewhere",
  ]);
  assertEquals(stackFrames(result.stderr), []);
}

/** Asserts a quiet success: exit 0, nothing on stderr. */
function assertQuiet(result: ProcessResult): void {
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stderr, "");
}

const manyLines = Array.from({ length: 100_000 }, (_, i) => `line ${i}\n`)
  .join("");

Deno.test({
  name: "echo-client fails with exit 1 when standard output is full",
  ignore,
  async fn(t): Promise<void> {
    await using server = await serve({ hostname: "127.0.0.1", port: 0 });
    const port = String(server.addrs[0]!.port);
    const client = toFull(CLIENT_COMMAND);
    for (
      const [name, flags] of [
        ["lines", []],
        ["--raw", ["--raw"]],
        ["--verify", ["--verify"]],
        ["--interactive", ["--interactive"]],
      ] as const
    ) {
      await t.step(`the echo (${name})`, async () => {
        const result = await run(
          client,
          [...flags, "127.0.0.1", port],
          "x\ny\n",
        );
        assertOutputFailed(result, "echo-client", "the echo");
      });
    }
    await t.step("a long input: the echo", async () => {
      const result = await run(client, ["127.0.0.1", port], manyLines);
      assertOutputFailed(result, "echo-client", "the echo");
    });
    await t.step("--help and --version", async () => {
      assertOutputFailed(
        await run(client, ["--help"]),
        "echo-client",
        "the usage",
      );
      assertOutputFailed(
        await run(client, ["--version"]),
        "echo-client",
        "the version",
      );
    });
  },
});

Deno.test({
  name: "echo-client ping and bench fail with exit 1 when stdout is full",
  ignore,
  async fn(t): Promise<void> {
    await using server = await serve({ hostname: "127.0.0.1", port: 0 });
    const target = `127.0.0.1:${server.addrs[0]!.port}`;
    const client = toFull(CLIENT_COMMAND);
    await t.step("ping: the probe lines", async () => {
      const result = await run(client, ["ping", target, "-c", "1"]);
      assertOutputFailed(result, "echo-client ping", "the ping results");
    });
    await t.step("ping --json", async () => {
      const result = await run(client, ["ping", target, "-c", "1", "--json"]);
      assertOutputFailed(result, "echo-client ping", "the ping results");
    });
    await t.step("ping --quiet: the summary", async () => {
      const result = await run(client, ["ping", target, "-c", "1", "-q"]);
      assertOutputFailed(result, "echo-client ping", "the ping summary");
    });
    await t.step("ping --help", async () => {
      const result = await run(client, ["ping", "--help"]);
      assertOutputFailed(result, "echo-client ping", "the usage");
    });
    await t.step("bench: the results", async () => {
      const result = await run(client, [
        "bench",
        target,
        "-c",
        "1",
        "-n",
        "20",
      ]);
      assertOutputFailed(result, "echo-client bench", "the results");
    });
    await t.step("bench --help", async () => {
      const result = await run(client, ["bench", "--help"]);
      assertOutputFailed(result, "echo-client bench", "the usage");
    });
    await t.step(
      "bench --report: the HTML report is still written",
      async () => {
        const folder = await Deno.makeTempDir();
        try {
          const report = `${folder}/run.html`;
          const command = toFull([
            Deno.execPath(),
            "run",
            "--allow-net",
            `--allow-read=${folder}`,
            `--allow-write=${folder}`,
            projectPath("client.ts"),
          ]);
          const result = await run(command, [
            "bench",
            target,
            "-c",
            "1",
            "-n",
            "20",
            "--report",
            report,
          ]);
          assertOutputFailed(result, "echo-client bench", "the results");
          assertMatch(await Deno.readTextFile(report), /<html/i);
        } finally {
          await Deno.remove(folder, { recursive: true });
        }
      },
    );
  },
});

Deno.test({
  name: "echo-server fails with exit 1 when standard output is full",
  ignore,
  async fn(t): Promise<void> {
    const server = toFull(SERVER_COMMAND);
    await t.step("--help and --version", async () => {
      assertOutputFailed(
        await run(server, ["--help"]),
        "echo-server",
        "the usage",
      );
      assertOutputFailed(
        await run(server, ["--version"]),
        "echo-server",
        "the version",
      );
    });
    await t.step("the Listening on line: it stops at once", async () => {
      const result = await run(server, [
        "--hostname",
        "127.0.0.1",
        "--port",
        "0",
      ]);
      assertEquals(result.code, 1, result.stderr);
      const failures = lines(result.stderr).filter((line) =>
        line.startsWith("echo-server:")
      );
      assertEquals(failures, [
        "echo-server: Cannot write the listening address to standard " +
        "output: No space left on device (os error 28). " +
        "Free some space, or write the output elsewhere",
      ]);
      assertEquals(stackFrames(result.stderr), []);
    });
  },
});

Deno.test({
  name: "a reader that goes away (| head -1) is no failure",
  ignore,
  async fn(t): Promise<void> {
    await using server = await serve({ hostname: "127.0.0.1", port: 0 });
    const port = String(server.addrs[0]!.port);
    const client = toHead(CLIENT_COMMAND);
    for (const flags of [[], ["--raw"], ["--verify"]]) {
      await t.step(`echo-client ${flags.join(" ")}`.trim(), async () => {
        const result = await run(
          client,
          [...flags, "127.0.0.1", port],
          manyLines,
        );
        assertQuiet(result);
        assertEquals(result.stdout, "line 0\n");
      });
    }
    await t.step("echo-client ping", async () => {
      const result = await run(client, [
        "ping",
        `127.0.0.1:${port}`,
        "-c",
        "3",
        "-i",
        "0.05",
      ]);
      assertQuiet(result);
      assertMatch(result.stdout, /^PING 127\.0\.0\.1:/);
    });
    await t.step("echo-client --help", async () => {
      const result = await run(client, ["--help"]);
      assertQuiet(result);
      assert(result.stdout.startsWith("Usage: echo-client"), result.stdout);
    });
    await t.step("echo-server --help", async () => {
      const result = await run(toHead(SERVER_COMMAND), ["--help"]);
      assertQuiet(result);
      assert(result.stdout.startsWith("Usage: echo-server"), result.stdout);
    });
  },
});
