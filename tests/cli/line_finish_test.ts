// Copyright the deno-echo authors. MIT license.

// The answers a terminal still owes the line editor when a session ends:
// read by `finish()` (or, during a line, by the line), not typed into the
// shell.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { editorInput } from "../../src/cli/client_terminal.ts";
import {
  InterruptedError,
  type LineEditor,
} from "../../src/cli/line_editor.ts";
import { FakeTerminal, settle, typed, until } from "./_fake_terminal.ts";

const TEXT = "abcdefghijklmnopqrstuvwxyz0123";

/** A line being read, with the answer to a resize during it owed. */
async function asked(
  answers: "held" | "never",
  timeout = 60_000,
): Promise<{
  terminal: FakeTerminal;
  editor: LineEditor;
  reading: Promise<string | null>;
}> {
  const terminal = new FakeTerminal();
  terminal.answers = answers;
  const editor = terminal.editor(timeout);
  const { reading } = await typed(terminal, editor, TEXT);
  terminal.screen.resize(20, true);
  await editor.resize();
  assertEquals(terminal.questions, 1);
  return { terminal, editor, reading };
}

/** A line entered at Enter while the answer to a resize is still owed. */
async function entered(
  answers: "held" | "never",
  timeout = 60_000,
): Promise<{ terminal: FakeTerminal; editor: LineEditor }> {
  const { terminal, editor, reading } = await asked(answers, timeout);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
  return { terminal, editor };
}

Deno.test("LineEditor.finish() resolves at once when no answer is owed", async () => {
  const terminal = new FakeTerminal();
  const editor = terminal.editor();
  await editor.finish();
  assertEquals(terminal.reads, 0);
});

Deno.test("LineEditor.finish() reads the answers still owed, and keeps keys that came with them", async () => {
  const { terminal, editor } = await entered("held");
  let finished = false;
  const finishing = editor.finish().then(() => finished = true);
  await settle();
  assert(!finished, "finished before the answer came");
  assertEquals(terminal.held.length, 1);
  terminal.push(terminal.held.splice(0).join("") + "next\r");
  await finishing;
  // The answer is not taken for keys; what came with it is the next line's.
  assertEquals(await editor.readLine("> "), "next");
});

Deno.test("LineEditor.finish() does not wait long for a terminal that does not answer", async () => {
  const { terminal, editor } = await entered("never", 20);
  const started = performance.now();
  await editor.finish();
  // Not a speed check: a bound far above the 20 ms it may wait.
  const waited = performance.now() - started;
  assert(waited < 5_000, `waited ${waited} ms`);
  // The read left waiting is the next line's.
  terminal.push("x\r");
  assertEquals(await editor.readLine("> "), "x");
});

Deno.test("LineEditor.readLine() asked for during finish() waits for it", async () => {
  const { terminal, editor } = await entered("held");
  const finishing = editor.finish();
  const next = editor.readLine("> ");
  await settle();
  terminal.push(terminal.held.splice(0).join("") + "next\r");
  await finishing;
  assertEquals(await next, "next");
});

Deno.test("LineEditor.finish() while a line is read waits for the line to take the answers owed", async () => {
  const { terminal, editor } = await entered("held");
  const next = editor.readLine("> ");
  await settle();
  let finished = false;
  const finishing = editor.finish().then(() => finished = true);
  await settle();
  assert(!finished, "finished before the answer came");
  // The line being read takes the answer, and goes on.
  terminal.push(terminal.held.splice(0).join(""));
  await finishing;
  terminal.push("next\r");
  assertEquals(await next, "next");
});

Deno.test("LineEditor.finish() while a line is read does not wait long for a terminal that does not answer", async () => {
  const { terminal, editor, reading } = await asked("never", 20);
  const started = performance.now();
  await editor.finish();
  // Not a speed check: a bound far above the 20 ms it may wait.
  const waited = performance.now() - started;
  assert(waited < 5_000, `waited ${waited} ms`);
  terminal.push("\r");
  assertEquals(await reading, TEXT);
});

Deno.test("LineEditor.finish() reads the answers a line entered meanwhile left owed", async () => {
  const { terminal, editor, reading } = await asked("held");
  let finished = false;
  const finishing = editor.finish().then(() => finished = true);
  await settle();
  // Entered before the answer came: left for what reads next.
  terminal.push("\r");
  assertEquals(await reading, TEXT);
  await settle();
  assert(!finished, "finished before the answer came");
  terminal.push(terminal.held.splice(0).join("") + "next\r");
  await finishing;
  // The answer was read, not taken for keys.
  assertEquals(await editor.readLine("> "), "next");
});

Deno.test("LineEditor.finish() waits for a line ended by Ctrl-C to read the answers owed", async () => {
  const { terminal, editor, reading } = await asked("held");
  let finished = false;
  const finishing = editor.finish().then(() => finished = true);
  await settle();
  // Widened again (the answer still owed), then Ctrl-C: the line ends, and
  // reads the answers owed before it returns.
  terminal.screen.resize(40);
  await editor.resize();
  const interrupted = assertRejects(() => reading, InterruptedError);
  terminal.push("\x03");
  await settle();
  assert(!finished, "finished before the answer came");
  terminal.push(terminal.held.splice(0).join("") + "next\r");
  await interrupted;
  await finishing;
  assertEquals(await editor.readLine("> "), "next");
});

Deno.test("editorInput().settled() reads the answers still owed once the session ends", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "held";
  const editor = terminal.editor();
  const input = editorInput(editor, "> ");
  const reader = input.readable.getReader();
  const line = reader.read();
  terminal.push(TEXT);
  await until(() => terminal.screen.line() === `> ${TEXT}`);
  terminal.screen.resize(20, true);
  await editor.resize();
  terminal.push("\r");
  assertEquals(new TextDecoder().decode((await line).value), TEXT + "\n");
  // The session ends (the quit word echoed, the server gone).
  await reader.cancel();
  let settled = false;
  const settling = input.settled().then(() => settled = true);
  await settle();
  assert(!settled, "settled before the answer came");
  terminal.release();
  await settling;
  await until(() => terminal.drained);
  assertEquals(terminal.modes, [true, false]);
});

Deno.test("editorInput() stopped during a line does not send it, even at an Enter typed while the answers owed are read", async () => {
  const terminal = new FakeTerminal();
  terminal.answers = "held";
  const editor = terminal.editor(60_000);
  const stopping = new AbortController();
  const input = editorInput(editor, "> ", stopping.signal);
  const reader = input.readable.getReader();
  let sent: string | undefined;
  const line = reader.read().then(({ value }) =>
    sent = new TextDecoder().decode(value)
  );
  terminal.push(TEXT);
  await until(() => terminal.screen.line() === `> ${TEXT}`);
  terminal.screen.resize(20, true);
  await editor.resize();
  assert(input.reading);
  // A stop signal: the client ends the line and reads the answers owed, as
  // its signal handler does.
  stopping.abort();
  let finished = false;
  const finishing = input.settled().then(() => finished = true);
  terminal.push("\r");
  await settle();
  assert(!finished, "finished before the answer came");
  terminal.release();
  await finishing;
  await settle();
  assertEquals(sent, undefined);
  assertEquals(input.reading, false);
  assertEquals(terminal.modes, [true, false]);
  await reader.cancel();
  // Still pending: the client exits instead.
  assertEquals(
    await Promise.race([line.then(() => "sent"), "pending"]),
    "pending",
  );
});
