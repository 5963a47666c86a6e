// Copyright the deno-echo authors. MIT license.

// The arithmetic behind the workers scaling table (tests/bench/scaling.ts):
// CPU time from /proc stat lines, and the model that turns what one run
// measured into what the same server would do on k free cores.

/** CPU time of one process or thread, from a `/proc/.../stat` line. */
export interface StatTicks {
  /** The first field: the process id (or thread id, for a task's stat). */
  id: number;
  /** The second field without its parentheses; may hold spaces and `)`. */
  comm: string;
  /** utime + stime (fields 14 and 15), in clock ticks. */
  ticks: number;
}

/**
 * Parses one `/proc/PID/stat` (or `/proc/PID/task/TID/stat`) line. The comm
 * field can hold spaces and parentheses, so the fields are counted from the
 * last `)`.
 *
 * @returns The id, comm and CPU ticks, or undefined for a malformed line.
 */
export function parseStat(line: string): StatTicks | undefined {
  const open = line.indexOf(" (");
  const close = line.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const id = Number(line.slice(0, open));
  // After ")": field 3 (state) is at index 0, so field n is at n - 3.
  const rest = line.slice(close + 2).trim().split(/ +/);
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (![id, utime, stime].every(Number.isSafeInteger)) return undefined;
  return { id, comm: line.slice(open + 2, close), ticks: utime + stime };
}

/** Every well-formed stat line of `text`, by its id (the last one wins). */
export function parseStats(text: string): Map<number, StatTicks> {
  const stats = new Map<number, StatTicks>();
  for (const line of text.split("\n")) {
    const stat = parseStat(line);
    if (stat !== undefined) stats.set(stat.id, stat);
  }
  return stats;
}

/**
 * Whether a thread runs a JavaScript isolate of the server: the main
 * thread (its id is the process id) or a web worker's (`worker-N`).
 */
export function isIsolateThread(
  pid: number,
  tid: number,
  comm: string,
): boolean {
  return tid === pid || /^worker-[0-9]+$/.test(comm);
}

/** What one row of the scaling run measured. */
export interface Measured {
  /** Isolates the server ran (`--workers`). */
  isolates: number;
  /** Round trips a second, summed over the load generators. */
  roundTripsPerSecond: number;
  /** The server's CPU-seconds per second, all threads. */
  serverCores: number;
  /** Each isolate thread's CPU-seconds per second. */
  isolateCores: number[];
  /** The load generators' CPU-seconds per second, summed. */
  clientCores: number;
}

/** One row of the model, derived from a {@linkcode Measured}. */
export interface Modelled extends Measured {
  /** The busiest isolate thread's share of a core (0 to 1). */
  busiestShare: number;
  /** Round trips per server CPU-millisecond. */
  perCpuMs: number;
  /** `perCpuMs` as a fraction of the one-isolate row's. */
  efficiency: number;
  /** Round trips a second on `isolates` free cores: X / busiest share. */
  predicted: number;
  /** `isolates` times the one-isolate row's prediction. */
  ideal: number;
  /** `predicted / ideal`. */
  scaling: number;
  /** True when isolates and load generators need more cores than exist. */
  coresShared: boolean;
}

/**
 * Applies the model to every row; `rows[0]` must be the one-isolate row.
 *
 * - e(k) = (X(k) / server CPU(k)) / (X(1) / server CPU(1))
 * - P(k) = X(k) / busiest isolate's share of a core
 * - ideal(k) = k × P(1), and P(k) / ideal(k) the scaling efficiency
 * - cores shared when 2k > cpus (k isolates and k load generators)
 *
 * @param rows What each run measured, one isolate first.
 * @param cpus The machine's logical CPUs.
 * @returns The rows with the derived figures.
 */
export function model(rows: readonly Measured[], cpus: number): Modelled[] {
  const first = rows[0];
  if (first === undefined) return [];
  if (first.isolates !== 1) {
    throw new RangeError(
      `Expected the first row to have 1 isolate, not ${first.isolates}`,
    );
  }
  const perCpuMs = (row: Measured): number =>
    row.roundTripsPerSecond / (row.serverCores * 1000);
  const busiest = (row: Measured): number => Math.max(...row.isolateCores);
  const base = perCpuMs(first);
  const basePredicted = first.roundTripsPerSecond / busiest(first);
  return rows.map((row) => {
    const share = busiest(row);
    const predicted = row.roundTripsPerSecond / share;
    const ideal = row.isolates * basePredicted;
    return {
      ...row,
      busiestShare: share,
      perCpuMs: perCpuMs(row),
      efficiency: perCpuMs(row) / base,
      predicted,
      ideal,
      scaling: predicted / ideal,
      coresShared: 2 * row.isolates > cpus,
    };
  });
}

/** The isolate counts of a run up to `max`: 1, 2, 4, 8, ... and `max`. */
export function isolateCounts(max: number): number[] {
  const counts: number[] = [];
  for (let k = 1; k < max; k *= 2) counts.push(k);
  counts.push(max);
  return counts;
}
