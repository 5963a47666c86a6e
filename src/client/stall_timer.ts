// Copyright the deno-echo authors. MIT license.

/**
 * A session's read timeout: fires when something is due (echoes, or a write
 * blocked on the peer) and nothing has moved for `timeout` ms. One timer,
 * re-armed only when it fires early; time spent with nothing due does not
 * count.
 */
export class StallTimer implements Disposable {
  readonly #timeout: number;
  readonly #due: () => boolean;
  readonly #onStall: () => void;
  #lastProgress = performance.now();
  #writing = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts watching.
   *
   * @param timeout The limit, in ms (more than 0).
   * @param due Whether echoes are due (sent and not yet echoed).
   * @param onStall Called once, when the limit runs out.
   */
  constructor(timeout: number, due: () => boolean, onStall: () => void) {
    this.#timeout = timeout;
    this.#due = due;
    this.#onStall = onStall;
    this.#timer = setTimeout(this.#check, timeout);
  }

  /** Something moved: an echo came, or a write went through. */
  progress(): void {
    this.#lastProgress = performance.now();
  }

  /**
   * Marks a write to the peer as started or finished; while one is pending
   * the session waits on the peer.
   *
   * @param writing Whether a write is pending.
   */
  writing(writing: boolean): void {
    this.#writing = writing;
    this.progress();
  }

  /** Stops watching. */
  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check = (): void => {
    const waiting = this.#writing || this.#due();
    const quietFor = performance.now() - this.#lastProgress;
    if (waiting && quietFor >= this.#timeout) {
      this.#timer = undefined;
      return this.#onStall();
    }
    this.#timer = setTimeout(
      this.#check,
      waiting ? this.#timeout - quietFor : this.#timeout,
    );
  };
}
