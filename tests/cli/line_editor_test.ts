// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { InterruptedError, LineEditor } from "../../src/cli/line_editor.ts";
import { Screen } from "./_screen.ts";

const encoder = new TextEncoder();

/** A terminal for the editor: keys pushed by the test, a screen, modes. */
class FakeTerminal {
  readonly screen = new Screen(40);
  readonly modes: boolean[] = [];
  readonly #chunks: (Uint8Array | null | Error)[] = [];
  #waiting: (() => void) | undefined;
  reads = 0;
  failWrites = false;
  /** Whether the terminal answers `CSI 6n`. */
  answers = true;

  constructor() {
    this.screen.onReport = (answer) => {
      if (this.answers) this.push(answer);
    };
  }

  /** Keys the user types next (`null`: end of input; an Error: failure). */
  push(...chunks: (string | null | Error)[]): void {
    for (const c of chunks) {
      this.#chunks.push(typeof c === "string" ? encoder.encode(c) : c);
    }
    this.#waiting?.();
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
        write: (p) => {
          if (this.failWrites) {
            return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe"));
          }
          this.screen.write(new TextDecoder().decode(p));
          return Promise.resolve(p.length);
        },
      },
      columns: () => this.screen.columns,
    });
  }
}

Deno.test("LineEditor.readLine() returns edited lines, raw mode only while it waits", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  terminal.push("wrld\x1b[D\x1b[D", "\x1b[Do\r");
  assertEquals(await editor.readLine("> "), "world");
  assertEquals(terminal.modes, [true, false]);
  assertEquals(terminal.screen.line(0), "> world");
  assertEquals(terminal.screen.row, 1);
  terminal.push("\x1b[A!\r");
  assertEquals(await editor.readLine("$ "), "world!");
  assertEquals(terminal.screen.line(1), "$ world!");
  assertEquals(editor.history, ["world", "world!"]);
  assertEquals(terminal.modes, [true, false, true, false]);
});

Deno.test("LineEditor keeps what follows a line for the next readLine()", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  terminal.push("one\rtwo\r\nthr");
  assertEquals(await editor.readLine("> "), "one");
  assertEquals(await editor.readLine("> "), "two");
  assertEquals(terminal.reads, 1);
  terminal.push("ee\r");
  assertEquals(await editor.readLine("> "), "three");
  assertEquals(
    [0, 1, 2].map((row) => terminal.screen.line(row)),
    ["> one", "> two", "> three"],
  );
});

Deno.test("LineEditor.readLine() rejects on Ctrl-C after ending the line", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  terminal.push("abc\x03");
  await assertRejects(() => editor.readLine("> "), InterruptedError);
  assertEquals(terminal.modes, [true, false]);
  assertEquals(terminal.screen.line(0), "> abc^C");
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 0]);
});

Deno.test("LineEditor.readLine() returns null on Ctrl-D and at the end of input", async (t) => {
  await t.step("Ctrl-D at an empty line", async () => {
    const terminal = new FakeTerminal();
    const editor = terminal.editor();
    terminal.push("x\x7f\x04");
    assertEquals(await editor.readLine("> "), null);
    assertEquals(terminal.modes, [true, false]);
    assertEquals(terminal.screen.row, 1);
  });
  await t.step("the end of input after a line with no Enter", async () => {
    const terminal = new FakeTerminal();
    const editor = terminal.editor();
    terminal.push("last", null);
    assertEquals(await editor.readLine("> "), "last");
    assertEquals(await editor.readLine("> "), null);
    assertEquals(terminal.reads, 2);
  });
});

Deno.test("LineEditor puts the terminal back when reading or writing fails", async (t) => {
  await t.step("a read error", async () => {
    const terminal = new FakeTerminal();
    const editor = terminal.editor();
    terminal.push("ab", new Deno.errors.Interrupted("read failed"));
    await assertRejects(() => editor.readLine("> "), Deno.errors.Interrupted);
    assertEquals(terminal.modes, [true, false]);
  });
  await t.step("a write error", async () => {
    const terminal = new FakeTerminal();
    const editor = terminal.editor();
    terminal.failWrites = true;
    await assertRejects(() => editor.readLine("> "), Deno.errors.BrokenPipe);
    assertEquals(terminal.modes, [true, false]);
  });
});

Deno.test("LineEditor.readLine() stops at an abort and keeps the keys read for later", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  const controller = new AbortController();
  const reading = editor.readLine("> ", { signal: controller.signal });
  terminal.push("par");
  // Let the chunk be drawn, then stop waiting for the rest of the line.
  for (let i = 0; i < 1000 && terminal.screen.line() !== "> par"; i++) {
    await Promise.resolve();
  }
  controller.abort(new Error("connection closed by the server"));
  await assertRejects(() => reading, Error, "connection closed by the server");
  assertEquals(terminal.modes, [true, false]);
  assertEquals(terminal.screen.column, 0);
  // A read that was waiting when the signal came is not lost.
  const again = new AbortController();
  const second = editor.readLine("> ", { signal: again.signal });
  again.abort(new Error("stop"));
  await assertRejects(() => second, Error, "stop");
  terminal.push("kept\r");
  assertEquals(await editor.readLine("> "), "kept");
  assertEquals(terminal.reads, 2);
  await assertRejects(
    () => editor.readLine("> ", { signal: AbortSignal.abort(new Error("no")) }),
    Error,
    "no",
  );
});

Deno.test("LineEditor.resize() redraws the line at the new width, cursor in view, and only while a line is read", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  await editor.resize();
  assertEquals(terminal.screen.line(), "");
  const reading = editor.readLine("> ");
  const text = "abcdefghijklmnopqrstuvwxyz0123";
  terminal.push(text);
  for (let i = 0; i < 1000 && terminal.screen.line() !== `> ${text}`; i++) {
    await Promise.resolve();
  }
  assertEquals(terminal.screen.line(), `> ${text}`);
  terminal.screen.resize(20);
  await editor.resize();
  // 20 columns: the prompt, 17 of the text, the last one kept free; drawn
  // once the terminal has said where its cursor is.
  await until(() => terminal.screen.line() === `> ${text.slice(-17)}`);
  assertEquals(terminal.screen.column, 19);
  terminal.screen.resize(40);
  await editor.resize();
  assertEquals(terminal.screen.line(), `> ${text}`);
  assertEquals(terminal.screen.column, 2 + text.length);
  terminal.push("\r");
  assertEquals(await reading, text);
});

/** Waits, a bounded number of turns, until `done()`; fails if it never is. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert(done(), "never happened");
}

/**
 * A terminal with `above` on the row before the prompt and `text` typed at
 * it; resolves once the line shows.
 */
async function typed(
  terminal: FakeTerminal,
  editor: LineEditor,
  text: string,
): Promise<{ reading: Promise<string | null> }> {
  terminal.screen.write("earlier output\r\n");
  const reading = editor.readLine("> ");
  terminal.push(text);
  await until(() => terminal.screen.line() === `> ${text}`);
  return { reading };
}

Deno.test("LineEditor redraws a rewrapped row from its start when narrowed past the cursor", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  const text = "abcdefghijklmnopqrstuvwxyz0123";
  const { reading } = await typed(terminal, editor, text);
  // 32 columns of row at 20: rewrapped over two rows, the cursor on the
  // second, which is where it would be redrawn without the question.
  terminal.screen.resize(20, true);
  assertEquals(terminal.screen.row, 2);
  await editor.resize();
  await until(() => terminal.screen.rows.length === 2);
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals(terminal.screen.line(1), `> ${text.slice(-17)}`);
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 19]);
  terminal.push("\r");
  assertEquals(await reading, text);
});

Deno.test("LineEditor redraws a cut row in place when narrowed past the cursor", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  const text = "abcdefghijklmnopqrstuvwxyz0123";
  const { reading } = await typed(terminal, editor, text);
  terminal.screen.resize(20);
  await editor.resize();
  await until(() => terminal.screen.line() === `> ${text.slice(-17)}`);
  // The row above is not taken for the row's start.
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 19]);
  terminal.push("\r");
  assertEquals(await reading, text);
});

Deno.test("LineEditor redraws the row where the cursor is when the terminal does not say where it is", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = false;
  const editor = terminal.editor(20);
  const text = "abcdefghijklmnopqrstuvwxyz0123";
  const { reading } = await typed(terminal, editor, text);
  terminal.screen.resize(20);
  await editor.resize();
  assertEquals(terminal.screen.line(), `> ${text}`.slice(0, 20));
  await until(() => terminal.screen.line() === `> ${text.slice(-17)}`);
  terminal.push("!\r");
  assertEquals(await reading, text + "!");
});

Deno.test("LineEditor takes a key typed before the terminal's answer as the line's, and the late answer as nothing", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = false;
  const editor = terminal.editor(60_000);
  const text = "abcdefghijklmnopqrstuvwxyz0123";
  const { reading } = await typed(terminal, editor, text);
  terminal.screen.resize(20, true);
  await editor.resize();
  // The key first: the row is redrawn where the cursor is, then the key.
  terminal.push("!");
  await until(() => terminal.screen.line() === `> ${text.slice(-16)}!`);
  terminal.push("\x1b[3;20R\r");
  assertEquals(await reading, text + "!");
});

Deno.test("LineEditor takes a 100 KB paste in bounded time and output", async () => {
  const text = "0123456789".repeat(10_000);
  const pasted = encoder.encode(text + "\r");
  let offset = 0, reads = 0, written = 0;
  const editor = new LineEditor({
    input: {
      read: (p) => {
        reads++;
        const n = Math.min(p.length, pasted.length - offset);
        p.set(pasted.subarray(offset, offset + n));
        offset += n;
        return Promise.resolve(n);
      },
    },
    output: { write: (p) => Promise.resolve((written += p.length, p.length)) },
    columns: () => 80,
  });
  const started = performance.now();
  assertEquals(await editor.readLine("> "), text);
  const elapsed = performance.now() - started;
  assert(elapsed < 1000, `took ${elapsed} ms`);
  // One redraw of one row per read of 64 KiB.
  assertEquals(reads, 2);
  assert(written < 500, `wrote ${written} bytes`);
});

Deno.test("LineEditor.readLine() reads one line at a time", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  const first = editor.readLine("> ");
  await assertRejects(
    () => editor.readLine("> "),
    TypeError,
    "A line is already being read",
  );
  terminal.push("ok\r");
  assertEquals(await first, "ok");
  assertEquals(terminal.modes, [true, false]);
});
