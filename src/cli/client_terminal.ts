// Copyright the deno-echo authors. MIT license.

// `echo-client` on a terminal: the server's bytes shown with their control
// characters made visible (piped output stays byte-exact), and the prompt
// as a line editor.

import { TerminalEscaper } from "./escape.ts";
import type { LineEditor } from "./line_editor.ts";

const encoder = new TextEncoder();

/** Where a session's output goes, and how to finish it. */
export interface ClientOutput {
  /** Hand this to the session. */
  writable: WritableStream<Uint8Array>;
  /** Writes what the escaper held back; call once the session is over. */
  end(): Promise<void>;
}

/**
 * Whether the echo is escaped on its way to standard output: on a terminal
 * unless `--raw`, so that a server cannot send the terminal escape
 * sequences (a clipboard write, a new title, a cleared screen, a query
 * whose answer the terminal would type). Piped output is never escaped.
 *
 * @param raw Whether `--raw` was given.
 * @param stdoutIsTerminal Whether standard output is a terminal.
 * @returns Whether to escape.
 */
export function escapesOutput(
  raw: boolean,
  stdoutIsTerminal: boolean,
): boolean {
  return stdoutIsTerminal && !raw;
}

/**
 * Whether the prompt is a line editor (cursor keys, history, no length
 * cap): interactive, and both standard input and output are a terminal.
 *
 * @param interactive Whether the session prompts.
 * @param stdinIsTerminal Whether standard input is a terminal.
 * @param stdoutIsTerminal Whether standard output is a terminal.
 * @returns Whether to edit lines.
 */
export function usesLineEditor(
  interactive: boolean,
  stdinIsTerminal: boolean,
  stdoutIsTerminal: boolean,
): boolean {
  return interactive && stdinIsTerminal && stdoutIsTerminal;
}

/**
 * The output of a session: `target` itself, or, escaped, a stream that
 * writes through a {@linkcode TerminalEscaper} to it.
 *
 * @param target Standard output, say.
 * @param escape Whether to escape (see {@linkcode escapesOutput}).
 * @returns The stream to write to, and how to end it (escaped, ending the
 * line last written if it is open).
 */
export function clientOutput(
  target: WritableStream<Uint8Array>,
  escape: boolean,
): ClientOutput {
  if (!escape) return { writable: target, end: () => Promise.resolve() };
  const escaper = new TerminalEscaper();
  const writer = target.getWriter();
  // Whether the last byte written ended a line: an echo cut short (the
  // server closed mid-line) leaves the terminal's line open, and whatever
  // comes next (the error saying so) belongs on a line of its own.
  let lineEnded = true;
  const write = async (out: Uint8Array): Promise<void> => {
    if (out.length === 0) return;
    await writer.write(out);
    lineEnded = out[out.length - 1] === LF;
  };
  return {
    writable: new WritableStream<Uint8Array>({
      write: (chunk) => write(escaper.push(chunk)),
    }),
    async end(): Promise<void> {
      await write(escaper.end()).catch(() => {});
      if (!lineEnded) await write(NEWLINE).catch(() => {});
      writer.releaseLock();
    },
  };
}

const LF = 0x0a;
const NEWLINE = new Uint8Array([LF]);

/** A line editor as a session's input. */
export interface EditorInput {
  /** The lines, each with a newline; hand it to the session. */
  readable: ReadableStream<Uint8Array>;
  /** Whether a line is being read (typed, or ending). */
  readonly reading: boolean;
  /**
   * Resolves once the editor has let go of the terminal (back from raw
   * mode, its line ended, the answers it asked the terminal for read)
   * after the stream was cancelled or ended.
   */
  settled(): Promise<void>;
}

/**
 * The lines a user types into a line editor, as a session's input: each
 * line with a newline, read only when the session asks (so each prompt
 * comes after the last echo). Ctrl-D at an empty line ends it; Ctrl-C
 * errors it with `InterruptedError`; cancelling it stops the editor, and so
 * does `stopped`: the line being edited is not sent, even if Enter comes
 * while the editor reads the answers it is owed, and the stream stays
 * pending from then on.
 *
 * @param editor The editor on the terminal.
 * @param prompt What to show before each line.
 * @param stopped Aborted when the client is stopping (a stop signal).
 * @returns The input stream, and a way to wait for the editor.
 */
export function editorInput(
  editor: LineEditor,
  prompt: string,
  stopped?: AbortSignal,
): EditorInput {
  const stop = new AbortController();
  const signal = stopped === undefined
    ? stop.signal
    : AbortSignal.any([stop.signal, stopped]);
  let reading: Promise<string | null> | undefined;
  let inLine = false;
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      reading = editor.readLine(prompt, { signal });
      inLine = true;
      let line;
      try {
        line = await reading;
      } catch (error) {
        inLine = false;
        // Stopping: the client exits once the editor is done; nothing more
        // comes from here, not even an error for the session to report.
        if (stopped?.aborted) return new Promise<never>(() => {});
        throw error;
      }
      inLine = false;
      if (line === null) controller.close();
      else controller.enqueue(encoder.encode(line + "\n"));
    },
    cancel(reason): void {
      stop.abort(reason);
    },
  }, { highWaterMark: 0 });
  return {
    readable,
    get reading(): boolean {
      return inLine;
    },
    async settled(): Promise<void> {
      await reading?.catch(() => {});
      // Answers the terminal still owes the editor: read, not left for the
      // shell.
      await editor.finish();
    },
  };
}
