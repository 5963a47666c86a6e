// Copyright the deno-echo authors. MIT license.

import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import { closeQuietly } from "../net/close.ts";
import { Buffer } from "node:buffer";
import { dial } from "../client/dial.ts";
import { Histogram } from "./histogram.ts";
import { PAYLOAD_PERIOD, payloadKey, payloadTable } from "./bench_payload.ts";
import type { IPFamily } from "../net/resolve.ts";

/** Options for {@linkcode runBench}. */
export interface BenchOptions {
  /**
   * The server: a name or an IP literal (IPv6 without brackets). The first
   * connection tries every address of a name; the others go where it went.
   *
   * @default {"localhost"}
   */
  hostname?: string;
  /**
   * The server's port.
   *
   * @default {2000}
   */
  port?: number;
  /** Use only IPv4 (4) or only IPv6 (6) addresses. */
  family?: IPFamily;
  /**
   * Give up on a connection attempt after this many milliseconds (0: as long
   * as the system takes).
   *
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * How many connections to open and keep busy.
   *
   * @default {10}
   */
  connections?: number;
  /**
   * Bytes per message.
   *
   * @default {64}
   */
  size?: number;
  /**
   * Measure for this many milliseconds (after the warm-up), then stop
   * sending and wait for the echoes in flight. Ignored when `messages` is
   * set.
   *
   * @default {5000}
   */
  duration?: number;
  /**
   * Measure this many round trips in all (shared out evenly among the
   * connections, so no fewer than `connections`), then stop. 0 measures for
   * `duration` instead.
   *
   * @default {0}
   */
  messages?: number;
  /**
   * Closed loop (no `rate`): messages kept in flight on each connection; each
   * echo received lets the next message go. At most 2^20.
   *
   * @default {1}
   */
  pipeline?: number;
  /**
   * Open loop: send this many messages a second in all, each at its scheduled
   * time whether or not earlier echoes are back, and measure every round trip
   * from the time the message was due (so a server that falls behind shows
   * it in the latency, instead of slowing the sender down). 0 is closed loop.
   *
   * @default {0}
   */
  rate?: number;
  /**
   * Open loop: the most messages one connection may have in flight. A message
   * due when that many are unanswered waits for a slot (its latency still
   * counts from when it was due) and is counted in `errors.overruns`. At most
   * 2^20.
   *
   * @default {1024}
   */
  maxInFlight?: number;
  /**
   * Run for this many milliseconds before measuring (not counted).
   *
   * @default {0}
   */
  warmup?: number;
  /**
   * Give up on a connection when echoes are due and nothing has moved for
   * this many milliseconds (counted in `errors.timeouts`).
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Seeds the payload bytes.
   *
   * @default {1}
   */
  seed?: number;
  /** Closes every connection and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called about once a second while the run lasts. */
  onProgress?: (progress: BenchProgress) => void;
}

/** How a run is going, for a live display. */
export interface BenchProgress {
  /** `"warmup"`, `"measure"`, or `"drain"` (waiting for the last echoes). */
  phase: "warmup" | "measure" | "drain";
  /** Milliseconds since the measurement started (negative while warming up). */
  elapsed: number;
  /** Round trips measured so far. */
  roundTrips: number;
  /** Round trips a second since the previous report (warm-up included). */
  roundTripsPerSecond: number;
  /** The 99th percentile of round-trip times so far, in nanoseconds. */
  p99: number;
  /** Errors so far (see {@linkcode BenchErrors}). */
  errors: number;
}

/** What went wrong during a run, counted by kind. */
export interface BenchErrors {
  /** Connections whose echo differed from the bytes sent. */
  mismatches: number;
  /** Connections the server closed before echoing everything sent. */
  closedEarly: number;
  /** Connections reset or broken. */
  resets: number;
  /** Connections where echoes were due and nothing moved for `timeout`. */
  timeouts: number;
  /** Open loop: messages that found `maxInFlight` messages unanswered. */
  overruns: number;
  /** Any other failure of a connection. */
  other: number;
}

/** The outcome of {@linkcode runBench}. */
export interface BenchResult {
  /** The server address the connections reached. */
  address: Deno.NetAddr;
  /** Connections used. */
  connections: number;
  /** Bytes per message. */
  size: number;
  /**
   * Messages kept in flight on each connection (closed loop), or the most
   * allowed (open loop: `maxInFlight`).
   */
  pipeline: number;
  /** Open loop: messages a second asked for in all; 0 for closed loop. */
  rate: number;
  /** Milliseconds of warm-up before the measurement. */
  warmup: number;
  /**
   * Milliseconds from the start of the measurement to the last measured
   * echo.
   */
  elapsed: number;
  /** Messages sent during the measurement. */
  sent: number;
  /** Of those, messages whose echo came back complete and correct. */
  roundTrips: number;
  /** `roundTrips` a second. */
  roundTripsPerSecond: number;
  /** Bytes of the measured messages sent. */
  bytesSent: number;
  /** Bytes of the measured messages echoed. */
  bytesReceived: number;
  /**
   * Round-trip times of the measured messages, in nanoseconds: from the
   * send (closed loop) or the time the message was due (open loop) to the
   * arrival of its last byte.
   */
  latency: Histogram;
  /** Round trips measured on each connection, in the order they opened. */
  perConnection: number[];
  /**
   * Jain's fairness index over `perConnection`: 1 when every connection was
   * served alike, down to 1/n when one got everything.
   */
  fairness: number;
  /** The least-served connection's round trips as a share of the mean. */
  minShare: number;
  /** Failures by kind; all zero for a clean run. */
  errors: BenchErrors;
  /** What the first failure was, for people; `null` for a clean run. */
  firstError: string | null;
}

/** The sum of every kind of error. */
export function errorCount(errors: BenchErrors): number {
  return errors.mismatches + errors.closedEarly + errors.resets +
    errors.timeouts + errors.overruns + errors.other;
}

/**
 * Jain's fairness index, (Σx)² / (n·Σx²), and the smallest value as a share
 * of the mean; both 0 when nothing was counted.
 */
export function fairness(counts: readonly number[]): {
  index: number;
  minShare: number;
} {
  let sum = 0;
  let squares = 0;
  let min = Infinity;
  for (const x of counts) {
    sum += x;
    squares += x * x;
    if (x < min) min = x;
  }
  if (sum === 0) return { index: 0, minShare: 0 };
  return {
    index: (sum * sum) / (counts.length * squares),
    minShare: min / (sum / counts.length),
  };
}

/** Reads up to this much at once (and never more than one table period). */
const READ_SIZE = PAYLOAD_PERIOD;
/** The most `pipeline` or `maxInFlight` may be (a send time is kept for each). */
export const MAX_IN_FLIGHT = 1 << 20;
/** Connection attempts in flight at once. */
const DIAL_CONCURRENCY = 64;
/** How often timeouts are checked, in milliseconds. */
const TICK = 100;
/** How often `onProgress` is called, in milliseconds. */
const PROGRESS_INTERVAL = 1000;

/**
 * Generates load on an echo server and measures it: opens `connections`
 * connections, sends `size`-byte messages on each (closed loop with
 * `pipeline` in flight, or open loop at a fixed `rate`), checks every echoed
 * byte, and reports round trips a second, bytes a second, the latency
 * distribution, how evenly the connections were served, and every failure.
 *
 * The payload is a pseudo-random stream without newlines (so it never says
 * the quit word), addressed by position: nothing sent is kept, and a
 * mismatch, a lost or reordered chunk, or an echo sent to the wrong
 * connection is caught. A connection that fails is closed and counted; the
 * others go on. Each connection reuses one read buffer, writes straight from
 * the payload table, and checks echoes with a native compare.
 *
 * @example Measure 50 round trips against an in-process server
 * ```ts
 * import { serve } from "@deno-echo/echo";
 * import { runBench } from "@deno-echo/echo/client";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * const result = await runBench({
 *   hostname: "127.0.0.1",
 *   port: server.addrs[0]!.port,
 *   connections: 2,
 *   messages: 50,
 * });
 * assertEquals(result.roundTrips, 50);
 * assertEquals(result.firstError, null);
 * ```
 *
 * @param options The server, the load, and how long to measure.
 * @returns The measurements; the run resolves even when connections fail
 * (see `errors`).
 * @throws {RangeError} If an option is out of range.
 * @throws {Deno.errors.ConnectionRefused} If a connection is refused (as for
 * the other errors of {@linkcode dial}, no load is sent then).
 */
export async function runBench(
  options: BenchOptions = {},
): Promise<BenchResult> {
  const settings = settle(options);
  const { signal } = options;
  signal?.throwIfAborted();
  const conns = await dialAll(settings, signal);
  const run = new Run(settings, conns, options.onProgress);
  const onAbort = (): void => run.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) run.abort();
  try {
    await run.finished;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (signal?.aborted) throw signal.reason;
  return run.result();
}

/** Options with their defaults applied and checked. */
interface Settings {
  hostname: string;
  port: number;
  family: IPFamily | undefined;
  connectTimeout: number;
  connections: number;
  size: number;
  duration: number;
  messages: number;
  pipeline: number;
  rate: number;
  maxInFlight: number;
  warmup: number;
  timeout: number;
  seed: number;
}

function settle(options: BenchOptions): Settings {
  const whole = (
    name: string,
    value: number,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number => {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(
        `Invalid ${name} ${value}: expected a whole number from ${min} to ${max}`,
      );
    }
    return value;
  };
  const time = (name: string, value: number): number => {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Invalid ${name} ${value}: expected 0 or more`);
    }
    return value;
  };
  const rate = time("rate", options.rate ?? 0);
  const connections = whole("connections", options.connections ?? 10, 1);
  const messages = whole("messages", options.messages ?? 0, 0);
  if (messages > 0 && messages < connections) {
    throw new RangeError(
      `Invalid messages ${messages}: fewer than the ${connections} connections`,
    );
  }
  return {
    hostname: options.hostname ?? DEFAULT_HOSTNAME,
    port: options.port ?? DEFAULT_PORT,
    family: options.family,
    connectTimeout: time("connectTimeout", options.connectTimeout ?? 10_000),
    connections,
    size: whole("size", options.size ?? 64, 1),
    duration: time("duration", options.duration ?? 5000),
    messages,
    pipeline: whole("pipeline", options.pipeline ?? 1, 1, MAX_IN_FLIGHT),
    rate,
    maxInFlight: whole(
      "maxInFlight",
      options.maxInFlight ?? 1024,
      1,
      MAX_IN_FLIGHT,
    ),
    warmup: time("warmup", options.warmup ?? 0),
    timeout: time("timeout", options.timeout ?? 10_000),
    seed: options.seed ?? 1,
  };
}

/**
 * Opens every connection: the first tries each address of the name, the
 * rest go to the address it reached. Any failure closes the others.
 */
async function dialAll(
  settings: Settings,
  signal: AbortSignal | undefined,
): Promise<Deno.TcpConn[]> {
  const { hostname, port, family, connectTimeout, connections } = settings;
  const common = {
    port,
    timeout: connectTimeout,
    ...(signal === undefined ? {} : { signal }),
  };
  const first = await dial({
    hostname,
    ...(family === undefined ? {} : { family }),
    ...common,
  });
  const conns: Deno.TcpConn[] = [first];
  const target = first.remoteAddr.hostname;
  let next = 1;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < connections) {
      const index = next++;
      try {
        conns[index] = await dial({ hostname: target, ...common });
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(
    Array.from(
      { length: Math.min(DIAL_CONCURRENCY, connections - 1) },
      worker,
    ),
  );
  if (failure !== undefined) {
    for (const conn of conns) conn?.close();
    throw failure.error;
  }
  return conns;
}

/** What ended a connection's run, when it was not a clean finish. */
type Failure = Exclude<keyof BenchErrors, "overruns">;

/** One run: the shared clock, counters, histogram and timers. */
class Run {
  readonly settings: Settings;
  readonly table: Uint8Array;
  readonly latency = new Histogram();
  readonly errors: BenchErrors = {
    mismatches: 0,
    closedEarly: 0,
    resets: 0,
    timeouts: 0,
    overruns: 0,
    other: 0,
  };
  firstError: string | null = null;
  /** When sending began (after every connection opened). */
  readonly start: number;
  /** Messages sent at or after this time are measured. */
  readonly measureStart: number;
  /** Duration mode: nothing is sent at or after this time. */
  readonly measureEnd: number;
  /** When the last measured echo arrived. */
  lastEcho: number;
  readonly finished: Promise<void>;
  readonly #lanes: Lane[];
  readonly #address: Deno.NetAddr;
  readonly #onProgress: ((progress: BenchProgress) => void) | undefined;
  readonly #ticker: ReturnType<typeof setInterval>;
  #nextProgress: number;
  #lastProgressCount = 0;
  #lastProgressTime: number;
  #done = false;

  constructor(
    settings: Settings,
    conns: Deno.TcpConn[],
    onProgress: ((progress: BenchProgress) => void) | undefined,
  ) {
    this.settings = settings;
    this.table = payloadTable(settings.seed);
    this.#address = conns[0]!.remoteAddr;
    this.#onProgress = onProgress;
    this.start = performance.now();
    this.measureStart = this.start + settings.warmup;
    this.measureEnd = settings.messages > 0
      ? Infinity
      : this.measureStart + settings.duration;
    this.lastEcho = this.measureStart;
    this.#lastProgressTime = this.start;
    this.#nextProgress = this.start + PROGRESS_INTERVAL;
    const { connections, messages } = settings;
    this.#lanes = conns.map((conn, index) => {
      const quota = messages === 0
        ? Infinity
        : Math.floor(messages / connections) +
          (index < messages % connections ? 1 : 0);
      return new Lane(this, conn, index, quota);
    });
    this.#ticker = setInterval(() => this.#tick(), TICK);
    this.finished = Promise.all(this.#lanes.map((lane) => lane.run()))
      .then(() => {})
      .finally(() => {
        this.#done = true;
        clearInterval(this.#ticker);
      });
  }

  /** Records a failed connection. */
  fail(kind: Failure, message: string): void {
    this.errors[kind]++;
    this.firstError ??= message;
  }

  /** Ends every connection now. */
  abort(): void {
    for (const lane of this.#lanes) lane.stop();
  }

  #tick(): void {
    if (this.#done) return;
    const now = performance.now();
    for (const lane of this.#lanes) lane.checkTimeout(now);
    if (this.#onProgress !== undefined && now >= this.#nextProgress) {
      this.#nextProgress += PROGRESS_INTERVAL;
      let count = 0;
      let all = 0;
      for (const lane of this.#lanes) {
        count += lane.measuredDone;
        all += lane.completed;
      }
      const rate = (all - this.#lastProgressCount) /
        ((now - this.#lastProgressTime) / 1000);
      this.#lastProgressCount = all;
      this.#lastProgressTime = now;
      try {
        this.#onProgress({
          phase: now < this.measureStart
            ? "warmup"
            : now < this.measureEnd && !this.#lanes.every((l) => l.writerDone)
            ? "measure"
            : "drain",
          elapsed: now - this.measureStart,
          roundTrips: count,
          roundTripsPerSecond: rate,
          p99: this.latency.percentile(99),
          errors: errorCount(this.errors),
        });
      } catch {
        // A display that throws must not stop the run.
      }
    }
  }

  result(): BenchResult {
    const { connections, size, pipeline, rate, warmup, maxInFlight } =
      this.settings;
    const perConnection = this.#lanes.map((lane) => lane.measuredDone);
    const sent = this.#lanes.reduce((n, lane) => n + lane.measuredSent, 0);
    const roundTrips = perConnection.reduce((n, x) => n + x, 0);
    const elapsed = roundTrips === 0 ? 0 : this.lastEcho - this.measureStart;
    const fair = fairness(perConnection);
    return {
      address: this.#address,
      connections,
      size,
      pipeline: rate > 0 ? maxInFlight : pipeline,
      rate,
      warmup,
      elapsed,
      sent,
      roundTrips,
      roundTripsPerSecond: elapsed > 0 ? roundTrips / (elapsed / 1000) : 0,
      bytesSent: sent * size,
      bytesReceived: roundTrips * size,
      latency: this.latency,
      perConnection,
      fairness: fair.index,
      minShare: fair.minShare,
      errors: { ...this.errors },
      firstError: this.firstError,
    };
  }
}

/** One connection: a writer and a reader sharing counters. */
class Lane {
  readonly #run: Run;
  readonly #conn: Deno.TcpConn;
  readonly #index: number;
  readonly #key: number;
  /** Measured messages this connection may send (Infinity: no limit). */
  readonly #quota: number;
  /** When each message in flight was sent (or due), by index & mask. */
  readonly #stamps: Float64Array;
  readonly #mask: number;
  /** Messages written, measured or not. */
  sent = 0;
  /** Messages echoed in full. */
  completed = 0;
  measuredSent = 0;
  measuredDone = 0;
  /** Bytes echoed so far. */
  #received = 0;
  /** Last time bytes moved either way. */
  #lastMoved: number;
  writerDone = false;
  /** The connection is closed (finished, failed or stopped). */
  #closed = false;
  /** Ends the writer's wait for a free slot. */
  #slotWaiter: (() => void) | undefined;
  /** Ends the writer's wait for its next send time (open loop). */
  #sleepWaiter: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** How late this lane's timers fire, on average, in milliseconds. */
  #overshoot = 1;

  constructor(run: Run, conn: Deno.TcpConn, index: number, quota: number) {
    this.#run = run;
    this.#conn = conn;
    this.#index = index;
    this.#key = payloadKey(index);
    this.#quota = quota;
    const { rate, pipeline, maxInFlight } = run.settings;
    const slots = 2 ** Math.ceil(Math.log2(rate > 0 ? maxInFlight : pipeline));
    this.#stamps = new Float64Array(slots);
    this.#mask = slots - 1;
    this.#lastMoved = run.start;
  }

  async run(): Promise<void> {
    const writing = this.#run.settings.rate > 0
      ? this.#writeOpenLoop()
      : this.#writeClosedLoop();
    await Promise.all([writing, this.#read()]);
    this.#close();
  }

  /** Closes the connection now; both loops then end. */
  stop(): void {
    this.#close();
  }

  /** Fails the connection if echoes are due and nothing moved for too long. */
  checkTimeout(now: number): void {
    const { timeout } = this.#run.settings;
    if (
      timeout > 0 && !this.#closed && this.completed < this.sent &&
      now - this.#lastMoved > timeout
    ) {
      this.#fail(
        "timeouts",
        `no echo for ${Math.round(now - this.#lastMoved)} ms with ${
          this.sent - this.completed
        } message(s) unanswered`,
      );
    }
  }

  /** Closed loop: keep `pipeline` messages in flight. */
  async #writeClosedLoop(): Promise<void> {
    const run = this.#run;
    const { size, pipeline } = run.settings;
    const batch = Math.max(1, Math.floor(PAYLOAD_PERIOD / size));
    const stamps = this.#stamps;
    try {
      while (!this.#closed) {
        const now = performance.now();
        const measured = now >= run.measureStart;
        if (now >= run.measureEnd) break;
        if (measured && this.measuredSent >= this.#quota) break;
        const free = pipeline - (this.sent - this.completed);
        if (free <= 0) {
          await this.#waitForSlot();
          continue;
        }
        const k = Math.min(
          free,
          batch,
          measured ? this.#quota - this.measuredSent : Infinity,
        );
        // Only measured messages need their time (see #read).
        const stamp = measured ? now : -1;
        for (let i = 0; i < k; i++) {
          stamps[(this.sent + i) & this.#mask] = stamp;
        }
        await this.#send(k, measured);
      }
    } catch (error) {
      this.#failFrom(error);
    }
    this.#writerFinished();
  }

  /** Open loop: each message at its time, however the echoes are doing. */
  async #writeOpenLoop(): Promise<void> {
    const run = this.#run;
    const { size, rate, connections, maxInFlight } = run.settings;
    const batch = Math.max(1, Math.floor(PAYLOAD_PERIOD / size));
    const stamps = this.#stamps;
    // Message k of the whole run is due at start + k / rate, and goes to
    // connection k % connections.
    const interval = (1000 * connections) / rate;
    const first = run.start + (1000 * this.#index) / rate;
    const due = (i: number): number => first + i * interval;
    let i = 0;
    let overrun = -1;
    try {
      while (!this.#closed) {
        const next = due(i);
        const measured = next >= run.measureStart;
        if (next >= run.measureEnd) break;
        if (measured && this.measuredSent >= this.#quota) break;
        const now = performance.now();
        // Timers fire late (about 1 ms here): ask for that much less, and
        // send now when the timer could not wake us in time.
        const sleep = Math.floor(next - now - this.#overshoot);
        if (sleep >= 1) {
          await this.#sleep(sleep);
          continue;
        }
        const free = maxInFlight - (this.sent - this.completed);
        if (free <= 0) {
          if (overrun !== i) {
            overrun = i;
            run.errors.overruns++;
            run.firstError ??= `connection ${
              this.#index + 1
            }: ${maxInFlight} messages unanswered when the next was due`;
          }
          await this.#waitForSlot();
          continue;
        }
        // Everything due by now (the first may be a little early), in one
        // write; each measured from when it was due, or from the send if
        // that came first (never less than the true round trip).
        let k = 1;
        while (
          k < free && k < batch && due(i + k) <= now &&
          due(i + k) < run.measureEnd &&
          (due(i + k) >= run.measureStart) === measured &&
          (!measured || this.measuredSent + k < this.#quota)
        ) k++;
        for (let j = 0; j < k; j++) {
          stamps[(this.sent + j) & this.#mask] = measured
            ? Math.min(due(i + j), now)
            : -1;
        }
        i += k;
        await this.#send(k, measured);
      }
    } catch (error) {
      this.#failFrom(error);
    }
    this.#writerFinished();
  }

  /** Writes the next `count` messages, whole. */
  async #send(count: number, measured: boolean): Promise<void> {
    const { size } = this.#run.settings;
    const table = this.#run.table;
    let offset = this.sent * size;
    let left = count * size;
    this.sent += count;
    if (measured) this.measuredSent += count;
    while (left > 0) {
      const at = (offset + this.#key) % PAYLOAD_PERIOD;
      const n = await this.#conn.write(
        table.subarray(at, at + Math.min(left, PAYLOAD_PERIOD)),
      );
      offset += n;
      left -= n;
      this.#lastMoved = performance.now();
    }
  }

  #writerFinished(): void {
    this.writerDone = true;
    // Nothing left to read: the reader's pending read ends with the close.
    if (this.completed === this.sent) this.#close();
  }

  async #read(): Promise<void> {
    const run = this.#run;
    const { size } = run.settings;
    const table = run.table;
    const stamps = this.#stamps;
    const mask = this.#mask;
    const buffer = new Uint8Array(READ_SIZE);
    const latency = run.latency;
    try {
      while (!this.#closed) {
        const n = await this.#conn.read(buffer);
        const now = performance.now();
        if (n === null) {
          const due = this.sent * size - this.#received;
          this.#fail(
            "closedEarly",
            `the server closed the connection (${due} byte(s) sent were not echoed)`,
          );
          break;
        }
        this.#lastMoved = now;
        const at = (this.#received + this.#key) % PAYLOAD_PERIOD;
        const got = buffer.subarray(0, n);
        const want = table.subarray(at, at + n);
        if (
          this.#received + n > this.sent * size ||
          Buffer.compare(got, want) !== 0
        ) {
          this.#mismatch(got, want);
          break;
        }
        this.#received += n;
        const echoed = Math.floor(this.#received / size);
        if (echoed > this.completed) {
          for (let i = this.completed; i < echoed; i++) {
            const stamp = stamps[i & mask]!;
            if (stamp >= 0) {
              latency.record((now - stamp) * 1e6);
              this.measuredDone++;
              run.lastEcho = now;
            }
          }
          this.completed = echoed;
          this.#wakeForSlot();
          if (this.writerDone && this.completed === this.sent) break;
        }
      }
    } catch (error) {
      this.#failFrom(error);
    }
  }

  #mismatch(got: Uint8Array, want: Uint8Array): void {
    let i = 0;
    while (i < got.length && i < want.length && got[i] === want[i]) i++;
    const where = this.#received + i;
    const hex = (b: number | undefined): string =>
      b === undefined ? "nothing" : `0x${b.toString(16).padStart(2, "0")}`;
    this.#fail(
      "mismatches",
      i < want.length
        ? `echoed byte ${where} is ${hex(got[i])}, sent ${hex(want[i])}`
        : `the server echoed more than was sent (${where} bytes)`,
    );
  }

  #failFrom(error: unknown): void {
    if (this.#closed) return; // We closed it: the pending call was cut short.
    const kind: Failure = error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted ||
        error instanceof Deno.errors.BrokenPipe ||
        error instanceof Deno.errors.NotConnected
      ? "resets"
      : "other";
    this.#fail(kind, error instanceof Error ? error.message : String(error));
  }

  #fail(kind: Failure, message: string): void {
    if (this.#closed) return;
    this.#run.fail(kind, `connection ${this.#index + 1}: ${message}`);
    this.#close();
  }

  #waitForSlot(): Promise<void> {
    return new Promise((resolve) => {
      this.#slotWaiter = resolve;
    });
  }

  #wakeForSlot(): void {
    const wake = this.#slotWaiter;
    this.#slotWaiter = undefined;
    wake?.();
  }

  #sleep(ms: number): Promise<void> {
    const start = performance.now();
    return new Promise((resolve) => {
      this.#sleepWaiter = resolve;
      this.#timer = setTimeout(() => {
        const late = performance.now() - start - ms;
        this.#overshoot = 0.8 * this.#overshoot + 0.2 * Math.max(0, late);
        this.#wakeFromSleep();
      }, ms);
    });
  }

  #wakeFromSleep(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#sleepWaiter;
    this.#sleepWaiter = undefined;
    wake?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
    this.#wakeForSlot();
    this.#wakeFromSleep();
  }
}
