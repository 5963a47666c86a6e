// Copyright the deno-echo authors. MIT license.

// A terminal for line editor tests: keys pushed by the test, a screen that
// shows what the editor wrote, the modes it was put in, and answers to
// "where is the cursor" given at once, held until the test lets them go,
// or never.

import { assert } from "@std/assert";
import { LineEditor } from "../../src/cli/line_editor.ts";
import { Screen } from "./_screen.ts";

const encoder = new TextEncoder();

/** How the terminal answers `CSI 6n`. */
export type Answers = "at once" | "held" | "never";

/** A terminal for the editor: keys pushed by the test, a screen, modes. */
export class FakeTerminal {
  readonly screen: Screen;
  readonly modes: boolean[] = [];
  readonly #chunks: (Uint8Array | null | Error)[] = [];
  readonly #decoder = new TextDecoder();
  #waiting: (() => void) | undefined;
  reads = 0;
  failWrites = false;
  /**
   * Most bytes a write takes, each write a timer turn later (0: all of it,
   * at once).
   */
  writeLimit = 0;
  /** While set, writes wait for it before they write. */
  gate: Promise<void> | undefined;
  /**
   * Writes started and not yet done (counted only with a `writeLimit` or a
   * `gate`).
   */
  writing = 0;
  answers: Answers = "at once";
  /** Questions written by the editor. */
  questions = 0;
  /** Answers not given yet, when they are held. */
  readonly held: string[] = [];

  constructor(columns = 40) {
    this.screen = new Screen(columns);
    this.screen.onReport = (answer) => {
      this.questions++;
      if (this.answers === "at once") this.push(answer);
      if (this.answers === "held") this.held.push(answer);
    };
  }

  /** Whether every key pushed has been read. */
  get drained(): boolean {
    return this.#chunks.length === 0;
  }

  /** Keys the user types next (`null`: end of input; an Error: failure). */
  push(...chunks: (string | null | Error)[]): void {
    for (const c of chunks) {
      this.#chunks.push(typeof c === "string" ? encoder.encode(c) : c);
    }
    this.#waiting?.();
  }

  /** Gives the held answers, all in one read. */
  release(): void {
    this.push(this.held.splice(0).join(""));
  }

  editor(reportTimeout = 500): LineEditor {
    return new LineEditor({
      reportTimeout,
      input: {
        read: async (p) => {
          this.reads++;
          while (this.#chunks.length === 0) {
            await new Promise<void>((resolve) => this.#waiting = resolve);
          }
          const chunk = this.#chunks.shift()!;
          if (chunk instanceof Error) throw chunk;
          if (chunk === null) return null;
          if (chunk.length > p.length) {
            this.#chunks.unshift(chunk.subarray(p.length));
          }
          p.set(chunk.subarray(0, p.length));
          return Math.min(chunk.length, p.length);
        },
        setRaw: (mode) => this.modes.push(mode),
      },
      output: {
        write: async (p) => {
          if (this.failWrites) {
            throw new Deno.errors.BrokenPipe("Broken pipe");
          }
          if (this.gate !== undefined) {
            this.writing++;
            await this.gate;
            this.writing--;
          }
          if (this.writeLimit > 0) {
            this.writing++;
            await new Promise((resolve) => setTimeout(resolve, 0));
            this.writing--;
            p = p.subarray(0, this.writeLimit);
          }
          // A character split between writes is decoded once it is whole.
          this.screen.write(this.#decoder.decode(p, { stream: true }));
          return p.length;
        },
      },
      columns: () => this.screen.columns,
    });
  }
}

/** A few turns of the event loop: enough for a read to be taken in. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

/** Waits, a bounded number of turns, until `done()`; fails if it never is. */
export async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert(done(), "never happened");
}

/**
 * A terminal with "earlier output" on the row before the prompt and `text`
 * typed at it; resolves once the line shows.
 */
export async function typed(
  terminal: FakeTerminal,
  editor: LineEditor,
  text: string,
  signal?: AbortSignal,
): Promise<{ reading: Promise<string | null> }> {
  terminal.screen.write("earlier output\r\n");
  const reading = editor.readLine("> ", signal ? { signal } : {});
  terminal.push(text);
  await until(() => terminal.screen.line() === `> ${text}`);
  return { reading };
}
