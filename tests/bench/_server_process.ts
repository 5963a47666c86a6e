// Copyright the deno-echo authors. MIT license.

// echo-server as a child process of the benchmark suite: started on a free
// loopback port (read from its `Listening on` line), stopped with SIGTERM;
// and the load generator, `echo-client bench --json`, as another.

import { fileURLToPath } from "node:url";

/** Bound on one client run, and on the server's start and stop. */
export const PROCESS_TIMEOUT = 30_000;

/** Absolute path of a file in the project root. */
export const root = (name: string): string =>
  fileURLToPath(new URL(`../../${name}`, import.meta.url));

const encoder = new TextEncoder();

/** Writes one line to stdout. */
export const print = (text: string): void => {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
};

/** A running echo-server. */
export interface Server {
  child: Deno.ChildProcess;
  port: number;
  /** Everything the server writes on stderr (its log), once it exits. */
  log: Promise<string>;
}

/**
 * Starts `deno run FLAGS server.ts --hostname 127.0.0.1 --port 0 ARGS`;
 * resolves once it listens.
 */
export async function startServer(
  flags: readonly string[],
  args: readonly string[],
): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...flags,
      root("server.ts"),
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
  let text = "";
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
  }, PROCESS_TIMEOUT);
  try {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) {
        throw new Error(`echo-server exited before listening: ${await log}`);
      }
      text += value;
      const match = /^Listening on 127\.0\.0\.1:([0-9]+)$/m.exec(text);
      if (match) {
        // Nothing more comes on stdout; read it to the end regardless.
        void (async () => {
          for await (const _ of lines) { /* discard */ }
        })();
        return { child, port: Number(match[1]), log };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Stops the server with SIGTERM (SIGKILL if it is still running after
 * {@linkcode PROCESS_TIMEOUT}).
 *
 * @returns Its log if it did not exit cleanly, else undefined.
 */
export async function stopServer(
  server: Server,
  timeout: number = PROCESS_TIMEOUT,
): Promise<string | undefined> {
  const { child, log } = server;
  try {
    child.kill("SIGTERM");
  } catch {
    // Already exited: its status says how.
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, timeout);
  const status = await child.status;
  clearTimeout(timer);
  return status.success
    ? undefined
    : `echo-server exited with ${status.code}:\n${await log}`;
}

/** Warm-up of every load generator run, in milliseconds. */
export const BENCH_WARMUP = 500;

/** The fields of `echo-client bench --json` that the bench runs read. */
export interface BenchJson {
  roundTripsPerSecond: number;
  sentMBps: number;
  receivedMBps: number;
  latencyUs: Record<"p50" | "p99" | "p999" | "max", number | null>;
  fairness: number;
  minShare: number;
  /** When it began to measure (ISO 8601). */
  startedAt: string;
  elapsedMs: number;
  errors: { total: number };
  firstError: string | null;
}

/** What a load generator run left: its JSON (if it printed one), exit code, stderr. */
export interface BenchOutput {
  json: BenchJson | undefined;
  code: number;
  stderr: string;
}

/**
 * Starts `echo-client bench 127.0.0.1:PORT --json -d SECONDS s` with
 * {@linkcode BENCH_WARMUP} of warm-up and `args` (connections, size, ...).
 */
export function spawnBench(
  port: number,
  seconds: number,
  args: readonly string[],
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      root("client.ts"),
      "bench",
      `127.0.0.1:${port}`,
      "--json",
      "-d",
      `${seconds}s`,
      "--warmup",
      `${BENCH_WARMUP}ms`,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(PROCESS_TIMEOUT + seconds * 1000),
  }).spawn();
}

/** Waits for a load generator run to end, and reads what it printed. */
export async function benchOutput(
  child: Deno.ChildProcess,
): Promise<BenchOutput> {
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  let json: BenchJson | undefined;
  try {
    json = JSON.parse(decoder.decode(stdout));
  } catch {
    json = undefined;
  }
  return { json, code, stderr: decoder.decode(stderr).trim() };
}

/**
 * What went wrong in a load generator run: no JSON or a failing exit, or
 * errors it counted (a wrong echo is a bug, not noise).
 *
 * @returns The reason, or undefined if the run is clean.
 */
export function benchProblem(
  { json, code, stderr }: BenchOutput,
): string | undefined {
  if (code !== 0 || json === undefined) return `exit ${code}: ${stderr}`;
  if (json.errors.total > 0) {
    return `${json.errors.total} error(s): ${json.firstError}`;
  }
  return undefined;
}
