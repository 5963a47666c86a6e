// Copyright the deno-echo authors. MIT license.

// The measurement interval by interval: round trips, latency percentiles,
// errors and open connections of each second, in bounded memory.

import { Histogram } from "./histogram.ts";
import {
  type BenchInterval,
  type BenchSeries,
  MAX_SERIES_POINTS,
} from "./result.ts";

/**
 * The interval length for a run: a second, or as many whole seconds as keep
 * a `duration` run within {@linkcode MAX_SERIES_POINTS} intervals.
 */
export function seriesInterval(duration: number, messages: number): number {
  if (messages > 0) return 1000;
  return 1000 * Math.max(1, Math.ceil(duration / 1000 / MAX_SERIES_POINTS));
}

/**
 * Records the measurement interval by interval. One histogram serves the
 * interval under way and is reset when it ends, so memory stays fixed
 * whatever the length of the run. An interval ends when the first event
 * after its end is recorded (or the run's ticker calls `advance`), so a
 * change in the open count is always seen on the right side of a boundary.
 */
export class SeriesRecorder {
  readonly #origin: number;
  readonly #interval: number;
  readonly #size: number;
  readonly #cap: number;
  readonly #points: BenchInterval[] = [];
  readonly #window = new Histogram();
  #truncated = false;
  #index = 0;
  #end: number;
  #errors = 0;
  #open: number;

  /**
   * @param origin When the measurement begins (`performance.now()` time).
   * @param interval The length of each interval, in milliseconds.
   * @param open The connections open at the start.
   * @param size Bytes per message.
   * @param cap The most intervals kept.
   */
  constructor(
    origin: number,
    interval: number,
    open: number,
    size: number,
    cap: number = MAX_SERIES_POINTS,
  ) {
    this.#origin = origin;
    this.#interval = interval;
    this.#open = open;
    this.#size = size;
    this.#cap = cap;
    this.#end = origin + interval;
  }

  /** Closes every interval that ended at or before `now`. */
  advance(now: number): void {
    while (now >= this.#end) this.#flush(this.#interval);
  }

  /** A measured echo arrived at `now`, `ns` after it was sent (or due). */
  record(now: number, ns: number): void {
    if (now >= this.#end) this.advance(now);
    this.#window.record(ns);
  }

  /** An error was counted at `now`. */
  error(now: number): void {
    this.advance(now);
    this.#errors++;
  }

  /** A connection closed at `now`. */
  closed(now: number): void {
    this.advance(now);
    this.#open--;
  }

  /**
   * Ends the series at `end`: the interval under way is kept, shorter.
   *
   * @returns The series.
   */
  finish(end: number): BenchSeries {
    this.advance(end);
    const start = this.#origin + this.#index * this.#interval;
    if (end > start) this.#flush(end - start);
    return {
      interval: this.#interval,
      points: this.#points,
      truncated: this.#truncated,
    };
  }

  #flush(length: number): void {
    const window = this.#window;
    if (this.#points.length < this.#cap) {
      this.#points.push({
        start: this.#index * this.#interval,
        length,
        roundTrips: window.count,
        bytes: window.count * this.#size,
        p50: window.percentile(50),
        p99: window.percentile(99),
        max: window.max,
        errors: this.#errors,
        open: this.#open,
      });
    } else {
      this.#truncated = true;
    }
    window.reset();
    this.#errors = 0;
    this.#index++;
    this.#end += this.#interval;
  }
}
