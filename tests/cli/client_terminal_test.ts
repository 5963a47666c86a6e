// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertRejects } from "@std/assert";
import { concat } from "@std/bytes";
import {
  clientOutput,
  editorInput,
  escapesOutput,
  usesLineEditor,
} from "../../src/cli/client_terminal.ts";
import { InterruptedError, LineEditor } from "../../src/cli/line_editor.ts";
import { bytes } from "../_helpers/util.ts";

const decoder = new TextDecoder();

Deno.test("escapesOutput() escapes the echo on a terminal, unless --raw", () => {
  assertEquals(escapesOutput(false, true), true);
  assertEquals(escapesOutput(true, true), false);
  assertEquals(escapesOutput(false, false), false);
  assertEquals(escapesOutput(true, false), false);
});

Deno.test("usesLineEditor() edits lines when interactive with a terminal on both sides", () => {
  assertEquals(usesLineEditor(true, true, true), true);
  assertEquals(usesLineEditor(false, true, true), false);
  assertEquals(usesLineEditor(true, false, true), false);
  assertEquals(usesLineEditor(true, true, false), false);
});

/** A sink that records what reaches it. */
function sink(): {
  writable: WritableStream<Uint8Array>;
  text(): string;
  raw(): Uint8Array;
} {
  const writes: Uint8Array[] = [];
  return {
    writable: new WritableStream({ write: (c) => void writes.push(c.slice()) }),
    text: () => decoder.decode(concat(writes)),
    raw: () => concat(writes),
  };
}

async function through(
  escape: boolean,
  chunks: Uint8Array[],
): Promise<ReturnType<typeof sink>> {
  const target = sink();
  const output = clientOutput(target.writable, escape);
  const writer = output.writable.getWriter();
  for (const chunk of chunks) await writer.write(chunk);
  writer.releaseLock();
  await output.end();
  return target;
}

Deno.test("clientOutput() shows a server's control characters visibly, or passes bytes exactly", async (t) => {
  // OSC 52 (clipboard), OSC 0 (title), CSI 2J (clear), CSI 6n (a query the
  // terminal answers on stdin), split between chunks.
  const evil = bytes(
    "\x1b]52;c;aGk=\x07\x1b]0;t\x07\x1b[2J\x1b[6nok\r\n\ttab\n",
  );
  const chunks = [evil.subarray(0, 1), evil.subarray(1, 20), evil.subarray(20)];

  await t.step("escaped", async () => {
    const target = await through(true, chunks);
    assertEquals(
      target.text(),
      "^[]52;c;aGk=^G^[]0;t^G^[[2J^[[6nok\r\n\ttab\n",
    );
  });

  await t.step(
    "a CR held at the end is shown when the output ends, and its line ended",
    async () => {
      const target = await through(true, [bytes("a\r")]);
      assertEquals(target.text(), "a^M\n");
    },
  );

  await t.step(
    "an echo cut short mid-line: its line is ended, so the error that follows has one of its own",
    async () => {
      assertEquals(
        (await through(true, [bytes("one\nhe")])).text(),
        "one\nhe\n",
      );
      assertEquals((await through(true, [bytes("one\n")])).text(), "one\n");
      assertEquals((await through(true, [])).text(), "");
    },
  );

  await t.step("not escaped: byte for byte", async () => {
    const target = await through(false, chunks);
    assertEquals(target.raw(), evil);
  });
});

/** An editor over keys the test pushes; records raw-mode switches. */
function fakeEditor(): {
  editor: LineEditor;
  push(keys: string | null): void;
  modes: boolean[];
  asked: () => number;
} {
  const queue: (Uint8Array | null)[] = [];
  let wake: (() => void) | undefined;
  let reads = 0;
  const modes: boolean[] = [];
  const editor = new LineEditor({
    input: {
      read: async (p) => {
        reads++;
        while (queue.length === 0) {
          await new Promise<void>((resolve) => wake = resolve);
        }
        const chunk = queue.shift()!;
        if (chunk === null) return null;
        p.set(chunk);
        return chunk.length;
      },
      setRaw: (mode) => modes.push(mode),
    },
    output: { write: (p) => Promise.resolve(p.length) },
    columns: () => 80,
  });
  return {
    editor,
    modes,
    asked: () => reads,
    push(keys): void {
      queue.push(keys === null ? null : bytes(keys));
      wake?.();
    },
  };
}

Deno.test("editorInput() gives the session each edited line, read only when asked", async (t) => {
  await t.step("lines with a newline, then the end at Ctrl-D", async () => {
    const fake = fakeEditor();
    const reader = editorInput(fake.editor, "> ").readable.getReader();
    assertEquals(fake.asked(), 0, "nothing is read before the session asks");
    fake.push("wrld\x1b[D\x1b[D\x1b[Do\r");
    assertEquals(decoder.decode((await reader.read()).value), "world\n");
    fake.push("\x04");
    assertEquals((await reader.read()).done, true);
  });

  await t.step("Ctrl-C: InterruptedError", async () => {
    const fake = fakeEditor();
    const reader = editorInput(fake.editor, "> ").readable.getReader();
    fake.push("abc\x03");
    await assertRejects(() => reader.read(), InterruptedError);
    assertEquals(fake.modes, [true, false]);
  });

  await t.step(
    "cancelled while waiting: the terminal is back to normal",
    async () => {
      const fake = fakeEditor();
      const input = editorInput(fake.editor, "> ");
      const reader = input.readable.getReader();
      const pending = reader.read();
      // Let the editor start waiting for a key.
      while (fake.asked() === 0) await new Promise((r) => setTimeout(r, 0));
      await reader.cancel();
      assertEquals((await pending).done, true);
      await input.settled();
      assertEquals(fake.modes, [true, false]);
    },
  );
});
