// Copyright the deno-echo authors. MIT license.

import { checkDuration } from "../net/duration.ts";
import type { EchoCut } from "./cut.ts";
import { type IdleTarget, type IdleWatch, watchIdle } from "./idle_sweeper.ts";
import type { EchoOptions, EchoResult, EchoStopper } from "./types.ts";

/** How an echo loop closes its connection, over a conn or over streams. */
export interface EchoCloser {
  /** After EOF, everything echoed: close. */
  end(): Promise<void>;
  /**
   * After the quit line or a limit: end our side, then read and discard what
   * the peer still sends, for a bounded time, before closing. Closing a socket
   * with unread input makes the kernel send a reset, which can destroy the
   * echo still in flight.
   */
  lingeringClose(timeout: number): Promise<void>;
  /** Tears the connection down now; pending reads and writes fail. */
  abort(reason: unknown): void;
  /** Gives back locks. */
  release(): void;
}

/**
 * Checks an echo's durations, before the loop takes anything (locks, a
 * listener on the signal); the quit word and `maxBytes` are checked by
 * `EchoCut`.
 *
 * @param options The echo's options.
 * @throws {RangeError} If `idleTimeout` or `lingerTimeout` is not a number
 * of ms from 0 to `MAX_TIMEOUT`.
 */
export function checkEchoDurations(options: EchoOptions): void {
  const { idleTimeout, lingerTimeout } = options;
  if (idleTimeout !== undefined) checkDuration("idleTimeout", idleTimeout);
  if (lingerTimeout !== undefined) {
    checkDuration("lingerTimeout", lingerTimeout);
  }
}

/** Why the echo stopped the stream itself, if it did. */
interface Stopped {
  reason: "aborted" | "idle";
  error: unknown;
}

/**
 * What both echo loops share around their reads and writes: stopping on the
 * signal, the stopper or the idle timeout, and the result for each way an
 * echo ends. A loop counts activity on {@linkcode EchoRun.idle}, asks
 * {@linkcode EchoRun.cut} where to stop, and returns what
 * {@linkcode EchoRun.atEof}, {@linkcode EchoRun.atCut} or
 * {@linkcode EchoRun.failed} gives; it calls {@linkcode EchoRun.release}
 * when it is done.
 */
export class EchoRun implements IdleTarget {
  /** Where the echo cuts, and the bytes echoed so far. */
  readonly cut: EchoCut;
  /**
   * The idle watch: increment its `activity` on every read and write. An
   * increment is all it costs; one shared timer per timeout value checks
   * every connection's count (see idle_sweeper.ts).
   */
  readonly idle: IdleWatch;
  readonly #closer: EchoCloser;
  readonly #lingerTimeout: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  #stopped: Stopped | undefined;

  /**
   * Starts watching the signal, the stopper and idleness.
   *
   * @param closer Closes the connection; aborted when the echo is stopped.
   * @param cut Where the echo cuts.
   * @param options The echo's options.
   * @param stopper Gets its `stop` function set.
   */
  constructor(
    closer: EchoCloser,
    cut: EchoCut,
    options: EchoOptions,
    stopper?: EchoStopper,
  ) {
    const { signal, lingerTimeout = 1000, idleTimeout = 0 } = options;
    this.cut = cut;
    this.#closer = closer;
    this.#lingerTimeout = lingerTimeout;
    this.#signal = signal;
    // Only what is asked for: each closure costs every idle connection.
    if (signal !== undefined) {
      const onAbort = () => this.#stop("aborted", signal.reason);
      this.#onAbort = onAbort;
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
    }
    if (stopper !== undefined) {
      stopper.stop = (reason) => this.#stop("aborted", reason);
    }
    this.idle = watchIdle(idleTimeout, this);
  }

  /**
   * Stops the echo as idle: for the idle watch.
   *
   * @param idleFor Milliseconds without a read or a write.
   */
  idled(idleFor: number): void {
    this.#stop(
      "idle",
      new Deno.errors.TimedOut(`Idle for ${Math.round(idleFor)} ms`),
    );
  }

  #stop(reason: "aborted" | "idle", error: unknown): void {
    this.#stopped ??= { reason, error };
    this.#closer.abort(error);
  }

  /**
   * The peer ended its side and everything was echoed, or the echo was
   * stopped (a stopped stream may end rather than fail).
   *
   * @returns The result, once the connection is closed.
   */
  async atEof(): Promise<EchoResult> {
    const bytes = this.cut.bytes;
    if (this.#stopped) return { bytes, ...this.#stopped };
    await this.#closer.end();
    return { bytes, reason: "eof" };
  }

  /**
   * The chunk up to the cut was echoed: linger, then close.
   *
   * @returns The result, once the connection is closed.
   */
  async atCut(): Promise<EchoResult> {
    this.idle.cancel();
    await this.#closer.lingeringClose(this.#lingerTimeout);
    return { bytes: this.cut.bytes, reason: this.cut.reason };
  }

  /**
   * Reading, writing or closing failed: tears the connection down, unless
   * the echo was stopped (which is what made it fail).
   *
   * @param error The failure.
   * @returns The result.
   */
  failed(error: unknown): EchoResult {
    const bytes = this.cut.bytes;
    if (this.#stopped) return { bytes, ...this.#stopped };
    this.#closer.abort(error);
    return { bytes, reason: "error", error };
  }

  /** Stops watching, and gives back the stream's locks. */
  release(): void {
    this.idle.cancel();
    if (this.#onAbort !== undefined) {
      this.#signal?.removeEventListener("abort", this.#onAbort);
    }
    this.#closer.release();
  }
}
