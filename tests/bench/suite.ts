// Copyright the deno-echo authors. MIT license.

// The load suite behind `deno task bench`: starts echo-server on a free
// loopback port, runs a fixed set of loads against it with the real
// `echo-client bench --json`, prints one table, and stops the server with
// SIGTERM. Exits 1 if any run had errors (a wrong echo is a bug, not noise).
//
// Numbers depend on the machine and on whatever else runs on it: compare
// rows of one run (the "x first" column), not runs on different days.
//
// Then it runs the micro-benchmarks (`deno bench tests/bench/`). With
// `--workers N` it prints the workers scaling table instead (scaling.ts).
//
//   deno run --allow-net=127.0.0.1 --allow-run --allow-read \
//     tests/bench/suite.ts [SECONDS] [--workers N]

import { parseArgs } from "@std/cli";
import { MAX_ISOLATES } from "../../src/server/admission.ts";
import { closeQuietly } from "../../src/net/close.ts";
import { runScaling } from "./scaling.ts";
import { formatTable } from "./_table.ts";
import {
  BENCH_WARMUP,
  type BenchOutput,
  benchOutput,
  benchProblem,
  print,
  root,
  spawnBench,
  startServer,
  stopServer,
} from "./_server_process.ts";

interface Case {
  name: string;
  args: string[];
}

const CASES: Case[] = [
  { name: "ping-pong, 1 conn, 64 B", args: ["-c", "1", "-s", "64"] },
  { name: "50 conns, 64 B", args: ["-c", "50", "-s", "64"] },
  { name: "200 conns, 1 KiB", args: ["-c", "200", "-s", "1K"] },
  {
    name: "4 conns, 64 KiB, 4 in flight",
    args: ["-c", "4", "-s", "64K", "--pipeline", "4"],
  },
  {
    name: "10 conns, 64 B, 5000/s fixed",
    args: ["-c", "10", "-s", "64", "-r", "5000"],
  },
];

/** Idle connections held for the memory figure (fewer if descriptors run out). */
const IDLE_CONNECTIONS = 10_000;

/** Seconds each case measures for (after a 0.5 s warm-up). */
const DEFAULT_SECONDS = 2;
/** The longest a case may measure for, in seconds. */
const MAX_SECONDS = 20;

/** A case's run: its name, and what the load generator left. */
interface Row extends BenchOutput {
  name: string;
}

async function runCase(
  port: number,
  item: Case,
  seconds: number,
): Promise<Row> {
  const output = await benchOutput(spawnBench(port, seconds, item.args));
  return { name: item.name, ...output };
}

/**
 * The server's resident memory in KiB, from `ps` (Deno allows reading
 * /proc/PID/status only with --allow-all).
 */
async function residentKiB(pid: number): Promise<number | undefined> {
  try {
    const { stdout, success } = await new Deno.Command("ps", {
      args: ["-o", "rss=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    }).output();
    const kib = Number(new TextDecoder().decode(stdout).trim());
    return success && kib > 0 ? kib : undefined;
  } catch {
    return undefined;
  }
}

/** One line echoed on a connection: `x\n` out, `x\n` back. */
async function pingPong(conn: Deno.TcpConn, byte: number): Promise<boolean> {
  const line = new Uint8Array([byte, 0x0a]);
  // A server that stopped answering (out of descriptors, say) must not hang
  // the suite: the echo is cut off after PING_TIMEOUT, and counts as wrong.
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    closeQuietly(conn);
  }, PING_TIMEOUT);
  try {
    await conn.write(line);
    const back = new Uint8Array(2);
    for (let got = 0; got < 2;) {
      const n = await conn.read(back.subarray(got));
      if (n === null) return false;
      got += n;
    }
    return back[0] === byte && back[1] === 0x0a;
  } catch (error) {
    if (late) return false;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds one idle connection's echo may take. */
const PING_TIMEOUT = 10_000;

/**
 * Holds up to `count` idle connections (each has echoed one line) and
 * measures what they add to the server's resident memory, then checks that
 * a sample of them still echo.
 *
 * @returns The summary line.
 */
async function idleMemory(
  pid: number,
  port: number,
  count: number,
): Promise<string> {
  if (await residentKiB(pid) === undefined) {
    return "skipped: idle memory: ps cannot tell the server's RSS here";
  }
  const connect = (): Promise<Deno.TcpConn> =>
    Deno.connect({ hostname: "127.0.0.1", port });
  // Warm up the server's accept path first, so its first-use costs are not
  // counted as per-connection memory.
  for (let i = 0; i < 200; i++) {
    using conn = await connect();
    await pingPong(conn, 0x77);
  }
  const before = (await residentKiB(pid))!;
  const conns: Deno.TcpConn[] = [];
  let stoppedBy = "";
  try {
    while (conns.length < count) {
      let conn: Deno.TcpConn;
      try {
        conn = await connect();
      } catch (error) {
        // Out of descriptors (ulimit -n): measure what was reached.
        stoppedBy = ` (stopped at ${conns.length}: ${
          error instanceof Error ? error.message : error
        })`;
        break;
      }
      conns.push(conn);
      if (!await pingPong(conn, 0x78)) throw new Error("an echo went wrong");
    }
    const after = (await residentKiB(pid))!;
    const sample = conns.filter((_, i) => i % 100 === 0);
    let echoing = 0;
    for (const conn of sample) if (await pingPong(conn, 0x79)) echoing++;
    const perConnection = (after - before) * 1024 / conns.length / 1000;
    return `idle: ${conns.length} connections held, ${
      perConnection.toFixed(1)
    } kB each (server RSS ${(before / 1024).toFixed(0)} -> ${
      (after / 1024).toFixed(0)
    } MiB); ${echoing} of ${sample.length} sampled still echo${stoppedBy}`;
  } finally {
    for (const conn of conns) closeQuietly(conn);
  }
}

function latency(us: number | null): string {
  if (us === null) return "-";
  return us < 1000 ? `${us.toFixed(0)} µs` : `${(us / 1000).toFixed(2)} ms`;
}

function table(rows: Row[]): string {
  const base = rows[0]?.json?.roundTripsPerSecond;
  const header = [
    "case",
    "round trips/s",
    "x first",
    "MB/s each way",
    "p50",
    "p99",
    "p99.9",
    "max",
    "fairness",
    "least share",
    "errors",
  ];
  const cells = rows.map(({ name, json: r, code }) =>
    r === undefined
      ? [name, "-", "-", "-", "-", "-", "-", "-", "-", "-", `exit ${code}`]
      : [
        name,
        Math.round(r.roundTripsPerSecond).toLocaleString("en-US"),
        base ? (r.roundTripsPerSecond / base).toFixed(2) : "-",
        r.sentMBps.toFixed(r.sentMBps < 10 ? 2 : 0),
        latency(r.latencyUs.p50),
        latency(r.latencyUs.p99),
        latency(r.latencyUs.p999),
        latency(r.latencyUs.max),
        r.fairness.toFixed(3),
        `${Math.round(r.minShare * 100)}%`,
        String(r.errors.total),
      ]
  );
  return formatTable(header, cells, [0]);
}

/** The suite's command line. */
export interface SuiteArgs {
  /** Seconds each load measures for. */
  seconds: number;
  /** With a number, the workers scaling table up to that many isolates. */
  workers: number | undefined;
}

const USAGE =
  "Usage: deno task bench [SECONDS] [--workers N]  (SECONDS: more than 0, " +
  `at most ${MAX_SECONDS}, default ${DEFAULT_SECONDS}; N: 1 to ${MAX_ISOLATES})`;

/**
 * Parses `[SECONDS] [--workers N]`.
 *
 * @throws {RangeError} With a one-line message for anything else.
 */
export function parseSuiteArgs(args: readonly string[]): SuiteArgs {
  const parsed = parseArgs([...args], {
    string: ["workers", "_"],
    unknown: (arg, key) => {
      if (key !== undefined) throw new RangeError(`Unknown option "${arg}"`);
      return true;
    },
  });
  const positionals = parsed._.map(String);
  if (positionals.length > 1) {
    throw new RangeError(`Unexpected argument "${positionals[1]}"`);
  }
  const text = positionals[0];
  const seconds = text === undefined ? DEFAULT_SECONDS : Number(text);
  if (
    text !== undefined && !/^[0-9]*\.?[0-9]+$/.test(text) ||
    !(seconds > 0 && seconds <= MAX_SECONDS)
  ) {
    throw new RangeError(
      `Invalid seconds "${text}": expected a number more than 0, at most ${MAX_SECONDS}`,
    );
  }
  const { workers } = parsed;
  if (workers === undefined) return { seconds, workers: undefined };
  const count = Number(workers);
  if (!/^[0-9]+$/.test(workers) || !(count >= 1 && count <= MAX_ISOLATES)) {
    throw new RangeError(
      `Invalid --workers "${workers}": expected a whole number from 1 to ${MAX_ISOLATES}`,
    );
  }
  return { seconds, workers: count };
}

/** Runs the load cases and prints their table; true if every case passed. */
async function runSuite(seconds: number): Promise<boolean> {
  const server = await startServer(["--allow-net"], [
    "--quiet",
    // The idle-memory step holds 10,000 connections from this one address.
    "--max-per-ip",
    "0",
  ]);
  const { child, port } = server;
  const rows: Row[] = [];
  try {
    print(
      `echo-server on 127.0.0.1:${port}; each case: echo-client bench ` +
        `-d ${seconds}s --warmup ${BENCH_WARMUP}ms (Deno ${Deno.version.deno}, ` +
        `${navigator.hardwareConcurrency} CPUs)\n`,
    );
    // First, while the server's heap holds nothing from the loads.
    print(await idleMemory(child.pid, port, IDLE_CONNECTIONS) + "\n");
    for (const item of CASES) {
      const row = await runCase(port, item, seconds);
      rows.push(row);
      const problem = benchProblem(row);
      if (problem !== undefined) print(`${item.name}: ${problem}`);
    }
  } finally {
    const failure = await stopServer(server);
    if (failure !== undefined) print(failure);
  }
  print(table(rows));
  return rows.every((r) => r.code === 0 && r.json !== undefined);
}

/** `deno bench tests/bench/`, printing to this process's stdout and stderr. */
async function runMicroBenchmarks(): Promise<number> {
  print("");
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "tests/bench/"],
    cwd: root(""),
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
}

async function main(args: readonly string[]): Promise<number> {
  let parsed: SuiteArgs;
  try {
    parsed = parseSuiteArgs(args);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    Deno.stderr.writeSync(
      new TextEncoder().encode(`suite.ts: ${error.message}\n${USAGE}\n`),
    );
    return 2;
  }
  if (parsed.workers !== undefined) {
    return await runScaling(parsed.workers, parsed.seconds) ? 0 : 1;
  }
  const passed = await runSuite(parsed.seconds);
  const code = await runMicroBenchmarks();
  return passed ? code : 1;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
