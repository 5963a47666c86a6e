// Copyright the deno-echo authors. MIT license.

// One load run: the shared clock, counters, histogram, series, timers and
// progress reports; each connection is a Lane (UDP: a UdpLane).

import { Histogram } from "./histogram.ts";
import { payloadTable } from "./bench_payload.ts";
import type { Endpoints } from "./endpoints.ts";
import { Lane } from "./lane.ts";
import type { BenchLane, LaneRun } from "./lane_run.ts";
import type { Settings } from "./options.ts";
import {
  type BenchErrors,
  type BenchProgress,
  type BenchResult,
  type BenchSeries,
  errorCount,
  type Failure,
  fairness,
} from "./result.ts";
import { seriesInterval, SeriesRecorder } from "./series.ts";
import { UdpLane } from "./udp_lane.ts";

/** How often timeouts are checked, in milliseconds. */
const TICK = 100;
/** How often `onProgress` is called, in milliseconds. */
const PROGRESS_INTERVAL = 1000;

/** One run: the shared clock, counters, histogram and timers. */
export class Run implements LaneRun {
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
    lost: 0,
  };
  firstError: string | null = null;
  /** When the measurement began, in milliseconds since the epoch. */
  readonly startedAt: number;
  /** When sending began (after every connection opened). */
  readonly start: number;
  /** Messages sent at or after this time are measured. */
  readonly measureStart: number;
  /** Duration mode: nothing is sent at or after this time. */
  readonly measureEnd: number;
  /** When the last measured echo arrived. */
  lastEcho: number;
  readonly finished: Promise<void>;
  readonly #lanes: BenchLane[];
  readonly #address: () => Deno.NetAddr | Deno.UnixAddr;
  readonly #series: SeriesRecorder;
  #seriesResult: BenchSeries | undefined;
  readonly #onProgress: ((progress: BenchProgress) => void) | undefined;
  readonly #ticker: ReturnType<typeof setInterval>;
  #nextProgress: number;
  #lastProgressCount = 0;
  #lastProgressTime: number;
  #done = false;

  constructor(
    settings: Settings,
    endpoints: Endpoints,
    onProgress: ((progress: BenchProgress) => void) | undefined,
  ) {
    this.settings = settings;
    this.table = payloadTable(settings.seed);
    if (endpoints.kind === "stream") {
      const remote = endpoints.conns[0]!.remoteAddr;
      // Through a proxy the connection's peer is the proxy: name the target
      // as given. A TLS connection's address lacks its transport.
      const address: Deno.NetAddr | Deno.UnixAddr = settings.proxy !== undefined
        ? { transport: "tcp", hostname: settings.hostname, port: settings.port }
        : "path" in remote
        ? { transport: "unix", path: remote.path }
        : {
          transport: "tcp",
          hostname: (remote as Deno.NetAddr).hostname,
          port: (remote as Deno.NetAddr).port,
        };
      this.#address = () => address;
    } else {
      const client = endpoints.clients[0]!;
      this.#address = () => client.remoteAddr;
    }
    this.#onProgress = onProgress;
    this.start = performance.now();
    this.startedAt = Date.now() + settings.warmup;
    this.measureStart = this.start + settings.warmup;
    this.measureEnd = settings.messages > 0
      ? Infinity
      : this.measureStart + settings.duration;
    this.lastEcho = this.measureStart;
    this.#lastProgressTime = this.start;
    // The first report after half an interval, so that a warm-up of one
    // interval shows too.
    this.#nextProgress = this.start + PROGRESS_INTERVAL / 2;
    const { connections, messages, duration, size } = settings;
    this.#series = new SeriesRecorder(
      this.measureStart,
      seriesInterval(duration, messages),
      connections,
      size,
    );
    const quota = (index: number): number =>
      messages === 0 ? Infinity : Math.floor(messages / connections) +
        (index < messages % connections ? 1 : 0);
    this.#lanes = endpoints.kind === "stream"
      ? endpoints.conns.map((conn, i) => new Lane(this, conn, i, quota(i)))
      : endpoints.clients.map((c, i) => new UdpLane(this, c, i, quota(i)));
    this.#ticker = setInterval(() => this.#tick(), TICK);
    this.finished = Promise.all(this.#lanes.map((lane) => lane.run()))
      .then(() => {})
      .finally(() => {
        this.#done = true;
        clearInterval(this.#ticker);
        this.#seriesResult = this.#series.finish(performance.now());
      });
  }

  /** Records a measured echo. */
  record(now: number, ns: number): void {
    this.latency.record(ns);
    this.#series.record(now, ns);
    this.lastEcho = now;
  }

  /** Records a failed connection. */
  fail(kind: Failure, message: string): void {
    this.#count(kind, message);
  }

  /** Records an open-loop message that found no free slot. */
  overrun(message: string): void {
    this.#count("overruns", message);
  }

  /** Records a measured datagram that got no echo in time. */
  lose(message: string): void {
    this.#count("lost", message);
  }

  /** A lane closed. */
  closed(): void {
    this.#series.closed(performance.now());
  }

  #count(kind: keyof BenchErrors, message: string): void {
    this.errors[kind]++;
    this.firstError ??= message;
    this.#series.error(performance.now());
  }

  /** Ends every connection now. */
  abort(): void {
    for (const lane of this.#lanes) lane.stop();
  }

  #tick(): void {
    if (this.#done) return;
    const now = performance.now();
    this.#series.advance(now);
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
      transport: this.settings.transport,
      address: this.#address(),
      startedAt: this.startedAt,
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
      series: this.#seriesResult ?? this.#series.finish(performance.now()),
    };
  }
}
