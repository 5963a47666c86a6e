// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  applyKeys,
  type KeysResult,
  type LineState,
  newLineState,
  startLine,
} from "../../src/cli/line_state.ts";
import { Screen } from "./_screen.ts";

const encoder = new TextEncoder();

/** A state with a line started after `> `, and what the terminal shows. */
function start(
  options: { columns?: number; history?: string[]; historyLimit?: number } = {},
): { state: LineState; screen: Screen } {
  const screen = new Screen(options.columns ?? 80);
  const started = startLine(newLineState(options), "> ");
  screen.write(started.output);
  return { state: started.state, screen };
}

/** Feeds chunks (strings are UTF-8 encoded) and gathers the results. */
function feed(
  state: LineState,
  chunks: (string | Uint8Array)[],
  screen?: Screen,
): KeysResult {
  const lines: string[] = [];
  let output = "";
  let last: KeysResult | undefined;
  for (const chunk of chunks) {
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    last = applyKeys(last?.state ?? state, bytes);
    lines.push(...last.lines);
    output += last.output;
    screen?.write(last.output);
    if (last.end) break;
  }
  return { ...last!, lines, output };
}

/** Text and cursor after typing `keys` in one chunk. */
function typed(keys: string): [string, number] {
  const { state } = feed(start().state, [keys]);
  return [state.text, state.cursor];
}

Deno.test("applyKeys() edits with every key", async (t) => {
  const cases: [name: string, keys: string, text: string, cursor: number][] = [
    ["text", "hello", "hello", 5],
    ["insert at the cursor", "hllo\x1b[D\x1b[D\x1b[De", "hello", 2],
    ["Left and Right", "ab\x1b[D\x1b[D\x1b[D\x1b[C", "ab", 1],
    ["Left and Right, application mode", "ab\x1bOD\x1bOD\x1bOC", "ab", 1],
    ["Ctrl-B and Ctrl-F", "ab\x02\x02\x06", "ab", 1],
    ["Home and End", "abc\x1b[H\x1b[F\x1b[H", "abc", 0],
    ["Home and End, CSI 1~ and 4~", "abc\x1b[1~x\x1b[4~y", "xabcy", 5],
    ["Home and End, CSI 7~ and 8~", "abc\x1b[7~x\x1b[8~y", "xabcy", 5],
    ["Home and End, application mode", "abc\x1bOHx\x1bOFy", "xabcy", 5],
    ["Ctrl-A and Ctrl-E", "abc\x01x\x05y", "xabcy", 5],
    ["Backspace (DEL)", "abc\x7f", "ab", 2],
    ["Backspace (Ctrl-H)", "abc\x08", "ab", 2],
    ["Backspace at the start", "abc\x01\x7f", "abc", 0],
    ["Delete", "abc\x01\x1b[3~", "bc", 0],
    ["Delete at the end", "abc\x1b[3~", "abc", 3],
    ["Ctrl-D on a non-empty line deletes", "abc\x01\x04", "bc", 0],
    ["Ctrl-U", "abc def\x1b[D\x1b[D\x15", "ef", 0],
    ["Ctrl-K", "abc def\x1b[D\x1b[D\x0b", "abc d", 5],
    ["Ctrl-W", "echo hello  world  \x17", "echo hello  ", 12],
    ["Ctrl-W twice", "echo hello  world\x17\x17", "echo ", 5],
    ["Alt-Backspace", "a-bc\x1b\x7f", "a-", 2],
    ["Alt-B and Alt-F", "one two three\x1bb\x1bbX\x1bfY", "one XtwoY three", 9],
    ["Alt-F to the word end", "one two\x01\x1bfY", "oneY two", 4],
    ["Alt-D", "one two\x01\x1bd", " two", 0],
    ["Ctrl-Left and Ctrl-Right", "one two\x1b[1;5Dx\x1b[1;5Cy", "one xtwoy", 9],
    ["Alt-Left", "one two\x1b[1;3Dx", "one xtwo", 5],
    ["Tab is text", "a\tb", "a\tb", 3],
    [
      "unknown keys are ignored",
      "a\x1b[2~\x1b[5~\x1bOP\x1b[15~\x1b[200~b\x07\x1a",
      "ab",
      2,
    ],
    ["a lone ESC is ignored", "\x1bab", "ab", 2],
    ["ESC ESC [ D is Left", "ab\x1b\x1b[Dx", "axb", 2],
    ["a malformed sequence is dropped", "a\x1b[1\x01b", "ba", 1],
    [
      "multi-byte text",
      "caf\u00e9 \u20ac\u{1f600}",
      "caf\u00e9 \u20ac\u{1f600}",
      8,
    ],
    ["Left over a surrogate pair", "a\u{1f600}\x1b[Db", "ab\u{1f600}", 2],
    ["Left over a combined character", "e\u0301\x1b[Dx", "xe\u0301", 1],
    ["Backspace over a flag", "a\u{1f1eb}\u{1f1f7}\x7f", "a", 1],
  ];
  for (const [name, keys, text, cursor] of cases) {
    await t.step(name, () => assertEquals(typed(keys), [text, cursor]));
  }
  await t.step("a byte that is not UTF-8", () => {
    const { state } = feed(start().state, [new Uint8Array([0x61, 0xff, 0x62])]);
    assertEquals(state.text, "a\ufffdb");
  });
});

Deno.test("applyKeys() ends lines at CR, LF and CR LF", async (t) => {
  await t.step("in one chunk", () => {
    const result = feed(start().state, ["one\rtwo\nthree\r\nfour\r\rsix\r"]);
    assertEquals(result.lines, ["one", "two", "three", "four", "", "six"]);
    assertEquals(result.state.text, "");
  });
  await t.step("CR LF split between chunks is one Enter", () => {
    const result = feed(start().state, ["one\r", "\ntwo\r", "\n"]);
    assertEquals(result.lines, ["one", "two"]);
  });
  await t.step("LF after another key is an Enter of its own", () => {
    const result = feed(start().state, ["one\r", "x\n"]);
    assertEquals(result.lines, ["one", "x"]);
  });
  await t.step("maxLines stops after the line and returns the rest", () => {
    const result = applyKeys(start().state, encoder.encode("a\rb\x1b[D\rc"), 1);
    assertEquals(result.lines, ["a"]);
    assertEquals(new TextDecoder().decode(result.rest), "b\x1b[D\rc");
    assertEquals(result.output.endsWith("\r\n"), true);
  });
});

Deno.test("applyKeys() stops at Ctrl-C and at Ctrl-D on an empty line", async (t) => {
  await t.step("Ctrl-C", () => {
    const { state, screen } = start();
    const result = applyKeys(state, encoder.encode("abc\x01\x03more"));
    screen.write(result.output);
    assertEquals(result.end, "interrupt");
    assertEquals(result.lines, []);
    assertEquals(new TextDecoder().decode(result.rest), "more");
    assert(result.output.endsWith("^C\r\n"));
    assertEquals(screen.line(0), "> abc^C");
    assertEquals(screen.row, 1);
    assertEquals(result.state.text, "");
  });
  await t.step("Ctrl-C with the cursor in the last column", () => {
    const { state, screen } = start({ columns: 10 });
    const result = applyKeys(state, encoder.encode("abcdefghij\x03"));
    // Before, the C wrapped onto a row of its own: the strict screen throws.
    screen.write(result.output);
    assertEquals(result.end, "interrupt");
    assertEquals(screen.line(0).length, 9);
    assertEquals(screen.line(1), "^C");
    assertEquals(screen.row, 2);
  });
  await t.step("Ctrl-C one column before the last", () => {
    const { state, screen } = start({ columns: 10 });
    const result = applyKeys(state, encoder.encode("abcdef\x03"));
    screen.write(result.output);
    assertEquals(screen.line(0), "> abcdef^C");
    assertEquals(screen.row, 1);
  });
  await t.step("Ctrl-D at an empty line", () => {
    const result = applyKeys(start().state, encoder.encode("\x04"));
    assertEquals(result.end, "eof");
    assert(result.output.endsWith("\r\n"));
  });
  await t.step("Ctrl-D after a line entered in the same chunk", () => {
    const result = applyKeys(start().state, encoder.encode("last\r\x04"));
    assertEquals(result.lines, ["last"]);
    assertEquals(result.end, "eof");
  });
});

Deno.test("applyKeys() waits for keys and characters split between chunks", async (t) => {
  const sequences = [
    "\x1b[D",
    "\x1bOD",
    "\x1b[1;5D",
    "\x1b[3~",
    "\x1b[200~",
    "\u00e9",
    "\u20ac",
    "\u{1f600}",
  ];
  for (const sequence of sequences) {
    await t.step(JSON.stringify(sequence), () => {
      const keys = encoder.encode(`ab${sequence}c\x1b[Dd`);
      const whole = feed(start().state, [keys]).state;
      for (let i = 0; i <= keys.length; i++) {
        const split = feed(start().state, [
          keys.subarray(0, i),
          keys.subarray(i),
        ]);
        assertEquals([split.state.text, split.state.cursor], [
          whole.text,
          whole.cursor,
        ], `split at ${i}`);
      }
      const single = feed(
        start().state,
        Array.from(keys, (b) => new Uint8Array([b])),
      );
      assertEquals(single.state.text, whole.text);
    });
  }
  await t.step("a chunk that ends in ESC draws no garbage", () => {
    const { state, screen } = start();
    feed(state, ["ab\x1b", "[D"], screen);
    assertEquals([screen.line(), screen.column], ["> ab", 3]);
  });
});

Deno.test("applyKeys() browses a bounded history with Up and Down", async (t) => {
  await t.step("Up, Down and the line being typed", () => {
    let { state } = start();
    state = feed(state, ["one\rtwo\rtwo\r\rthree\r"]).state;
    assertEquals(state.history, ["one", "two", "three"]);
    state = feed(state, ["dra", "\x1b[A"]).state;
    assertEquals(state.text, "three");
    state = feed(state, ["\x1b[A\x1b[A\x1b[A\x1b[A"]).state;
    assertEquals([state.text, state.cursor], ["one", 3]);
    state = feed(state, ["\x1b[B"]).state;
    assertEquals(state.text, "two");
    state = feed(state, ["\x1b[B\x1b[B"]).state;
    assertEquals(state.text, "dra");
    state = feed(state, ["\x1b[B"]).state;
    assertEquals(state.text, "dra");
    state = feed(state, ["\x10\x10\x0e"]).state; // Ctrl-P, Ctrl-P, Ctrl-N
    assertEquals(state.text, "three");
  });
  await t.step("a recalled line edited and entered is added", () => {
    let { state } = start();
    state = feed(state, ["one\r\x1b[A!\r"]).state;
    assertEquals(state.history, ["one", "one!"]);
    state = startLine(state, "> ").state;
    assertEquals(feed(state, ["\x1b[A"]).state.text, "one!");
  });
  await t.step("a limit that is not a whole number is refused", () => {
    for (const historyLimit of [-1, 0.5, NaN]) {
      assertThrows(
        () => newLineState({ historyLimit }),
        RangeError,
        "historyLimit",
      );
    }
  });
  await t.step("the oldest lines go past the limit", () => {
    let { state } = start({ historyLimit: 3 });
    for (let i = 0; i < 10; i++) state = feed(state, [`line ${i}\r`]).state;
    assertEquals(state.history, ["line 7", "line 8", "line 9"]);
  });
});

Deno.test("applyKeys() takes a 100 KB paste at once, drawing a bounded row", async (t) => {
  const pasted = Array.from({ length: 100_000 }, (_, i) => "abcdefghij"[i % 10])
    .join("");
  await t.step("in one chunk", () => {
    const { state, screen } = start({ columns: 80 });
    const started = performance.now();
    const result = feed(state, [pasted], screen);
    const elapsed = performance.now() - started;
    assertEquals(result.state.text, pasted);
    assert(elapsed < 1000, `took ${elapsed} ms`);
    assert(result.output.length < 200, `wrote ${result.output.length}`);
    assertEquals(screen.line(), "> " + pasted.slice(-77));
  });
  await t.step("in reads of 4 KiB, then Enter", () => {
    const { state, screen } = start({ columns: 80 });
    const bytes = encoder.encode(pasted + "\r");
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 4096) {
      chunks.push(bytes.subarray(i, i + 4096));
    }
    const started = performance.now();
    const result = feed(state, chunks, screen);
    const elapsed = performance.now() - started;
    assertEquals(result.lines, [pasted]);
    assert(elapsed < 1000, `took ${elapsed} ms`);
    assert(result.output.length < 200 * chunks.length);
  });
  await t.step("many lines in one chunk", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
    const result = feed(start().state, [lines.join("\n") + "\n"]);
    assertEquals(result.lines, lines);
  });
});

Deno.test("applyKeys() keeps a long line in one row, scrolling to the cursor", async (t) => {
  const text = "0123456789".repeat(5);
  await t.step("at the end, Home, End", () => {
    const { state, screen } = start({ columns: 20 });
    let s = feed(state, [text], screen).state;
    // 20 columns: 2 for the prompt, 17 for the text, the last one free.
    assertEquals([screen.line(), screen.column], ["> " + text.slice(-17), 19]);
    s = feed(s, ["\x1b[H"], screen).state;
    assertEquals([screen.line(), screen.column], ["> " + text.slice(0, 17), 2]);
    s = feed(s, ["\x1b[C".repeat(20)], screen).state;
    assertEquals([screen.line(), screen.column], [
      "> " + text.slice(3, 20),
      19,
    ]);
    s = feed(s, ["\x1b[D".repeat(5)], screen).state;
    assertEquals([screen.line(), screen.column], [
      "> " + text.slice(3, 20),
      14,
    ]);
    feed(s, ["\x1b[F"], screen);
    assertEquals([screen.line(), screen.column], ["> " + text.slice(-17), 19]);
  });
  await t.step("deleting at the end shows more from the left", () => {
    const { state, screen } = start({ columns: 20 });
    feed(state, [text, "\x17"], screen);
    assertEquals([screen.line(), screen.column], [">", 2]);
    const again = start({ columns: 20 });
    feed(again.state, [text, "\x7f\x7f\x7f"], again.screen);
    assertEquals(again.screen.line(), "> " + text.slice(-20, -3));
  });
  await t.step("wide characters take two columns", () => {
    const { state, screen } = start({ columns: 12 });
    feed(state, ["\u65e5\u672c\u8a9e\u65e5\u672c\u8a9e"], screen);
    // 9 columns for text: four wide characters fit, the cursor after them.
    assertEquals([screen.line(), screen.column], [
      "> \u8a9e\u65e5\u672c\u8a9e",
      10,
    ]);
  });
  await t.step("controls in the line are shown as ^X", () => {
    const { state, screen } = start();
    feed(state, ["a\tb\u009bc"], screen);
    assertEquals([screen.line(), screen.column], ["> a^Ib<U+009B>c", 15]);
  });
  await t.step("a prompt with controls is shown escaped", () => {
    const screen = new Screen(40);
    screen.write(startLine(newLineState(), "\x1b]0;x\x07> ").output);
    assertEquals(screen.line(), "^[]0;x^G>");
  });
  await t.step("Ctrl-L clears the screen and redraws", () => {
    const { state, screen } = start();
    feed(state, ["abc\x0c"], screen);
    assertEquals([screen.rows.length, screen.line(), screen.column], [
      1,
      "> abc",
      5,
    ]);
  });
});
