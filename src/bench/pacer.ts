// Copyright the deno-echo authors. MIT license.

// Open-loop pacing: sleeps until a message is due, learning how late this
// machine's timers fire and asking for that much less.

/** Sleeps until the next message is due; one sleep at a time. */
export class Pacer {
  /** How late the timers fire, on average, in milliseconds. */
  #overshoot = 1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiter: (() => void) | undefined;

  /**
   * How long to sleep for a message due at `due` (both `performance.now()`
   * times): less than 1 means send it now, since a timer could not wake in
   * time.
   */
  delay(due: number, now: number): number {
    return Math.floor(due - now - this.#overshoot);
  }

  /** Sleeps `ms` milliseconds, or until {@linkcode Pacer.wake}. */
  sleep(ms: number): Promise<void> {
    const start = performance.now();
    return new Promise((resolve) => {
      this.#waiter = resolve;
      this.#timer = setTimeout(() => {
        const late = performance.now() - start - ms;
        this.#overshoot = 0.8 * this.#overshoot + 0.2 * Math.max(0, late);
        this.wake();
      }, ms);
    });
  }

  /** Ends the sleep now, if there is one. */
  wake(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#waiter;
    this.#waiter = undefined;
    wake?.();
  }
}
