// Copyright the deno-echo authors. MIT license.

// The answer to "where is the cursor", and what it says about a row that a
// narrowed terminal kept, cut or rewrapped.

import { assertEquals } from "@std/assert";
import {
  findCursorReport,
  isCursorReportPrefix,
} from "../../src/cli/line_keys.ts";
import {
  newLineState,
  resizeLine,
  startLine,
} from "../../src/cli/line_state.ts";
import { rowsAbove } from "../../src/cli/line_view.ts";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

Deno.test("findCursorReport() finds a whole report among keys, and nothing else", () => {
  assertEquals(findCursorReport(bytes("ab\x1b[4;23Rc")), {
    start: 2,
    end: 9,
    row: 4,
    column: 23,
  });
  assertEquals(findCursorReport(bytes("\x1b[D\x1b[12;1R"))?.start, 3);
  for (const other of ["\x1b[4;23", "\x1b[4R", "\x1b[;3R", "\x1b[1;5D", "x"]) {
    assertEquals(findCursorReport(bytes(other)), undefined, other);
  }
});

Deno.test("rowsAbove() reads a rewrapped row as tmux rewraps it", () => {
  // Measured in tmux 3.3a, narrowed from 70 to 30 columns: the cursor's
  // column before, the column it reported (0-based), the rows it moved.
  const measured: [number, number, number][] = [
    [52, 22, 1],
    [59, 29, 0], // at the last column: as if cut (see rowsAbove)
    [30, 0, 1],
    [60, 30, 1], // just past the text at a multiple of the width
    [20, 20, 0], // not past the new last column: nothing to ask
  ];
  for (const [column, reported, rows] of measured) {
    assertEquals(rowsAbove(column, 30, reported), rows, `${column}`);
  }
  assertEquals(rowsAbove(95, 30, 5), 3);
});

Deno.test("rowsAbove() reads a cut row, or an answer that fits neither, as no rows", () => {
  // xterm keeps the cursor at the last column.
  assertEquals(rowsAbove(52, 30, 29), 0);
  assertEquals(rowsAbove(52, 30, 7), 0);
  assertEquals(rowsAbove(60, 30, 29), 0);
});

Deno.test("rowsAbove() reads a row cut narrower, then widened, as no rows", () => {
  // Cut at 21 columns: the cursor at 20, where it stays at 30. A rewrapped
  // row would have it there too (50 % 30), so the two cannot be told apart.
  assertEquals(rowsAbove(50, 30, 20, 21), 0);
  assertEquals(rowsAbove(50, 30, 20), 1);
  // Told apart: rewrapped at 30 after a narrower 25.
  assertEquals(rowsAbove(50, 30, 20, 25), 1);
  assertEquals(rowsAbove(50, 30, 24, 25), 0);
});

Deno.test("isCursorReportPrefix() holds what a report's end may still follow, and nothing else", () => {
  for (const part of ["\x1b", "\x1b[", "\x1b[3", "\x1b[3;", "\x1b[12;345"]) {
    assertEquals(isCursorReportPrefix(bytes(part)), true, JSON.stringify(part));
  }
  const others = [
    "",
    "a",
    "\x1b[3;13R",
    "\x1b[;",
    "\x1b[3;4;",
    "\x1bO",
    "x\x1b[",
  ];
  for (const other of [...others, "\x1b[123456"]) {
    assertEquals(
      isCursorReportPrefix(bytes(other)),
      false,
      JSON.stringify(other),
    );
  }
});

Deno.test("resizeLine() erases below the row from after its text, not from its first column", () => {
  const started = startLine(newLineState({ columns: 40 }), "> ");
  const { output } = resizeLine(
    { ...started.state, text: "abc", cursor: 3 },
    20,
  );
  assertEquals(output, "\r> abc\x1b[J\r\x1b[5C");
});
