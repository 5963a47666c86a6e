// Copyright the deno-echo authors. MIT license.

// A terminal narrowed past the cursor while a line is edited: the question
// the editor asks, and what it does with the answers however they come.

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  InterruptedError,
  type LineEditor,
} from "../../src/cli/line_editor.ts";
import {
  type Answers,
  FakeTerminal,
  settle,
  typed,
  until,
} from "./_fake_terminal.ts";

const TEXT = "abcdefghijklmnopqrstuvwxyz0123";

/** How a test's terminal answers and what is typed at it. */
interface Setup {
  answers?: Answers;
  /** The editor's report timeout. */
  timeout?: number;
  columns?: number;
  text?: string;
  signal?: AbortSignal;
}

/** What {@linkcode editing} sets up. */
interface Editing {
  terminal: FakeTerminal;
  editor: LineEditor;
  reading: Promise<string | null>;
  narrow: (columns: number, rewrap?: boolean) => Promise<void>;
}

/**
 * A terminal and an editor with a line typed at it, and a way to narrow
 * the terminal (rewrapping or cutting its rows) and tell the editor.
 */
async function editing(setup: Setup = {}): Promise<Editing> {
  const terminal = new FakeTerminal(setup.columns);
  terminal.answers = setup.answers ?? "at once";
  const editor = terminal.editor(setup.timeout ?? 60_000);
  const text = setup.text ?? TEXT;
  const { reading } = await typed(terminal, editor, text, setup.signal);
  const narrow = async (columns: number, rewrap = false): Promise<void> => {
    terminal.screen.resize(columns, rewrap);
    await editor.resize();
  };
  return { terminal, editor, reading, narrow };
}

Deno.test("LineEditor redraws a rewrapped row from its start when narrowed past the cursor", async () => {
  const { terminal, editor, reading } = await editing();
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
  const { terminal, reading, narrow } = await editing();
  await narrow(20);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  // The row above is not taken for the row's start.
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 19]);
  assertEquals(terminal.questions, 1);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor redraws in place, and stops asking, when the terminal does not say where the cursor is", async () => {
  const { terminal, reading, narrow } = await editing({
    answers: "never",
    timeout: 20,
  });
  await narrow(20);
  assertEquals(terminal.screen.line(), `> ${TEXT}`.slice(0, 20));
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  // Asked once and never answered: the next narrowing redraws at once.
  await narrow(15);
  assertEquals(terminal.screen.line(), `> ${TEXT.slice(-12)}`);
  assertEquals(terminal.questions, 1);
  terminal.push("!\r");
  assertEquals(await reading, TEXT + "!");
});

Deno.test("LineEditor takes a key typed before the answer as the line's, and the late answer out of the input", async () => {
  const { terminal, reading, narrow } = await editing({
    answers: "held",
  });
  await narrow(20, true);
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
  const { terminal, reading, narrow } = await editing({
    answers: "held",
  });
  await narrow(20, true);
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
  // The cursor at column 50. Cut at 21 columns it is at 20, and widened to
  // 30 it stays there: where a rewrapping terminal would put it too.
  const text = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV";
  const { terminal, reading, narrow } = await editing({
    answers: "held",
    columns: 60,
    text,
  });
  await narrow(21);
  await narrow(30);
  assertEquals(terminal.held, ["\x1b[2;21R", "\x1b[2;21R"]);
  terminal.release();
  await until(() => terminal.screen.line() === `> ${text.slice(-27)}`);
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals([terminal.screen.row, terminal.screen.column], [1, 29]);
  terminal.push("\r");
  assertEquals(await reading, text);
});

Deno.test("LineEditor draws the row once the last of several answers comes", async () => {
  const { terminal, reading, narrow } = await editing({
    answers: "held",
  });
  await narrow(25);
  await narrow(20);
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
      const abort = new AbortController();
      const { terminal, editor, reading, narrow } = await editing({
        answers: "held",
        signal: abort.signal,
      });
      await narrow(20, true);
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
  const { terminal, editor, reading, narrow } = await editing({
    answers: "held",
  });
  await narrow(20, true);
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
  const { terminal, editor, reading, narrow } = await editing({
    answers: "never",
    timeout: 20,
  });
  await narrow(20);
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

Deno.test("LineEditor does not take a slow answer for a later question's", async () => {
  const { terminal, reading, narrow } = await editing({
    answers: "held",
    timeout: 20,
  });
  await narrow(30);
  terminal.release();
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-27)}`);
  // The next answer is slow: the row is redrawn in place after 20 ms.
  await narrow(25);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-22)}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await narrow(20, true);
  assertEquals(terminal.held.length, 2);
  // Both answers at once: the first is the slow one's, the last is used.
  terminal.release();
  await until(() => terminal.screen.rows.length === 2);
  assertEquals(terminal.screen.line(0), "earlier output");
  assertEquals(terminal.screen.line(1), `> ${TEXT.slice(-17)}`);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor counts an answer missing long after its question as lost", async () => {
  const { terminal, reading, narrow } = await editing({ timeout: 20 });
  await narrow(30);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-27)}`);
  // The next answer is lost; the row is redrawn in place after 20 ms.
  terminal.answers = "held";
  await narrow(25);
  terminal.held.splice(0);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-22)}`);
  // Answered again, soon: the answer is taken for the lost one, and the
  // row is redrawn in place.
  terminal.answers = "at once";
  await narrow(20);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  // Long after (twenty timeouts), answers are used again: the rewrapped
  // row is redrawn from its start.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await narrow(15, true);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-12)}`);
  assertEquals(terminal.screen.rows.length, 2);
  assertEquals(terminal.screen.line(0), "earlier output");
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor asks again a terminal whose first answer came late", async () => {
  const { terminal, reading, narrow } = await editing({
    answers: "held",
    timeout: 20,
  });
  await narrow(25);
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-22)}`);
  terminal.release();
  await until(() => terminal.drained);
  await settle();
  await narrow(20);
  assertEquals(terminal.questions, 2);
  terminal.release();
  await until(() => terminal.screen.line() === `> ${TEXT.slice(-17)}`);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor ends reading at an abort once the rest of a cut answer comes", async () => {
  const abort = new AbortController();
  const { terminal, reading, narrow } = await editing({
    answers: "held",
    signal: abort.signal,
  });
  await narrow(20, true);
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
