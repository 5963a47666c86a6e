// Copyright the deno-echo authors. MIT license.

// The binaries built by `deno task compile`, run through a smoke subset of the
// CLI tests. `deno compile` needs denort: it takes DENORT_BIN, or a copy in
// Deno's download cache, or downloads it. Whether it can get one is decided
// before the test is registered: when it cannot (no DENORT_BIN, nothing cached,
// no ECHO_COMPILE_TEST=1 saying a download works), the test is ignored, and
// the summary counts it so.
// Once it runs, any compile failure fails the test.

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

const decoder = new TextDecoder();

/** Where `deno compile` finds denort for this Deno, or downloads it from. */
const DENORT_ARCHIVE =
  `release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;

/** Whether a file exists (false when it is missing). */
async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Whether denort is in Deno's download cache (`DENO_DIR/dl`). */
async function denortCached(): Promise<boolean> {
  const { success, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!success) return false;
  const { denoDir } = JSON.parse(decoder.decode(stdout)) as {
    denoDir?: string;
  };
  return denoDir !== undefined &&
    await isFile(join(denoDir, "dl", DENORT_ARCHIVE));
}

/**
 * Whether `deno compile` can get denort. A DENORT_BIN that is set counts
 * whatever it points at: a wrong one fails the test rather than hiding it.
 * `ECHO_COMPILE_TEST=1` says the machine can download it (the GitHub
 * workflow sets it); the test never probes the network itself.
 */
async function canGetDenort(): Promise<boolean> {
  if ((Deno.env.get("DENORT_BIN") ?? "") !== "") return true;
  if (Deno.env.get("ECHO_COMPILE_TEST") === "1") return true;
  return await denortCached();
}

const canCompile = await canGetDenort();

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

/**
 * Runs a deno.json compile task into `dir`.
 *
 * @returns The binary.
 * @throws {Error} If the compile failed.
 */
async function compile(
  taskName: "compile:server" | "compile:client",
  dir: string,
): Promise<string> {
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
    throw new Error(`${taskName} failed (exit ${code}):\n${errors}`);
  }
  const info = await Deno.stat(output);
  assert(info.isFile && info.size > 0, `${output} was not written`);
  return output;
}

/** `--version` and a bad argument. */
async function checkServerArgs(server: Command): Promise<void> {
  const version = await runServer(["--version"], server);
  assertEquals(version.code, 0, version.stderr);
  assertEquals(version.stdout, `echo-server ${denoJson.version}\n`);
  const bad = await runServer(["--port", "abc"], server);
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /Try 'echo-server --help'/);
  assertEquals(stackFrames(bad.stderr), []);
}

/** Listening on both loopbacks, echoing, stopping on SIGTERM. */
async function checkServerEcho(server: Command): Promise<void> {
  await using proc = await startServer([], {
    command: server,
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
}

/** `--workers 2`: --unstable-net and the worker module are built in. */
async function checkWorkers(server: Command): Promise<void> {
  await using proc = await startServer(
    ["--workers", "2", "--hostname", "127.0.0.1"],
    { command: server },
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
}

/** The client against the server: lines, the quit word, raw bytes. */
async function checkClient(server: Command, client: Command): Promise<void> {
  await using proc = await startServer(["--hostname", "127.0.0.1"], {
    command: server,
  });
  const port = String(proc.port);
  const text = await runClient(["127.0.0.1", port], "a\r\nb", client);
  assertEquals(text.code, 0, text.stderr);
  assertEquals(text.stdout, "a\nb\n");

  const bye = await runClient(
    [`127.0.0.1:${port}`],
    "a\nBYE\nnot sent\n",
    client,
  );
  assertEquals(bye.code, 0, bye.stderr);
  assertEquals(bye.stdout, "a\nBYE\n");

  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const raw = await runClient(["--raw", "127.0.0.1", port], bytes, client);
  assertEquals(raw.code, 0, raw.stderr);
  assertEquals(raw.stdoutBytes, bytes);

  const result = await proc.stop("SIGTERM");
  assertEquals(result.code, 0, result.stderr);
}

/** The client's failures: refused (3) and usage (2). */
async function checkClientFailures(client: Command): Promise<void> {
  const port = (() => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return listener.addr.port;
  })();
  const refused = await runClient(["127.0.0.1", String(port)], "a\n", client);
  assertEquals(refused.code, 3, refused.stderr);
  assertEquals(lines(refused.stderr).length, 1, refused.stderr);
  const usage = await runClient(["[::1"], "", client);
  assertEquals(usage.code, 2, usage.stderr);
  assertMatch(usage.stderr, /Try 'echo-client --help'/);
}

/** Compiles both programs into `dir`; throws once both have finished. */
async function compileBoth(dir: string): Promise<[Command, Command]> {
  const builds = await Promise.allSettled([
    compile("compile:server", dir),
    compile("compile:client", dir),
  ]);
  const [server, client] = builds.map((build) => {
    if (build.status === "rejected") throw build.reason;
    return build.value;
  }) as [string, string];
  return [[server], [client]];
}

Deno.test({
  name:
    "deno task compile builds an echo-server and echo-client that pass the CLI smoke tests",
  ignore: !canCompile,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "deno-echo-compile-" });
    try {
      const [server, client] = await compileBoth(dir);
      await t.step(
        "echo-server --version and a bad argument",
        () => checkServerArgs(server),
      );
      await t.step(
        "echo-server listens on both loopbacks, echoes, stops on SIGTERM",
        () => checkServerEcho(server),
      );
      await t.step(
        "echo-server --workers 2 (--unstable-net and the worker module built in)",
        () => checkWorkers(server),
      );
      await t.step(
        "echo-client against echo-server",
        () => checkClient(server, client),
      );
      await t.step(
        "echo-client failures: refused 3, usage 2",
        () => checkClientFailures(client),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
