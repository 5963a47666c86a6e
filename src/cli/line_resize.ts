// Copyright the deno-echo authors. MIT license.

// What the line editor asks a terminal after a resize ("where is the
// cursor?"), and what the answers say. Not part of the library.

import { findCursorReport } from "./line_keys.ts";
import { rowsAbove } from "./line_view.ts";

/** Timeouts after the last question from which its answers count as lost. */
const LOST_AFTER = 4;

/** A resize waiting for the terminal to say where the cursor went. */
interface Question {
  /** The cursor's column in the row as last drawn. */
  readonly column: number;
  /** The narrowest the terminal was said to be since then. */
  readonly narrowest: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** What {@linkcode ResizeQuestions.take} found in the input. */
export interface Taken {
  /** The input without the answers. */
  readonly bytes: Uint8Array;
  /**
   * Set when the last answer outstanding came while its question was
   * open: the rows above the cursor where the row now starts.
   */
  readonly rows?: number;
}

/**
 * The questions a line editor has asked after resizes, and their answers.
 * Every answer asked for is taken out of the input, however late it comes;
 * only the last one, while its question is open, says where the row is.
 * Answers still missing four timeouts after the last question are taken as
 * lost. A terminal that let its first question time out is not asked again
 * until an answer from it comes.
 */
export class ResizeQuestions {
  readonly #timeout: number;
  readonly #onTimeout: () => void;
  #open: Question | undefined;
  #unanswered = 0;
  #heard = false;
  #silent = false;
  #asked = -Infinity;

  /**
   * Makes the tracker.
   *
   * @param timeout How long, in ms, a question stays open.
   * @param onTimeout Called when one closes unanswered.
   */
  constructor(timeout: number, onTimeout: () => void) {
    this.#timeout = timeout;
    this.#onTimeout = onTimeout;
  }

  /** Whether answers asked for have not all been read yet. */
  get waiting(): boolean {
    this.#forgetLost();
    return this.#unanswered > 0;
  }

  /**
   * Answers still missing long after the last question are taken as lost,
   * so that one lost answer does not throw off the count for good.
   */
  #forgetLost(): void {
    const lost = performance.now() - this.#asked > LOST_AFTER * this.#timeout;
    if (this.#unanswered > 0 && lost) this.#unanswered = 0;
  }

  /** How long, in ms, answers to the last question may still take. */
  get remaining(): number {
    if (this.#unanswered === 0) return 0;
    return Math.max(0, this.#asked + this.#timeout - performance.now());
  }

  /** The cursor's column as last drawn, while a question is open. */
  get column(): number | undefined {
    return this.#open?.column;
  }

  /**
   * Decides whether a resize asks where the cursor went: only when the
   * terminal was narrowed past the cursor and may have rewrapped the row.
   * A question already open stays about the row drawn before it.
   *
   * @param column The cursor's column as last drawn.
   * @param columns The terminal's width now.
   * @returns Whether to write the question (else: redraw in place now).
   */
  ask(column: number, columns: number): boolean {
    const narrowest = Math.min(this.#open?.narrowest ?? columns, columns);
    this.#forgetLost();
    this.close();
    if (column < columns || this.#silent) return false;
    const timer = setTimeout(() => {
      this.#open = undefined;
      // A terminal that has never answered does not: stop asking it.
      if (!this.#heard) this.#silent = true;
      this.#onTimeout();
    }, this.#timeout);
    this.#open = { column, narrowest, timer };
    this.#unanswered++;
    this.#asked = performance.now();
    return true;
  }

  /** Closes the open question; its answer is still taken from input. */
  close(): void {
    if (this.#open === undefined) return;
    clearTimeout(this.#open.timer);
    this.#open = undefined;
  }

  /**
   * Takes the answers asked for out of `bytes`.
   *
   * @param bytes Input from the terminal.
   * @param columns The terminal's width now.
   * @returns The rest of the input, and where the row starts if the last
   * answer was found while its question was open.
   */
  take(bytes: Uint8Array, columns: number): Taken {
    let rows: number | undefined;
    this.#forgetLost();
    while (this.#unanswered > 0) {
      const found = findCursorReport(bytes);
      if (found === undefined) break;
      const rest = new Uint8Array(bytes.length - (found.end - found.start));
      rest.set(bytes.subarray(0, found.start));
      rest.set(bytes.subarray(found.end), found.start);
      bytes = rest;
      this.#heard = true;
      this.#silent = false;
      const open = this.#open;
      if (--this.#unanswered > 0 || open === undefined) continue;
      this.close();
      rows = rowsAbove(open.column, columns, found.column - 1, open.narrowest);
    }
    return rows === undefined ? { bytes } : { bytes, rows };
  }
}
