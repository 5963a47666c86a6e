// Copyright the deno-echo authors. MIT license.

// The answer to "where is the cursor", and what it says about a row that a
// narrowed terminal kept, cut or rewrapped.

import { assertEquals } from "@std/assert";
import { findCursorReport } from "../../src/cli/line_keys.ts";
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
