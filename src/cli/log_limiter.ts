// Copyright the deno-echo authors. MIT license.

// Rate-limited logging for the server program: a flood of connections (or of
// failing accepts) must not flood the log. Not part of the library.

import { plural } from "./plural.ts";

/** Options for {@linkcode LogLimiter}. */
export interface LogLimiterOptions {
  /** Lines that may be written at once after a quiet spell. */
  burst: number;
  /** Lines per second allowed in the long run. */
  perSecond: number;
  /** Says how many lines were left out, e.g. `"connection lines"`. */
  what: string;
  /** The same for one line, e.g. `"connection line"`; `what` if not given. */
  one?: string;
}

/** How often, at most, a limiter writes its summary of left-out lines. */
export const SUMMARY_INTERVAL_MS = 1000;
/** The shortest refill period; a faster rate gets more tokens a tick. */
const MIN_REFILL_MS = 10;

/**
 * A token bucket for log lines. Lines over the limit are counted, not
 * written; while lines are left out, one summary line a second says how
 * many (and the last one when the limiter is disposed), so that a flood adds
 * at most a line a second to those the bucket lets through.
 *
 * The bucket is refilled by a timer that runs only while it is not full, so
 * a line costs no clock reading: under a flood, a line left out is a count.
 * (A caller that never yields to the event loop gets its burst and no more.)
 */
export class LogLimiter implements Disposable {
  readonly #write: (line: string) => void;
  readonly #options: LogLimiterOptions;
  /** The refill timer's period, in ms. */
  readonly #period: number;
  #tokens: number;
  /** When the bucket was last refilled (`performance.now()`). */
  #refilled = 0;
  #dropped = 0;
  #droppedSince = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(write: (line: string) => void, options: LogLimiterOptions) {
    this.#write = write;
    this.#options = options;
    this.#tokens = options.burst;
    this.#period = Math.min(
      SUMMARY_INTERVAL_MS,
      Math.max(MIN_REFILL_MS, 1000 / options.perSecond),
    );
  }

  /**
   * Takes the token for a line the caller then writes itself; or, when over
   * the limit, counts the line as left out.
   *
   * @returns Whether the line may be written.
   */
  take(): boolean {
    if (this.#tokens >= 1) {
      this.#tokens--;
      this.#startTimer();
      return true;
    }
    if (this.#dropped++ === 0) this.#droppedSince = performance.now();
    this.#startTimer();
    return false;
  }

  /**
   * Writes the line, or counts it when over the limit. Give a function to
   * build the text only when it is written (cheap under a flood).
   */
  line(text: string | (() => string)): void {
    if (this.take()) this.#write(typeof text === "string" ? text : text());
  }

  /** Writes the summary of left-out lines, if any, and stops the timer. */
  [Symbol.dispose](): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#reportDropped(performance.now());
  }

  #startTimer(): void {
    if (this.#timer !== undefined) return;
    this.#refilled = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.#period);
    // Neither the refill nor the summary may keep the process alive.
    Deno.unrefTimer(this.#timer);
  }

  /** Refills the bucket; writes the summary once it is due. */
  #tick(): void {
    const now = performance.now();
    const { burst, perSecond } = this.#options;
    this.#tokens = Math.min(
      burst,
      this.#tokens + (now - this.#refilled) / 1000 * perSecond,
    );
    this.#refilled = now;
    // Due a second after the first line left out, at the nearest tick.
    if (now - this.#droppedSince >= SUMMARY_INTERVAL_MS - this.#period) {
      this.#reportDropped(now);
    }
    if (this.#dropped === 0 && this.#tokens >= burst) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #reportDropped(now: number): void {
    const dropped = this.#dropped;
    if (dropped === 0) return;
    this.#dropped = 0;
    const seconds = (now - this.#droppedSince) / 1000;
    const { what, one = what } = this.#options;
    this.#write(
      `${plural(dropped, one, what)} left out in the last ${
        seconds.toFixed(1)
      } s (log rate limit)`,
    );
  }
}
