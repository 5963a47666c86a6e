// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import {
  escapeForTerminal,
  escapeLogField,
  TerminalEscaper,
  terminalEscapeStream,
} from "../../src/cli/escape.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A peer's text and how a terminal shows it. */
const TERMINAL_CASES: [name: string, input: string, shown: string][] = [
  ["OSC 52 clipboard write", "\x1b]52;c;aGVsbG8=\x07", "^[]52;c;aGVsbG8=^G"],
  ["OSC 0 window title", "\x1b]0;owned\x1b\\", "^[]0;owned^[\\"],
  ["CSI 2J clear screen", "\x1b[2J\x1b[H", "^[[2J^[[H"],
  ["CSI 6n cursor position report", "\x1b[6n", "^[[6n"],
  ["C1 CSI", "\u009b6n", "<U+009B>6n"],
  ["C1 OSC and ST", "\u009d0;x\u009c", "<U+009D>0;x<U+009C>"],
  ["lone CR overwriting the line", "rm -rf /\rls", "rm -rf /^Mls"],
  ["CR at the end", "abc\r", "abc^M"],
  ["CR LF kept", "one\r\ntwo\r\n", "one\r\ntwo\r\n"],
  ["CR CR LF", "a\r\r\n", "a^M\r\n"],
  ["tab and newline kept", "a\tb\n", "a\tb\n"],
  ["NUL, BEL, BS, unit separator", "\0\x07\b\x1f", "^@^G^H^_"],
  ["DEL", "a\x7fb", "a^?b"],
  [
    "printable non-ASCII kept",
    "h\u00e9llo \u65e5\u672c \u{1f389}",
    "h\u00e9llo \u65e5\u672c \u{1f389}",
  ],
  ["NBSP and U+00A1 are not C1", "\u00a0\u00a1", "\u00a0\u00a1"],
];

Deno.test("escapeForTerminal() shows controls visibly so no escape sequence can act", async (t) => {
  for (const [name, input, shown] of TERMINAL_CASES) {
    await t.step(name, () => assertEquals(escapeForTerminal(input), shown));
  }
});

/** Runs bytes through a fresh escaper in the given chunks. */
function escapeChunks(chunks: Uint8Array[]): string {
  const escaper = new TerminalEscaper();
  const out = chunks.map((c) => escaper.push(c));
  out.push(escaper.end());
  return out.map((b) => decoder.decode(b)).join("");
}

Deno.test("TerminalEscaper gives the same text however the bytes are split", async (t) => {
  for (const [name, input, shown] of TERMINAL_CASES) {
    await t.step(name, () => {
      const bytes = encoder.encode(input);
      assertEquals(escapeChunks([bytes]), shown);
      for (let i = 0; i <= bytes.length; i++) {
        assertEquals(
          escapeChunks([bytes.subarray(0, i), bytes.subarray(i)]),
          shown,
          `split at ${i}`,
        );
      }
      const single = Array.from(bytes, (b) => new Uint8Array([b]));
      assertEquals(escapeChunks(single), shown, "one byte at a time");
    });
  }
});

Deno.test("TerminalEscaper shows bytes that are not valid UTF-8 as <HH>", async (t) => {
  const cases: [string, number[], string][] = [
    ["a raw C1 byte", [0x9b, 0x36, 0x6e], "<9B>6n"],
    ["a stray continuation byte", [0x61, 0x80, 0x62], "a<80>b"],
    ["an overlong ESC", [0xc0, 0x9b], "<C0><9B>"],
    ["a surrogate", [0xed, 0xa0, 0x80], "<ED><A0><80>"],
    ["past U+10FFFF", [0xf4, 0x90, 0x80, 0x80], "<F4><90><80><80>"],
    ["a sequence cut by the end", [0x61, 0xe2, 0x82], "a<E2><82>"],
    ["a sequence cut by ESC", [0xe2, 0x1b, 0x5b], "<E2>^[["],
    ["a lead byte after a lead byte", [0xc9, 0xc5, 0x41], "<C9><C5>A"],
    ["C1 as UTF-8", [0xc2, 0x9b, 0x32, 0x4a], "<U+009B>2J"],
  ];
  for (const [name, bytes, shown] of cases) {
    await t.step(name, () => {
      const data = new Uint8Array(bytes);
      assertEquals(escapeChunks([data]), shown);
      for (let i = 0; i <= data.length; i++) {
        assertEquals(
          escapeChunks([data.subarray(0, i), data.subarray(i)]),
          shown,
        );
      }
    });
  }
});

Deno.test("TerminalEscaper passes a chunk that needs nothing through as it is", () => {
  const escaper = new TerminalEscaper();
  const chunk = encoder.encode("plain text, caf\u00e9\r\n");
  assertStrictEquals(escaper.push(chunk), chunk);
  assertEquals(escaper.end().length, 0);
});

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed >>> 8 & 0xff;
  };
}

Deno.test("TerminalEscaper lets no control byte through, whatever the input", () => {
  const next = random(42);
  for (let round = 0; round < 200; round++) {
    const bytes = Uint8Array.from({ length: 64 }, next);
    const cut = next() % 65;
    const escaper = new TerminalEscaper();
    const parts = [
      escaper.push(bytes.subarray(0, cut)),
      escaper.push(bytes.subarray(cut)),
      escaper.end(),
    ];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) (out.set(p, off), off += p.length);
    for (let i = 0; i < out.length; i++) {
      const b = out[i]!;
      const crlf = b === 0x0d && out[i + 1] === 0x0a;
      assert(b >= 0x20 || b === 0x09 || b === 0x0a || crlf, `byte ${b}`);
      assert(b !== 0x7f);
      assert(!(b === 0xc2 && out[i + 1]! >= 0x80 && out[i + 1]! < 0xa0));
    }
    // Whatever came out is valid UTF-8.
    new TextDecoder("utf-8", { fatal: true }).decode(out);
  }
});

Deno.test("terminalEscapeStream() escapes a stream of chunks", async () => {
  const bytes = encoder.encode("\u20ac\x1b]0;t\x07\r\n");
  const input = ReadableStream.from([
    bytes.subarray(0, 1),
    bytes.subarray(1, 4),
    bytes.subarray(4, 11),
    bytes.subarray(11),
  ]);
  const text = await new Response(input.pipeThrough(terminalEscapeStream()))
    .text();
  assertEquals(text, "\u20ac^[]0;t^G\r\n");
});

/** A peer-controlled string and how it appears in a log line. */
const LOG_CASES: [name: string, input: string, logged: string][] = [
  [
    "a socket path that forges a log line",
    "/tmp/c.sock\n2026-12-01T00:00:00Z accepted from 10.0.0.1\x1b[2K",
    "/tmp/c.sock\\n2026-12-01T00:00:00Z accepted from 10.0.0.1\\x1b[2K",
  ],
  ["CR, tab, NUL, DEL", "a\rb\tc\0d\x7f", "a\\rb\\tc\\x00d\\x7f"],
  ["a backslash is not mistaken for an escape", "a\\nb", "a\\\\nb"],
  ["double quotes", 'say "hi"', 'say \\"hi\\"'],
  [
    "OSC 52 in an SNI name",
    "\x1b]52;c;aGVsbG8=\x07",
    "\\x1b]52;c;aGVsbG8=\\x07",
  ],
  ["C1 controls", "\u009b2J\u0085", "\\u{9b}2J\\u{85}"],
  ["line and paragraph separators", "a\u2028b\u2029c", "a\\u{2028}b\\u{2029}c"],
  ["bidirectional override", "evil\u202etxt.exe", "evil\\u{202e}txt.exe"],
  ["zero-width space and NBSP", "a\u200bb\u00a0c", "a\\u{200b}b\\u{a0}c"],
  ["a lone surrogate", "x\ud800y", "x\\u{d800}y"],
  [
    "printable non-ASCII kept",
    "caf\u00e9 \u65e5\u672c \u{1f389}",
    "caf\u00e9 \u65e5\u672c \u{1f389}",
  ],
  ["plain ASCII kept", "example.com:443", "example.com:443"],
];

Deno.test("escapeLogField() keeps a peer's string on one printable line", async (t) => {
  for (const [name, input, logged] of LOG_CASES) {
    await t.step(name, () => {
      assertEquals(escapeLogField(input), logged);
      if (!/[\ud800-\udfff]/.test(input)) {
        assertEquals(escapeLogField(encoder.encode(input)), logged, "bytes");
      }
    });
  }
});

Deno.test("escapeLogField() shows bytes that are not valid UTF-8 as \\xHH", () => {
  assertEquals(
    escapeLogField(new Uint8Array([0x2f, 0xff, 0xc3, 0xa9, 0xe2, 0x82])),
    "/\\xff\u00e9\\xe2\\x82",
  );
  assertEquals(escapeLogField(new Uint8Array([0xc2, 0x9b])), "\\u{9b}");
});

Deno.test("escapeLogField() output has no control or separator, whatever the input", () => {
  const next = random(7);
  for (let round = 0; round < 200; round++) {
    const bytes = Uint8Array.from({ length: 48 }, next);
    for (
      const out of [
        escapeLogField(bytes),
        escapeLogField(decoder.decode(bytes)),
      ]
    ) {
      assert(!/[\p{C}\p{Zl}\p{Zp}]/u.test(out), JSON.stringify(out));
      assert(!/[^\S ]/u.test(out), JSON.stringify(out));
    }
  }
});
