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

/**
 * A token bucket for log lines. Lines over the limit are counted, not
 * written; the count is reported in one summary line as soon as the bucket
 * allows, at most a second later.
 */
export class LogLimiter implements Disposable {
  readonly #write: (line: string) => void;
  readonly #options: LogLimiterOptions;
  #tokens: number;
  #refilled = performance.now();
  #dropped = 0;
  #droppedSince = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(write: (line: string) => void, options: LogLimiterOptions) {
    this.#write = write;
    this.#options = options;
    this.#tokens = options.burst;
  }

  /**
   * Writes the line, or counts it when over the limit. Give a function to
   * build the text only when it is written (cheap under a flood).
   */
  line(text: string | (() => string)): void {
    if (this.#take()) {
      this.#reportDropped();
      this.#write(typeof text === "string" ? text : text());
      return;
    }
    if (this.#dropped === 0) {
      this.#droppedSince = performance.now();
      this.#timer = setInterval(() => {
        if (this.#take()) this.#reportDropped();
      }, 1000);
      // The summary must not keep the process alive on its own.
      Deno.unrefTimer(this.#timer);
    }
    this.#dropped++;
  }

  /** Writes the summary of left-out lines, if any, and stops the timer. */
  [Symbol.dispose](): void {
    this.#reportDropped();
  }

  #take(): boolean {
    const now = performance.now();
    const { burst, perSecond } = this.#options;
    this.#tokens = Math.min(
      burst,
      this.#tokens + (now - this.#refilled) / 1000 * perSecond,
    );
    this.#refilled = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  #reportDropped(): void {
    if (this.#dropped === 0) return;
    clearInterval(this.#timer);
    const seconds = (performance.now() - this.#droppedSince) / 1000;
    const { what, one = what } = this.#options;
    this.#write(
      `${plural(this.#dropped, one, what)} left out in the last ${
        seconds.toFixed(1)
      } s (log rate limit)`,
    );
    this.#dropped = 0;
  }
}
