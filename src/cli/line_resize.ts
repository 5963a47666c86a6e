// Copyright the deno-echo authors. MIT license.

// What the line editor asks a terminal after a resize ("where is the
// cursor?"), and what the answers say. Not part of the library.

import { findCursorReport } from "./line_keys.ts";
import { rowsAbove } from "./line_view.ts";

/**
 * Timeouts after its question from which an answer still missing counts as
 * lost: long past any terminal's delay, and short enough for a lost answer
 * to cost only the questions asked soon after it.
 */
const LOST_AFTER = 20;
/** Most answers owed at once; older ones count as lost. */
const MAX_OWED = 64;

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
 * Each answer is matched with the oldest question still owed one (a
 * terminal answers in order), so that a slow answer is never taken for a
 * later question's. An answer still missing twenty timeouts after its
 * question counts as lost; until then it costs the questions asked after
 * it their answers (their rows are redrawn where the cursor is). A
 * terminal that let its first question time out is not asked again until
 * an answer from it comes.
 */
export class ResizeQuestions {
  readonly #timeout: number;
  readonly #onTimeout: () => void;
  #open: Question | undefined;
  /** When each question still owed an answer was asked, oldest first. */
  readonly #owed: number[] = [];
  #heard = false;
  #silent = false;

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
    return this.#owed.length > 0;
  }

  /** How long, in ms, answers to the last question may still take. */
  get remaining(): number {
    const asked = this.#owed.at(-1);
    if (asked === undefined) return 0;
    return Math.max(0, asked + this.#timeout - performance.now());
  }

  /** Answers missing long after their questions count as lost. */
  #forgetLost(): void {
    const since = performance.now() - LOST_AFTER * this.#timeout;
    while (this.#owed.length > 0 && this.#owed[0]! < since) this.#owed.shift();
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
    this.close();
    if (column < columns || this.#silent) return false;
    const timer = setTimeout(() => {
      this.#open = undefined;
      // A terminal that has never answered does not: stop asking it.
      if (!this.#heard) this.#silent = true;
      this.#onTimeout();
    }, this.#timeout);
    this.#open = { column, narrowest, timer };
    this.#owed.push(performance.now());
    if (this.#owed.length > MAX_OWED) this.#owed.shift();
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
    while (this.waiting) {
      const found = findCursorReport(bytes);
      if (found === undefined) break;
      const rest = new Uint8Array(bytes.length - (found.end - found.start));
      rest.set(bytes.subarray(0, found.start));
      rest.set(bytes.subarray(found.end), found.start);
      bytes = rest;
      this.#heard = true;
      this.#silent = false;
      // The oldest question's answer; the open one's if none is older.
      this.#owed.shift();
      const open = this.#open;
      if (this.#owed.length > 0 || open === undefined) continue;
      this.close();
      rows = rowsAbove(open.column, columns, found.column - 1, open.narrowest);
    }
    return rows === undefined ? { bytes } : { bytes, rows };
  }
}
