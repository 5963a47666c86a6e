// Copyright the deno-echo authors. MIT license.

// The binaries built by `deno task compile`, run through a smoke subset of the
// CLI tests. `deno compile` needs denort: it downloads it, or takes
// DENORT_BIN. When it cannot get it (no network) the test says so on stdout
// and passes without asserting; any other compile failure fails the test.

import { assert, assertEquals, assertMatch } from "@std/assert";
import { basename, join } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import {
  type Command,
  connectTo,
  lines,
  PROJECT_ROOT,
  roundTrip,
  runClient,
  runServer,
  stackFrames,
  startServer,
} from "../_helpers/cli.ts";

const SKIPPED =
  "skipped: compile test: deno compile cannot get denort (set DENORT_BIN=/path/to/denort)";

const decoder = new TextDecoder();

/**
 * The arguments of a `deno compile` task from deno.json, with its `--output`
 * moved into `dir` (same file name).
 */
function compileArgs(
  task: string,
  dir: string,
): { args: string[]; output: string } {
  const words = task.trim().split(/\s+/);
  assertEquals(words.slice(0, 2), ["deno", "compile"], task);
  const at = words.indexOf("--output");
  const original = words[at + 1];
  assert(at > 0 && original !== undefined, `no --output in: ${task}`);
  const output = join(dir, basename(original));
  words[at + 1] = output;
  return { args: words.slice(1), output };
}

/** What a failed compile says when denort could not be downloaded. */
function cannotGetDenort(stderr: string): boolean {
  return /denort/i.test(stderr) &&
    /dns error|failed to lookup address|error sending request|Connect/i.test(
      stderr,
    );
}

/**
 * Runs a deno.json compile task into `dir`.
 *
 * @returns The binary, or `null` if denort could not be had and DENORT_BIN
 * is not set.
 * @throws {Error} If the compile failed for any other reason.
 */
async function compile(
  taskName: "compile:server" | "compile:client",
  dir: string,
): Promise<string | null> {
  const tasks: Record<string, string> = denoJson.tasks;
  const task = tasks[taskName];
  assert(task !== undefined, `deno.json has no ${taskName} task`);
  const { args, output } = compileArgs(task, dir);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const errors = decoder.decode(stderr);
  if (code !== 0) {
    if (!Deno.env.get("DENORT_BIN") && cannotGetDenort(errors)) return null;
    throw new Error(`${taskName} failed (exit ${code}):\n${errors}`);
  }
  const info = await Deno.stat(output);
  assert(info.isFile && info.size > 0, `${output} was not written`);
  return output;
}

Deno.test("deno task compile builds an echo-server and echo-client that pass the CLI smoke tests", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "deno-echo-compile-" });
  try {
    const builds = await Promise.allSettled([
      compile("compile:server", dir),
      compile("compile:client", dir),
    ]);
    const [server, client] = builds.map((build) => {
      if (build.status === "rejected") throw build.reason;
      return build.value;
    }) as [string | null, string | null];
    if (server === null || client === null) {
      // deno-lint-ignore no-console
      console.log(SKIPPED);
      return;
    }
    const serverCommand: Command = [server];
    const clientCommand: Command = [client];

    await t.step("echo-server --version and a bad argument", async () => {
      const version = await runServer(["--version"], serverCommand);
      assertEquals(version.code, 0, version.stderr);
      assertEquals(version.stdout, `echo-server ${denoJson.version}\n`);
      const bad = await runServer(["--port", "abc"], serverCommand);
      assertEquals(bad.code, 2, bad.stderr);
      assertMatch(bad.stderr, /Try 'echo-server --help'/);
      assertEquals(stackFrames(bad.stderr), []);
    });

    await t.step(
      "echo-server listens on both loopbacks, echoes, stops on SIGTERM",
      async () => {
        await using proc = await startServer([], {
          command: serverCommand,
          listening: 2,
        });
        assertEquals(proc.addrs.map((a) => a.text), [
          `127.0.0.1:${proc.port}`,
          `[::1]:${proc.port}`,
        ]);
        for (const addr of proc.addrs) {
          using conn = await connectTo(addr);
          assertEquals(decoder.decode(await roundTrip(conn, "hi\n")), "hi\n");
        }
        await proc.waitFor(
          "stderr",
          (text) => (text.match(/closed: client closed/g) ?? []).length === 2,
        );
        const result = await proc.stop("SIGTERM");
        assertEquals(result.code, 0, result.stderr);
        assertMatch(result.stderr, /stopped/);
      },
    );

    await t.step(
      "echo-server --workers 2 (--unstable-net and the worker module built in)",
      async () => {
        await using proc = await startServer(
          ["--workers", "2", "--hostname", "127.0.0.1"],
          { command: serverCommand },
        );
        for (let i = 0; i < 24; i++) {
          using conn = await connectTo(proc.addrs[0]!);
          assertEquals(decoder.decode(await roundTrip(conn, "w\n")), "w\n");
        }
        const log = await proc.waitFor(
          "stderr",
          (text) => (text.match(/closed: client closed/g) ?? []).length === 24,
        );
        assertMatch(log, / on worker 1 connected/);
        const result = await proc.stop("SIGTERM");
        assertEquals(result.code, 0, result.stderr);
      },
    );

    await t.step("echo-client against echo-server", async () => {
      await using proc = await startServer(["--hostname", "127.0.0.1"], {
        command: serverCommand,
      });
      const port = String(proc.port);
      const text = await runClient(
        ["127.0.0.1", port],
        "a\r\nb",
        clientCommand,
      );
      assertEquals(text.code, 0, text.stderr);
      assertEquals(text.stdout, "a\nb\n");

      const bye = await runClient(
        [`127.0.0.1:${port}`],
        "a\nBYE\nnot sent\n",
        clientCommand,
      );
      assertEquals(bye.code, 0, bye.stderr);
      assertEquals(bye.stdout, "a\nBYE\n");

      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const raw = await runClient(
        ["--raw", "127.0.0.1", port],
        bytes,
        clientCommand,
      );
      assertEquals(raw.code, 0, raw.stderr);
      assertEquals(raw.stdoutBytes, bytes);

      const result = await proc.stop("SIGTERM");
      assertEquals(result.code, 0, result.stderr);
    });

    await t.step("echo-client failures: refused 3, usage 2", async () => {
      const port = (() => {
        using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        return listener.addr.port;
      })();
      const refused = await runClient(
        ["127.0.0.1", String(port)],
        "a\n",
        clientCommand,
      );
      assertEquals(refused.code, 3, refused.stderr);
      assertEquals(lines(refused.stderr).length, 1, refused.stderr);
      const usage = await runClient(["[::1"], "", clientCommand);
      assertEquals(usage.code, 2, usage.stderr);
      assertMatch(usage.stderr, /Try 'echo-client --help'/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
