// Copyright the deno-echo authors. MIT license.

import type { PingProbe, PingRtt, PingSummary } from "./ping_types.ts";

/**
 * Counts a ping run's outcomes and keeps the round-trip statistics in
 * constant memory (sums, not samples).
 */
export class PingTally {
  readonly #target: string;
  readonly #started = performance.now();
  #sent = 0;
  #echoed = 0;
  #lost = 0;
  #wrong = 0;
  #late = 0;
  #reconnects = 0;
  #min = Infinity;
  #max = 0;
  #sum = 0;
  #squares = 0;

  /**
   * Starts the count.
   *
   * @param target The target as the summary names it.
   */
  constructor(target: string) {
    this.#target = target;
  }

  /**
   * Counts one probe's outcome (or a late echo).
   *
   * @param probe What became of it.
   */
  add(probe: PingProbe): void {
    switch (probe.status) {
      case "late":
        this.#late++;
        return;
      case "lost":
        this.#lost++;
        break;
      case "wrong":
        this.#wrong++;
        break;
      case "echoed": {
        this.#echoed++;
        const time = probe.time ?? 0;
        this.#min = Math.min(this.#min, time);
        this.#max = Math.max(this.#max, time);
        this.#sum += time;
        this.#squares += time * time;
        break;
      }
    }
    this.#sent++;
  }

  /** Counts a connection made again after it was lost. */
  reconnected(): void {
    this.#reconnects++;
  }

  /** Whether every probe counted so far was echoed intact. */
  get clean(): boolean {
    return this.#echoed === this.#sent;
  }

  /**
   * The run so far.
   *
   * @returns The counts, the elapsed time and the round-trip statistics.
   */
  summary(): PingSummary {
    let rtt: PingRtt | null = null;
    if (this.#echoed > 0) {
      const avg = this.#sum / this.#echoed;
      const variance = Math.max(0, this.#squares / this.#echoed - avg * avg);
      rtt = { min: this.#min, avg, max: this.#max, mdev: Math.sqrt(variance) };
    }
    return {
      target: this.#target,
      sent: this.#sent,
      echoed: this.#echoed,
      lost: this.#lost,
      wrong: this.#wrong,
      late: this.#late,
      reconnects: this.#reconnects,
      time: performance.now() - this.#started,
      rtt,
    };
  }
}
