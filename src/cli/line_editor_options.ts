// Copyright the deno-echo authors. MIT license.

// What the line editor is given (where keys come from, where the line goes,
// its options) and what it throws at Ctrl-C. Not part of the library.

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
  /**
   * How long, in ms, a terminal narrowed past the cursor has to say where
   * the cursor went (it may have rewrapped the row) before the row is
   * redrawn where the cursor is.
   * @default {500}
   */
  reportTimeout?: number;
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
