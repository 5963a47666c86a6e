// Copyright the deno-echo authors. MIT license.

// The workers scaling table behind `deno task bench --workers N`: for k = 1,
// 2, 4, ... N isolates, starts `echo-server --workers k`, loads it from k
// `echo-client bench` processes at once, reads the CPU time of the server's
// isolate threads and of the clients from /proc while they measure, and
// prints what the model in scaling_model.ts makes of it.
//
// Deno reads /proc only with --allow-all, so `cat` and `ls` read it.

import {
  isIsolateThread,
  isolateCounts,
  type Measured,
  model,
  type Modelled,
  parseStats,
} from "./scaling_model.ts";
import {
  BENCH_WARMUP,
  type BenchJson,
  benchOutput,
  benchProblem,
  print,
  root,
  spawnBench,
  startServer,
  stopServer,
} from "./_server_process.ts";
import { formatTable } from "./_table.ts";

/** Connections each load generator opens. */
const CONNECTIONS = 50;
/** CPU ticks of everything watched, read at one moment. */
interface Sample {
  /** Wall-clock milliseconds (as the clients' `startedAt`). */
  time: number;
  server: number | undefined;
  threads: (number | undefined)[];
  clients: (number | undefined)[];
}

const decoder = new TextDecoder();

/** Runs a program and returns its stdout, whatever its exit code. */
async function stdoutOf(command: string, args: string[]): Promise<string> {
  const { stdout } = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return decoder.decode(stdout);
}

/** Clock ticks a second, as /proc counts CPU time. */
async function clockTicks(): Promise<number> {
  const ticks = Number((await stdoutOf("getconf", ["CLK_TCK"])).trim());
  return Number.isSafeInteger(ticks) && ticks > 0 ? ticks : 100;
}

/** The thread ids of the server's isolates: its main thread, `worker-N`. */
async function isolateThreads(pid: number): Promise<number[]> {
  const tids = (await stdoutOf("ls", [`/proc/${pid}/task`])).split("\n")
    .filter((t) => /^[0-9]+$/.test(t)).map(Number);
  const comms = await Promise.all(
    tids.map((tid) => stdoutOf("cat", [`/proc/${pid}/task/${tid}/comm`])),
  );
  return tids.filter((tid, i) => isIsolateThread(pid, tid, comms[i]!.trim()));
}

/** Reads the CPU ticks of the server, its isolate threads and the clients. */
async function sample(
  pid: number,
  threads: readonly number[],
  clients: readonly number[],
): Promise<Sample> {
  const before = Date.now();
  const [processes, tasks] = await Promise.all([
    stdoutOf("cat", [pid, ...clients].map((p) => `/proc/${p}/stat`)),
    stdoutOf("cat", threads.map((tid) => `/proc/${pid}/task/${tid}/stat`)),
  ]);
  const time = (before + Date.now()) / 2;
  const byProcess = parseStats(processes);
  const byThread = parseStats(tasks);
  return {
    time,
    server: byProcess.get(pid)?.ticks,
    threads: threads.map((tid) => byThread.get(tid)?.ticks),
    clients: clients.map((p) => byProcess.get(p)?.ticks),
  };
}

/** One load generator's run: its JSON, or why there is none. */
interface ClientRun {
  json: BenchJson | undefined;
  problem: string | undefined;
}

function spawnClient(port: number, seconds: number): Deno.ChildProcess {
  return spawnBench(port, seconds, ["-c", String(CONNECTIONS), "-s", "64"]);
}

async function clientRun(child: Deno.ChildProcess): Promise<ClientRun> {
  const output = await benchOutput(child);
  const problem = benchProblem(output);
  return {
    json: output.json,
    problem: problem === undefined ? undefined : `echo-client: ${problem}`,
  };
}

/** CPU-seconds a second between two samples, or undefined if not known. */
function cores(
  from: number | undefined,
  to: number | undefined,
  seconds: number,
  ticks: number,
): number | undefined {
  return from === undefined || to === undefined
    ? undefined
    : (to - from) / ticks / seconds;
}

/**
 * What the samples say over the window every client measured in: the first
 * sample inside it and the last.
 */
function measure(
  isolates: number,
  samples: readonly Sample[],
  runs: readonly BenchJson[],
  ticks: number,
): Measured | string {
  const start = Math.max(...runs.map((r) => Date.parse(r.startedAt)));
  const end = Math.min(
    ...runs.map((r) => Date.parse(r.startedAt) + r.elapsedMs),
  );
  const inside = samples.filter((s) => s.time >= start && s.time <= end);
  const first = inside[0];
  const last = inside.at(-1);
  if (first === undefined || last === undefined || first === last) {
    return "fewer than two CPU samples fell in the clients' common window";
  }
  const seconds = (last.time - first.time) / 1000;
  const of = (pick: (s: Sample) => number | undefined): number | undefined =>
    cores(pick(first), pick(last), seconds, ticks);
  const serverCores = of((s) => s.server);
  const isolateCores = first.threads.map((_, i) => of((s) => s.threads[i]));
  const clientCores = first.clients.map((_, i) => of((s) => s.clients[i]));
  const known = (xs: (number | undefined)[]): xs is number[] =>
    xs.every((x) => x !== undefined);
  if (
    serverCores === undefined || !known(isolateCores) || !known(clientCores)
  ) {
    return "a process or thread was gone before the window ended";
  }
  if (serverCores === 0 || Math.max(...isolateCores) === 0) {
    return "no server CPU time in the window: measure for longer";
  }
  return {
    isolates,
    roundTripsPerSecond: runs.reduce(
      (sum, r) => sum + r.roundTripsPerSecond,
      0,
    ),
    serverCores,
    isolateCores,
    clientCores: clientCores.reduce((sum, c) => sum + c, 0),
  };
}

/** Starts a server with `isolates` isolates, loads it, measures it. */
async function runRow(
  isolates: number,
  seconds: number,
  ticks: number,
): Promise<Measured | string> {
  const server = await startServer(
    ["--unstable-net", "--allow-net", `--allow-read=${root("src")}`],
    ["--workers", String(isolates), "--quiet", "--max-per-ip", "0"],
  );
  let children: Deno.ChildProcess[] = [];
  try {
    const pid = server.child.pid;
    const threads = await isolateThreads(pid);
    if (threads.length !== isolates) {
      return `found ${threads.length} isolate threads, expected ${isolates}`;
    }
    children = Array.from(
      { length: isolates },
      () => spawnClient(server.port, seconds),
    );
    const runs = Promise.all(children.map(clientRun));
    let finished = false;
    void runs.catch(() => {}).finally(() => {
      finished = true;
    });
    const samples: Sample[] = [];
    const every = Math.min(250, Math.max(50, seconds * 100));
    // Ends once the clients have (each is bounded by its timeout).
    while (!finished) {
      samples.push(await sample(pid, threads, children.map((c) => c.pid)));
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        runs,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, every);
        }),
      ]).catch(() => {}).finally(() => clearTimeout(timer));
    }
    const results = await runs;
    const problem = results.find((r) => r.problem !== undefined)?.problem;
    if (problem !== undefined) return problem;
    return measure(isolates, samples, results.map((r) => r.json!), ticks);
  } finally {
    // Clients still running (if sampling failed) go with the server.
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited already.
      }
    }
    const failure = await stopServer(server);
    if (failure !== undefined) print(failure);
  }
}

const integer = (n: number): string => Math.round(n).toLocaleString("en-US");

/** The table of the modelled rows, with the model in its header lines. */
export function scalingTable(rows: readonly Modelled[], cpus: number): string {
  const header = [
    "isolates",
    "round trips/s",
    "server CPU (cores)",
    "busiest isolate (% of a core)",
    "rt per CPU-ms",
    "e(k)",
    "predicted rt/s on k cores",
    "x ideal",
    "load generator CPU (cores)",
    "note",
  ];
  const cells = rows.map((r) => [
    String(r.isolates),
    integer(r.roundTripsPerSecond),
    r.serverCores.toFixed(2),
    `${(r.busiestShare * 100).toFixed(0)}%`,
    r.perCpuMs.toFixed(1),
    r.efficiency.toFixed(2),
    integer(r.predicted),
    r.scaling.toFixed(2),
    r.clientCores.toFixed(2),
    r.coresShared ? "cores shared" : "",
  ]);
  const each = rows.map((r) =>
    `k=${r.isolates}: ${
      r.isolateCores.map((c) => (c * 100).toFixed(0)).join(" ")
    }`
  );
  return [
    formatTable(header, cells, [header.length - 1]),
    "",
    `each isolate thread (% of a core): ${each.join("; ")}`,
    `ideal = k x predicted at k=1 (${integer(rows[0]?.ideal ?? 0)} rt/s); ` +
    `cores shared: 2k > ${cpus} CPUs`,
  ].join("\n");
}

/** The model, as the lines above the table say it. */
function modelLines(seconds: number, cpus: number, ticks: number): string[] {
  return [
    `Workers scaling: echo-server --workers k, loaded by k echo-client bench ` +
    `processes at once (-c ${CONNECTIONS} -s 64 -d ${seconds}s --warmup ` +
    `${BENCH_WARMUP}ms each); Deno ${Deno.version.deno}; this machine has ${cpus} ` +
    `CPUs; CPU time from /proc (${ticks} ticks/s) over the window all the ` +
    `clients measured in.`,
    "  e(k) = round trips per server CPU-second at k / the same at k=1: how " +
    "much of one isolate's work per CPU-second survives with k isolates.",
    "  predicted = round trips/s / the busiest isolate thread's share of a " +
    "core: the rate once the busiest isolate has a whole core (SO_REUSEPORT " +
    "spreads connections unevenly); x ideal = predicted / (k x predicted at " +
    "k=1).",
    "  With 2k+1 free cores (k isolates, k load generators) round trips/s " +
    'should approach predicted; "cores shared" rows (2k > CPUs) measure less ' +
    "than predicted by design.",
    "",
  ];
}

/**
 * Prints the workers scaling table for 1, 2, 4, ... `max` isolates.
 *
 * @returns False if any run failed (the reason is printed).
 */
export async function runScaling(
  max: number,
  seconds: number,
): Promise<boolean> {
  const ticks = await clockTicks();
  const cpus = navigator.hardwareConcurrency;
  for (const line of modelLines(seconds, cpus, ticks)) print(line);
  const rows: Measured[] = [];
  let passed = true;
  for (const isolates of isolateCounts(max)) {
    const row = await runRow(isolates, seconds, ticks);
    if (typeof row === "string") {
      print(`${isolates} isolate(s): ${row}`);
      passed = false;
      break;
    }
    rows.push(row);
  }
  if (rows.length > 0) print(scalingTable(model(rows, cpus), cpus));
  return passed;
}
