// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { InterruptedError, LineEditor } from "../../src/cli/line_editor.ts";
import { FakeTerminal, until } from "./_fake_terminal.ts";

const encoder = new TextEncoder();

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

Deno.test("LineEditor writes a redraw after the row still being written, not into it", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  const text = "abcdefghij";
  const reading = editor.readLine("> ");
  terminal.push(text);
  await until(() => terminal.screen.line() === `> ${text}`);
  // Three bytes of echo, written one a turn; widened during the first.
  terminal.writeLimit = 1;
  terminal.push("xyz");
  await until(() => terminal.writing > 0);
  terminal.screen.resize(60);
  await Promise.all([
    editor.resize(),
    until(() => terminal.screen.line() === `> ${text}xyz`),
  ]);
  assertEquals(terminal.screen.line(), `> ${text}xyz`);
  assertEquals(terminal.screen.column, 2 + text.length + 3);
  terminal.writeLimit = 0;
  terminal.push("\r");
  assertEquals(await reading, `${text}xyz`);
});

/** Ways a line ends: keys typed, or the caller's abort. */
const ENDINGS: {
  name: string;
  end: (terminal: FakeTerminal, stop: AbortController) => void;
}[] = [
  { name: "Enter", end: (terminal) => terminal.push("\r") },
  { name: "Ctrl-C", end: (terminal) => terminal.push("\x03") },
  { name: "the end of input", end: (terminal) => terminal.push(null) },
  { name: "an abort", end: (_, stop) => stop.abort() },
];

/** Holds the terminal's writes until the returned function is called. */
function holdWrites(terminal: FakeTerminal): () => void {
  const gate = Promise.withResolvers<void>();
  terminal.gate = gate.promise;
  return () => {
    terminal.gate = undefined;
    gate.resolve();
  };
}

/** What comes after the line (the echo) starts on the row after it. */
function assertNextRowFree(terminal: FakeTerminal): void {
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 0]);
  assertEquals(terminal.screen.line(1), "");
}

Deno.test("LineEditor does not redraw a line that has ended while its end is written", async (t) => {
  for (const { name, end } of ENDINGS) {
    await t.step(name, async () => {
      const terminal = new FakeTerminal();
      const editor = terminal.editor();
      const stop = new AbortController();
      const reading = editor.readLine("> ", { signal: stop.signal })
        .catch(() => null);
      terminal.push("abc");
      await until(() => terminal.screen.line() === "> abc");
      // The line's end held while it is written; widened meanwhile.
      const release = holdWrites(terminal);
      end(terminal, stop);
      await until(() => terminal.writing > 0);
      terminal.screen.resize(60);
      await editor.resize();
      release();
      await reading;
      assert(terminal.screen.line(0).startsWith("> abc"));
      assertNextRowFree(terminal);
    });
  }
});

Deno.test("LineEditor does not redraw a line that has ended when its question times out", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "never";
  const editor = terminal.editor(20);
  const text = "abcdefghijklmnopqrstuvwxyz0123";
  const reading = editor.readLine("> ");
  terminal.push(text);
  await until(() => terminal.screen.line() === `> ${text}`);
  // Narrowed past the cursor: a question, never answered.
  terminal.screen.resize(20);
  await editor.resize();
  assertEquals(terminal.questions, 1);
  // The end of input, its line end held until the question has timed out.
  const release = holdWrites(terminal);
  terminal.push(null);
  await until(() => terminal.writing > 0);
  await new Promise((resolve) => setTimeout(resolve, 60));
  release();
  assertEquals(await reading, text);
  assertNextRowFree(terminal);
});

Deno.test("LineEditor goes on writing after a write that failed", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  terminal.failWrites = true;
  await assertRejects(() => editor.readLine("> "), Deno.errors.BrokenPipe);
  terminal.failWrites = false;
  const reading = editor.readLine("$ ");
  terminal.push("ok\r");
  assertEquals(await reading, "ok");
  assertEquals(terminal.screen.line(0), "$ ok");
});
