// Copyright the deno-echo authors. MIT license.

// Idle timeouts for many connections with one timer per timeout value,
// instead of one per connection: a timer costs ~1.4 KB per idle connection
// (measured with 10,000 of them), a registry entry a few dozen bytes. The
// hot path only increments a counter; the sweeper notices when it stops
// moving.

/** What an {@linkcode IdleWatch} tells when its connection has gone idle. */
export interface IdleTarget {
  /**
   * Called once, by the sweeper, when the watch's `activity` has not
   * changed for the timeout.
   *
   * @param idleFor Milliseconds since the last change.
   */
  idled(idleFor: number): void;
}

/** Sweepers by timeout; each runs only while it watches something. */
const sweepers = new Map<number, Sweeper>();

/** The watches of one timeout value, checked by one timer. */
export interface IdleSweeper {
  /** Starts checking a watch. */
  add(watch: IdleWatch): void;
  /** Stops checking a watch; nothing if it was not checked. */
  delete(watch: IdleWatch): void;
}

/**
 * One watched connection: a single object, no closures (each would cost
 * its own bytes per idle connection).
 */
export class IdleWatch {
  /** Increment on every read or write. */
  activity = 0;
  /** `activity` at the last sweep that saw it change... */
  seen = 0;
  /** ...and when that was. */
  since: number;
  readonly #sweeper: IdleSweeper | undefined;
  readonly #target: IdleTarget | undefined;

  /**
   * Starts watching, or makes a watch that watches nothing.
   *
   * @param sweeper The sweeper of the timeout, or none.
   * @param target Told when the connection has gone idle.
   */
  constructor(sweeper?: IdleSweeper, target?: IdleTarget) {
    this.#sweeper = sweeper;
    this.#target = target;
    this.since = sweeper === undefined ? 0 : performance.now();
    sweeper?.add(this);
  }

  /** Stops watching. */
  cancel(): void {
    this.#sweeper?.delete(this);
  }

  /** The sweeper found the connection idle for `idleFor` ms. */
  fire(idleFor: number): void {
    this.#target?.idled(idleFor);
  }
}

/** The watch of echoes without an idle timeout: shared, it watches nothing. */
const UNWATCHED = new IdleWatch();

class Sweeper implements IdleSweeper {
  readonly #timeout: number;
  readonly #entries = new Set<IdleWatch>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(timeout: number) {
    this.#timeout = timeout;
  }

  add(entry: IdleWatch): void {
    this.#entries.add(entry);
    // Checking eight times per timeout closes an idle connection at most
    // 12.5 % late, without waking often for long timeouts.
    const every = Math.min(1000, Math.max(10, this.#timeout / 8));
    this.#timer ??= setInterval(() => this.#sweep(), every);
  }

  delete(entry: IdleWatch): void {
    if (!this.#entries.delete(entry)) return;
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
        entry.fire(idleFor);
      }
    }
  }
}

/**
 * Tells `target` once when `watch.activity` has not changed for `timeout` ms
 * (checked every eighth of the timeout, at most every second, so the call
 * comes up to one check late).
 *
 * @param timeout Milliseconds; 0 or less watches nothing (the watch is
 * shared, its `activity` counts for nobody).
 * @param target Told when the connection has gone idle.
 * @returns The watch: increment its `activity` on activity, `cancel()` it
 * when the connection ends.
 */
export function watchIdle(timeout: number, target: IdleTarget): IdleWatch {
  if (!(timeout > 0)) return UNWATCHED;
  let sweeper = sweepers.get(timeout);
  if (sweeper === undefined) {
    sweeper = new Sweeper(timeout);
    sweepers.set(timeout, sweeper);
  }
  return new IdleWatch(sweeper, target);
}
