// Copyright the deno-echo authors. MIT license.

// A terminal narrowed past the cursor while a line is edited: the question
// the editor asks, and what it does with the answers however they come.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { InterruptedError } from "../../src/cli/line_editor.ts";
import { FakeTerminal, typed, until } from "./_fake_terminal.ts";

const TEXT = "abcdefghijklmnopqrstuvwxyz0123";

/** A few turns of the event loop: enough for a read to be taken in. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

Deno.test("LineEditor redraws a rewrapped row from its start when narrowed past the cursor", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  const { reading } = await typed(terminal, editor, TEXT);
  // 32 columns of row at 20: rewrapped over two rows, the cursor on the
  // second, which is where it would be redrawn without the question.
  terminal.screen.resize(20, true);
  assertEquals(terminal.screen.row, 2);
  await editor.resize();
  await until(() => terminal.screen.rows.length === 2);
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals(terminal.screen.line(1), `> ${TEXT.slice(-17)}`);
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 19]);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor redraws a cut row in place when narrowed past the cursor", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(20);
  await editor.resize();
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  // The row above is not taken for the row's start.
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 19]);
  assertEquals(terminal.questions, 1);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor redraws in place, and stops asking, when the terminal does not say where the cursor is", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "never";
  const editor = terminal.editor(20);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(20);
  await editor.resize();
  assertEquals(terminal.screen.line(), `> ${TEXT}`.slice(0, 20));
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  // Asked once and never answered: the next narrowing redraws at once.
  terminal.screen.resize(15);
  await editor.resize();
  assertEquals(terminal.screen.line(), `> ${TEXT.slice(-12)}`);
  assertEquals(terminal.questions, 1);
  terminal.push("!\r");
  assertEquals(await reading, TEXT + "!");
});

Deno.test("LineEditor takes a key typed before the answer as the line's, and the late answer out of the input", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "held";
  const editor = terminal.editor(60_000);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(20, true);
  await editor.resize();
  // The key first: the row is redrawn where the cursor is, then the key.
  terminal.push("!");
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-16)}!`);
  const rows = terminal.screen.rows.map((cells) => cells.join(""));
  const cursor = [terminal.screen.row, terminal.screen.column];
  assertEquals(terminal.held, ["\x1b[3;13R"]);
  terminal.release();
  await until(() => terminal.drained);
  await settle();
  // Nothing moved, nothing was drawn, nothing was typed.
  assertEquals(terminal.screen.rows.map((cells) => cells.join("")), rows);
  assertEquals([terminal.screen.row, terminal.screen.column], cursor);
  terminal.push("\r");
  assertEquals(await reading, TEXT + "!");
});

Deno.test("LineEditor waits for the rest of an answer cut by the end of a read", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "held";
  const editor = terminal.editor(60_000);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(20, true);
  await editor.resize();
  assertEquals(terminal.held.splice(0), ["\x1b[3;13R"]);
  terminal.push("\x1b[3;1");
  await until(() => terminal.drained);
  await settle();
  // Not taken for a key: the rewrapped row is still as the terminal left it.
  assertEquals(terminal.screen.rows.length, 3);
  assertEquals(terminal.screen.line(2), TEXT.slice(18));
  terminal.push("3R");
  await until(() => terminal.screen.rows.length === 2);
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals(terminal.screen.line(1), `> ${TEXT.slice(-17)}`);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor does not move up over earlier output when narrowed and widened before the answers", async () => {
  const terminal = new FakeTerminal(60);
  terminal.answers = "held";
  const editor = terminal.editor(60_000);
  // The cursor at column 50. Cut at 21 columns it is at 20, and widened to
  // 30 it stays there: where a rewrapping terminal would put it too.
  const text = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV";
  const { reading } = await typed(terminal, editor, text);
  terminal.screen.resize(21);
  await editor.resize();
  terminal.screen.resize(30);
  await editor.resize();
  assertEquals(terminal.held, ["\x1b[2;21R", "\x1b[2;21R"]);
  terminal.release();
  await until(() => terminal.screen.line() === `> ${text.slice(-27)}`);
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 29]);
  terminal.push("\r");
  assertEquals(await reading, text);
});

Deno.test("LineEditor draws the row once the last of several answers comes", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "held";
  const editor = terminal.editor(60_000);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(25);
  await editor.resize();
  terminal.screen.resize(20);
  await editor.resize();
  const [first, last] = terminal.held.splice(0);
  terminal.push(first!);
  await until(() => terminal.drained);
  await settle();
  // The first answer is out of date: the cut row is left as it is.
  assertEquals(terminal.screen.line(), `> ${TEXT.slice(0, 18)}`);
  terminal.push(last!);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor ends reading, other than at Enter, only once the answers still to come are read", async (t) => {
  const ends = [
    ["Ctrl-U, Ctrl-C", "\x15\x03"],
    ["Ctrl-U, Ctrl-D", "\x15\x04"],
    ["an abort", ""],
  ] as const;
  for (const [end, keys] of ends) {
    await t.step(end, async () => {
      const terminal = new FakeTerminal();
      terminal.answers = "held";
      const editor = terminal.editor(60_000);
      const abort = new AbortController();
      terminal.screen.write("earlier output\r\n");
      const reading = editor.readLine("> ", { signal: abort.signal });
      terminal.push(TEXT);
      await until(() => terminal.screen.line() === `> ${TEXT}`);
      terminal.screen.resize(20, true);
      await editor.resize();
      let settled = false;
      const ended = reading.then(
        (line) => (settled = true, line),
        (error: unknown) => (settled = true, Promise.reject(error)),
      );
      if (keys === "") abort.abort(new Error("stopped"));
      else terminal.push(keys);
      await settle();
      assert(!settled, "ended before the answer came");
      assertEquals(terminal.modes, [true]);
      // Resized meanwhile: the line is over, nothing is drawn or asked.
      terminal.screen.resize(15);
      const rows = terminal.screen.rows.map((cells) => cells.join(""));
      await editor.resize();
      assertEquals(terminal.screen.rows.map((cells) => cells.join("")), rows);
      assertEquals(terminal.questions, 1);
      // Keys that come with the answer are the next line's.
      terminal.push(terminal.held.splice(0).join("") + "next\r");
      if (end === "an abort") {
        await assertRejects(() => ended, Error, "stopped");
      } else if (keys.endsWith("\x04")) assertEquals(await ended, null);
      else await assertRejects(() => ended, InterruptedError);
      assertEquals(terminal.modes, [true, false]);
      assertEquals(await editor.readLine("> "), "next");
    });
  }
});

Deno.test("LineEditor ends a line at Enter at once, taking a late answer out of the next line", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "held";
  const editor = terminal.editor(60_000);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(20, true);
  await editor.resize();
  let settled = false;
  reading.then(() => settled = true);
  terminal.push("\r");
  await settle();
  assert(settled, "waited for the answer");
  assertEquals(await reading, TEXT);
  assertEquals(terminal.modes, [true, false]);
  const next = editor.readLine("> ");
  // Half the answer, then the rest with a line.
  const [answer] = terminal.held.splice(0);
  terminal.push(answer!.slice(0, 4));
  await until(() => terminal.drained);
  await settle();
  terminal.push(answer!.slice(4) + "next\r");
  assertEquals(await next, "next");
});

Deno.test("LineEditor does not wait long at Ctrl-C for a terminal that does not answer", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "never";
  const editor = terminal.editor(20);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(20);
  await editor.resize();
  const started = performance.now();
  terminal.push("\x15\x03");
  await assertRejects(() => reading, InterruptedError);
  // Not a speed check: a bound far above the 20 ms it may wait.
  const waited = performance.now() - started;
  assert(waited < 5_000, `waited ${waited} ms`);
  assertEquals(terminal.modes, [true, false]);
  // The read left waiting is the next line's.
  terminal.push("x\r");
  assertEquals(await editor.readLine("> "), "x");
});

Deno.test("LineEditor counts an answer missing long after its question as lost", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor(20);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(30);
  await editor.resize();
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-27)}`);
  // The next answer is lost; the row is redrawn in place after 20 ms.
  terminal.answers = "held";
  terminal.screen.resize(25);
  await editor.resize();
  terminal.held.splice(0);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-22)}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Answered again: the rewrapped row is redrawn from its start.
  terminal.answers = "at once";
  terminal.screen.resize(20, true);
  await editor.resize();
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  assertEquals(terminal.screen.rows.length, 2);
  assertEquals(terminal.screen.line(0), "earlier output");
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor asks again a terminal whose first answer came late", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "held";
  const editor = terminal.editor(20);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(25);
  await editor.resize();
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-22)}`);
  terminal.release();
  await until(() => terminal.drained);
  await settle();
  terminal.screen.resize(20);
  await editor.resize();
  assertEquals(terminal.questions, 2);
  terminal.release();
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor ends reading at an abort once the rest of a cut answer comes", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "held";
  const editor = terminal.editor(60_000);
  const abort = new AbortController();
  terminal.screen.write("earlier output\r\n");
  const reading = editor.readLine("> ", { signal: abort.signal });
  terminal.push(TEXT);
  await until(() => terminal.screen.line() === `> ${TEXT}`);
  terminal.screen.resize(20, true);
  await editor.resize();
  const [answer] = terminal.held.splice(0);
  terminal.push(answer!.slice(0, 5));
  await until(() => terminal.drained);
  await settle();
  let settled = false;
  const outcome = reading.then(
    () => undefined,
    (error: unknown) => (settled = true, error),
  );
  abort.abort(new Error("stopped"));
  terminal.push(answer!.slice(5));
  await until(() => settled);
  const error = await outcome;
  assert(error instanceof Error && error.message === "stopped", `${error}`);
  assertEquals(terminal.modes, [true, false]);
});
