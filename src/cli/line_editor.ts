// Copyright the deno-echo authors. MIT license.

// The interactive client's prompt: a small line editor over a terminal in
// raw mode. The editing itself is the pure state machine in line_state.ts;
// this file only reads keys and writes what it says. Not part of the
// library.

import {
  applyKeys,
  DEFAULT_HISTORY_LIMIT,
  type LineState,
  newLineState,
  resizeLine,
  startLine,
} from "./line_state.ts";

/** Where keys come from: `Deno.stdin`, or anything shaped like it. */
export interface KeyInput {
  /** Reads some bytes into `p`; `null` at the end of input. */
  read(p: Uint8Array): Promise<number | null>;
  /** Switches the terminal to raw mode and back; absent off a terminal. */
  setRaw?(mode: boolean): void;
}

/** Where the line is drawn: `Deno.stdout`, or anything shaped like it. */
export interface TerminalOutput {
  /** Writes some of `p`; resolves with how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/** Options for {@linkcode LineEditor}. */
export interface LineEditorOptions {
  /**
   * Where keys come from.
   * @default {Deno.stdin}
   */
  input?: KeyInput;
  /**
   * Where the line is drawn.
   * @default {Deno.stdout}
   */
  output?: TerminalOutput;
  /**
   * Width of the terminal, asked before each redraw.
   * @default {() => Deno.consoleSize().columns}
   */
  columns?: () => number;
  /**
   * Lines of history kept for Up and Down.
   * @default {500}
   */
  historyLimit?: number;
}

/** Options for {@linkcode LineEditor.readLine}. */
export interface ReadLineOptions {
  /**
   * Stops waiting: `readLine` rejects with the signal's reason, and the
   * terminal is back in its normal mode.
   */
  signal?: AbortSignal;
}

/**
 * Thrown by {@linkcode LineEditor.readLine} when Ctrl-C is pressed. The
 * editor has already shown `^C` and ended the line; a program exits with
 * status 130.
 */
export class InterruptedError extends Error {
  /**
   * Makes the error.
   *
   * @param message What happened.
   */
  constructor(message = "Interrupted") {
    super(message);
    this.name = "InterruptedError";
  }
}

const encoder = new TextEncoder();
const READ_SIZE = 64 * 1024;

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

  /**
   * Makes an editor; the terminal is untouched until the first readLine.
   *
   * @param options Where keys come from and the line goes to.
   */
  constructor(options: LineEditorOptions = {}) {
    this.#input = options.input ?? Deno.stdin;
    this.#output = options.output ?? Deno.stdout;
    this.#columns = options.columns ?? consoleColumns;
    this.#state = newLineState({
      historyLimit: options.historyLimit ?? DEFAULT_HISTORY_LIMIT,
      columns: this.#columns(),
    });
  }

  /**
   * Redraws the line being edited at the terminal's width now (call it on
   * `SIGWINCH`); does nothing while no line is being read.
   *
   * @returns When the row has been written.
   */
  async resize(): Promise<void> {
    if (!this.#busy) return;
    const resized = resizeLine(this.#state, this.#columns());
    this.#state = resized.state;
    await this.#write(resized.output);
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
    signal?.throwIfAborted();
    if (this.#busy) throw new TypeError("A line is already being read");
    if (this.#ended && this.#rest.length === 0) return null;
    this.#input.setRaw?.(true);
    this.#busy = true;
    try {
      const started = startLine(this.#state, prompt, this.#columns());
      this.#state = started.state;
      await this.#write(started.output);
      let bytes = this.#rest;
      this.#rest = new Uint8Array(0);
      for (;;) {
        if (bytes.length > 0) {
          const done = await this.#apply(bytes);
          if (done !== undefined) return done;
        }
        const chunk = this.#ended ? null : await this.#read(signal);
        if (chunk === null) {
          this.#ended = true;
          const { text } = this.#state;
          await this.#write("\r\n");
          this.#state = { ...this.#state, text: "", cursor: 0 };
          return text === "" ? null : text;
        }
        bytes = chunk;
      }
    } catch (error) {
      // Whoever stopped the wait writes next: on a line of its own.
      if (signal?.aborted) await this.#write("\r\n").catch(() => {});
      throw error;
    } finally {
      this.#busy = false;
      this.#input.setRaw?.(false);
    }
  }

  /** Applies keys; the line if one ended, `null` at Ctrl-D. */
  async #apply(bytes: Uint8Array): Promise<string | null | undefined> {
    const result = applyKeys(
      { ...this.#state, columns: this.#columns() },
      bytes,
      1,
    );
    this.#state = result.state;
    this.#rest = result.rest;
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

  async #write(text: string): Promise<void> {
    if (text === "") return;
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length;) {
      off += await this.#output.write(bytes.subarray(off));
    }
  }
}
