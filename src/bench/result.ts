// Copyright the deno-echo authors. MIT license.

// What a load run measures and the failures it counts.

import type { Histogram } from "./histogram.ts";

/** How a load run reaches the server. */
export type BenchTransport = "tcp" | "tls" | "unix" | "udp";

/**
 * One interval of the measurement (a second, unless the run is longer than
 * {@linkcode MAX_SERIES_POINTS} seconds): what was echoed in it, so that a
 * stall or a pause shows.
 */
export interface BenchInterval {
  /** When it starts, in milliseconds since the measurement began. */
  start: number;
  /** Its length in milliseconds (the last one may be shorter). */
  length: number;
  /** Measured round trips whose echo arrived in it. */
  roundTrips: number;
  /** Their bytes (`roundTrips` × `size`). */
  bytes: number;
  /** Their median latency, in nanoseconds (`NaN` when none). */
  p50: number;
  /** Their 99th percentile latency, in nanoseconds (`NaN` when none). */
  p99: number;
  /** Their longest latency, in nanoseconds (`NaN` when none). */
  max: number;
  /**
   * Errors counted in it (see {@linkcode BenchErrors}); those of the warm-up
   * count in the first interval.
   */
  errors: number;
  /** Connections (UDP: sockets) still open when it ended. */
  open: number;
}

/** The measurement interval by interval. */
export interface BenchSeries {
  /** The length of each interval, in milliseconds: 1000 or a multiple. */
  interval: number;
  /**
   * From the start of the measurement to the end of the run (the drain
   * included), at most {@linkcode MAX_SERIES_POINTS}.
   */
  points: BenchInterval[];
  /** Whether intervals past the cap were left out (`messages` runs only). */
  truncated: boolean;
}

/** The most intervals a series holds (an hour of seconds). */
export const MAX_SERIES_POINTS = 3600;

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
  /** Connections where echoes were due and nothing moved for `readTimeout`. */
  timeouts: number;
  /** Open loop: messages that found `maxInFlight` messages unanswered. */
  overruns: number;
  /** Any other failure of a connection. */
  other: number;
  /**
   * UDP: measured datagrams whose echo did not come back within
   * `lossTimeout` (so `sent` is `roundTrips` plus `lost`); 0 otherwise.
   */
  lost: number;
}

/** The outcome of {@linkcode runBench}. */
export interface BenchResult {
  /** How the connections reached the server. */
  transport: BenchTransport;
  /**
   * The server address the connections reached (UDP: the one that echoed,
   * or the first the name resolved to; through a proxy, the target as given,
   * not the proxy); a Unix socket's path for `"unix"`.
   */
  address: Deno.NetAddr | Deno.UnixAddr;
  /** When the measurement began, in milliseconds since the epoch. */
  startedAt: number;
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
  /** The measurement second by second. */
  series: BenchSeries;
}

/** The sum of every kind of error. */
export function errorCount(errors: BenchErrors): number {
  return errors.mismatches + errors.closedEarly + errors.resets +
    errors.timeouts + errors.overruns + errors.other + errors.lost;
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

/** What ended a connection's run, when it was not a clean finish. */
export type Failure = Exclude<keyof BenchErrors, "overruns" | "lost">;
