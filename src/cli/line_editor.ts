// Copyright the deno-echo authors. MIT license.

// The interactive client's prompt: a small line editor over a terminal in
// raw mode. The editing itself is the pure state machine in line_state.ts;
// this file only reads keys and writes what it says. Not part of the
// library.

import { concat } from "@std/bytes";
import {
  InterruptedError,
  type KeyInput,
  type LineEditorOptions,
  type ReadLineOptions,
  type TerminalOutput,
} from "./line_editor_options.ts";
import { isCursorReportPrefix } from "./line_keys.ts";
import { ResizeQuestions } from "./line_resize.ts";
import {
  applyKeys,
  cursorColumn,
  DEFAULT_HISTORY_LIMIT,
  type LineState,
  newLineState,
  resizeLine,
  startLine,
} from "./line_state.ts";

export {
  InterruptedError,
  type KeyInput,
  type LineEditorOptions,
  type ReadLineOptions,
  type TerminalOutput,
};

const encoder = new TextEncoder();
const READ_SIZE = 64 * 1024;
/** Asks the terminal where its cursor is: it answers `CSI row ; column R`. */
const QUERY_CURSOR = "\x1b[6n";

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

/**
 * A line editor for a terminal: printable text (UTF-8) inserted at the
 * cursor, Left/Right (Ctrl-B/Ctrl-F), Ctrl-Left/Ctrl-Right and Alt-B/Alt-F
 * by words, Home/End (Ctrl-A/Ctrl-E), Backspace, Delete, Ctrl-D, Ctrl-U,
 * Ctrl-K, Ctrl-W, Alt-D, Up/Down (Ctrl-P/Ctrl-N) through a bounded history,
 * Ctrl-L, Enter. There is no limit on a line's length; a long line scrolls
 * sideways within one row, and a paste is drawn once per read however long
 * it is. Controls in the line are shown as `^X`.
 *
 * The terminal is in raw mode only while {@linkcode LineEditor.readLine}
 * waits, and is put back however the wait ends.
 *
 * @example Lines from keys
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { LineEditor } from "./line_editor.ts";
 *
 * const keys = new TextEncoder().encode("wrld\x1b[D\x1b[D\x1b[Do\r");
 * let fed = false;
 * const editor = new LineEditor({
 *   input: {
 *     read(p) {
 *       if (fed) return Promise.resolve(null);
 *       fed = true;
 *       p.set(keys);
 *       return Promise.resolve(keys.length);
 *     },
 *   },
 *   output: { write: (p) => Promise.resolve(p.length) },
 *   columns: () => 80,
 * });
 * assertEquals(await editor.readLine("> "), "world");
 * assertEquals(await editor.readLine("> "), null);
 * ```
 */
export class LineEditor {
  readonly #input: KeyInput;
  readonly #output: TerminalOutput;
  readonly #columns: () => number;
  #state: LineState;
  /** Bytes read but not used yet: what followed the last line's Enter. */
  #rest: Uint8Array = new Uint8Array(0);
  /** A read still waiting, kept for the next call after an abort. */
  #reading: Promise<Uint8Array | null> | undefined;
  #buffer = new Uint8Array(READ_SIZE);
  #ended = false;
  #busy = false;
  #finishing: Promise<void> | undefined;
  /** Whether keys are being edited (not before the line, nor after it). */
  #editing = false;
  readonly #questions: ResizeQuestions;
  /** The last write asked for, settled once it is done (or failed). */
  #writing: Promise<void> = Promise.resolve();

  /**
   * Makes an editor; the terminal is untouched until the first readLine.
   *
   * @param options Where keys come from and the line goes to.
   */
  constructor(options: LineEditorOptions = {}) {
    this.#input = options.input ?? Deno.stdin;
    this.#output = options.output ?? Deno.stdout;
    this.#columns = options.columns ?? consoleColumns;
    this.#questions = new ResizeQuestions(
      options.reportTimeout ?? 500,
      // Unless the line has ended meanwhile (its last write may be going
      // out): a redraw then would draw over what comes after it.
      () => this.#editing ? this.#redraw(0).catch(() => {}) : undefined,
    );
    this.#state = newLineState({
      historyLimit: options.historyLimit ?? DEFAULT_HISTORY_LIMIT,
      columns: this.#columns(),
    });
  }

  /**
   * Redraws the line being edited at the terminal's width now (call it on
   * `SIGWINCH`); does nothing while no line is being edited (before a line,
   * or once it has ended, its end still being written). Narrowed past
   * the cursor, a terminal may have rewrapped the row over several rows:
   * it is asked where the cursor went, and the row is redrawn from its
   * start once it answers (or after `reportTimeout`, or at the next key).
   * A terminal that let its first question time out is not asked again
   * until an answer comes. Answers still to come when a line is entered
   * are taken out of the next line's input (or read by
   * {@linkcode LineEditor.finish}); when reading ends any other way
   * (Ctrl-C, Ctrl-D, the end of input, an abort), they are waited for, no
   * longer than `reportTimeout` after the last question, so that none is
   * typed into what runs after the editor.
   *
   * @returns When the row, or the question, has been written.
   */
  async resize(): Promise<void> {
    if (!this.#editing) return;
    const columns = this.#columns();
    // Resized again before an answer: the row on the screen is still the
    // one drawn before the first resize.
    const column = this.#questions.column ?? cursorColumn(this.#state);
    this.#state = resizeLine(this.#state, columns).state;
    if (!this.#questions.ask(column, columns)) return await this.#redraw(0);
    await this.#write(QUERY_CURSOR);
  }

  /**
   * Reads the answers to resize questions still to come, no longer than
   * `reportTimeout` after the last question, so that none is typed into
   * what runs after the editor (call it before leaving raw or cbreak mode);
   * keys read with them are kept for the next line. While a line is being
   * read, the line takes them: this waits for that, as long, and reads what
   * the line leaves if it is entered meanwhile. A line asked for meanwhile
   * waits for it.
   *
   * @returns When no answer is awaited any more, or none can come in time.
   */
  finish(): Promise<void> {
    if (this.#finishing !== undefined) return this.#finishing;
    if (this.#busy) return this.#duringLine();
    if (!this.#questions.waiting) return Promise.resolve();
    this.#busy = true;
    this.#finishing = this.#drain().finally(() => {
      this.#busy = false;
      this.#finishing = undefined;
    });
    return this.#finishing;
  }

  /**
   * {@linkcode LineEditor.finish} while a line is read: waits until the line
   * has taken the answers owed, or none can come in time, looking every
   * {@linkcode ANSWER_POLL} ms; then reads those a line entered meanwhile
   * left for the next one.
   */
  async #duringLine(): Promise<void> {
    const until = performance.now() + this.#questions.remaining;
    while (
      this.#busy && this.#questions.waiting && performance.now() < until
    ) {
      await new Promise((resolve) => setTimeout(resolve, ANSWER_POLL));
    }
    if (!this.#busy) await this.finish();
  }

  /** Lines entered so far, oldest first, as Up recalls them. */
  get history(): readonly string[] {
    return this.#state.history;
  }

  /**
   * Shows `prompt` and lets the user edit one line. One call at a time;
   * write nothing to the terminal while it waits.
   *
   * @param prompt Shown before the line (controls in it are escaped).
   * @param options A signal to stop waiting.
   * @returns The line without its line end; `null` on Ctrl-D at an empty
   * line or at the end of input (a line typed before the end is returned
   * first).
   * @throws {InterruptedError} On Ctrl-C.
   */
  async readLine(
    prompt: string,
    options: ReadLineOptions = {},
  ): Promise<string | null> {
    const { signal } = options;
    await this.#finishing;
    signal?.throwIfAborted();
    if (this.#busy) throw new TypeError("A line is already being read");
    if (this.#ended && this.#rest.length === 0) return null;
    this.#input.setRaw?.(true);
    this.#busy = true;
    this.#editing = true;
    // A line entered leaves late answers to the next one; any other end
    // may be the last read of the session.
    let drain = true;
    try {
      const started = startLine(this.#state, prompt, this.#columns());
      this.#state = started.state;
      await this.#write(started.output);
      let bytes = this.#rest;
      this.#rest = new Uint8Array(0);
      for (;;) {
        if (bytes.length > 0) {
          const done = await this.#apply(bytes);
          drain = typeof done !== "string";
          if (done !== undefined) return done;
        }
        const chunk = this.#ended ? null : await this.#read(signal);
        if (chunk === null) {
          this.#ended = true;
          this.#editing = false;
          const { text } = this.#state;
          await this.#write("\r\n");
          this.#state = { ...this.#state, text: "", cursor: 0 };
          return text === "" ? null : text;
        }
        bytes = chunk;
      }
    } catch (error) {
      // Whoever stopped the wait writes next: on a line of its own.
      this.#editing = false;
      if (signal?.aborted) await this.#write("\r\n").catch(() => {});
      throw error;
    } finally {
      this.#editing = false;
      this.#questions.close();
      if (drain && this.#questions.waiting) await this.#drain();
      this.#busy = false;
      this.#input.setRaw?.(false);
    }
  }

  /** Clears the row `up` rows above the cursor and below, and draws it. */
  #redraw(up: number): Promise<void> {
    const row = resizeLine(this.#state, this.#state.columns).output;
    return this.#write((up > 0 ? `\x1b[${up}A` : "") + row);
  }

  /**
   * Takes the answers to resizes out of `bytes` (with what was held back
   * of them before), redrawing the row where the last one says it starts.
   */
  async #takeAnswers(bytes: Uint8Array): Promise<Uint8Array> {
    const taken = this.#questions.take(
      this.#withPending(bytes),
      this.#state.columns,
    );
    if (taken.rows !== undefined) await this.#redraw(taken.rows);
    return taken.bytes;
  }

  /**
   * Reads the answers still to come before the terminal leaves raw mode,
   * so that none is typed into what runs next; keys read with them are
   * kept for the next line. Waits no longer than the last question may.
   */
  async #drain(): Promise<void> {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), this.#questions.remaining);
    try {
      while (this.#questions.waiting && !this.#ended) {
        const chunk = await this.#read(stop.signal);
        if (chunk === null) this.#ended = true;
        else {
          // No question is open: the width is not needed.
          const bytes = this.#withPending(concat([this.#rest, chunk]));
          this.#rest = this.#questions.take(bytes, 0).bytes;
        }
      }
    } catch {
      // Out of time (the read goes on, for the next line), or input failed
      // (the next line's read meets its own outcome).
    } finally {
      clearTimeout(timer);
    }
  }

  /** `bytes` after what was held back of the input, which is let go. */
  #withPending(bytes: Uint8Array): Uint8Array {
    const { pending } = this.#state;
    if (pending.length === 0) return bytes;
    this.#state = { ...this.#state, pending: new Uint8Array(0) };
    return concat([pending, bytes]);
  }

  /** Applies keys; the line if one ended, `null` at Ctrl-D. */
  async #apply(bytes: Uint8Array): Promise<string | null | undefined> {
    if (this.#questions.waiting) {
      bytes = await this.#takeAnswers(bytes);
      // An answer cut off by the end of a read: wait for its rest.
      if (this.#questions.waiting && isCursorReportPrefix(bytes)) {
        this.#state = { ...this.#state, pending: bytes };
        return undefined;
      }
    }
    if (bytes.length === 0) return undefined;
    if (this.#questions.column !== undefined) {
      // A key before the answer: the row is redrawn where the cursor is.
      this.#questions.close();
      await this.#redraw(0);
    }
    const result = applyKeys(
      { ...this.#state, columns: this.#columns() },
      bytes,
      1,
    );
    this.#state = result.state;
    this.#rest = result.rest;
    // A line that ends here is not redrawn at a resize while its end is
    // written, nor after.
    if (result.end !== undefined || result.lines.length > 0) {
      this.#editing = false;
    }
    await this.#write(result.output);
    if (result.end === "interrupt") throw new InterruptedError();
    if (result.end === "eof") return null;
    return result.lines[0];
  }

  /** The next chunk of input; a read cut short by `signal` is kept. */
  async #read(signal: AbortSignal | undefined): Promise<Uint8Array | null> {
    this.#reading ??= this.#input.read(this.#buffer)
      .then((n) => n === null ? null : this.#buffer.slice(0, n));
    const settled = this.#reading.then(
      (chunk) => ({ chunk }),
      (error: unknown) => ({ error }),
    );
    let result;
    if (signal === undefined) result = await settled;
    else {
      signal.throwIfAborted();
      const { promise, reject } = Promise.withResolvers<never>();
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        result = await Promise.race([settled, promise]);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
    // Only a read whose outcome was taken is done with.
    this.#reading = undefined;
    if ("error" in result) throw result.error;
    return result.chunk;
  }

  /**
   * Writes `text` in full once every write asked for before it is done: a
   * redraw from a timer or a resize never lands inside a row still being
   * written. Each caller gets its own write's failure, and must take it
   * (await or catch): the queue goes on past it. Nothing to write resolves
   * at once.
   */
  #write(text: string): Promise<void> {
    if (text === "") return Promise.resolve();
    const bytes = encoder.encode(text);
    const written = this.#writing.then(() => writeAll(this.#output, bytes));
    this.#writing = written.catch(() => {});
    return written;
  }
}

async function writeAll(
  output: TerminalOutput,
  bytes: Uint8Array,
): Promise<void> {
  for (let off = 0; off < bytes.length;) {
    off += await output.write(bytes.subarray(off));
  }
}

/** How often, in ms, {@linkcode LineEditor.finish} looks during a line. */
const ANSWER_POLL = 10;
