// Copyright the deno-echo authors. MIT license.

// A tiny terminal for tests: it understands what the line editor writes
// (text, CR, LF, erase to the end of the row, cursor forward, home, clear)
// and shows the rows and the cursor.

import { graphemeWidth } from "../../src/cli/line_view.ts";

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Rows of cells and a cursor, fed with what a program writes. */
export class Screen {
  rows: string[][] = [[]];
  row = 0;
  column = 0;

  constructor(public columns: number) {}

  /** Narrows or widens the screen as a terminal that cuts rows does. */
  resize(columns: number): void {
    this.columns = columns;
    for (const row of this.rows) row.length = Math.min(row.length, columns);
    this.column = Math.min(this.column, columns - 1);
  }

  /** Interprets `output`; throws on anything it does not understand. */
  write(output: string): void {
    // After ESC: CSI, a number, a letter.
    const sequence = /\[(\d*)([A-Za-z])/y;
    let i = 0;
    while (i < output.length) {
      const c = output[i]!;
      if (c === "\r") {
        this.column = 0;
        i++;
      } else if (c === "\n") {
        this.row++;
        this.rows[this.row] ??= [];
        i++;
      } else if (c === "\x1b") {
        sequence.lastIndex = i + 1;
        const m = sequence.exec(output);
        if (m === null) throw new Error(`Unknown sequence at ${i}`);
        this.#control(m[2]!, m[1] === "" ? 1 : Number(m[1]));
        i = sequence.lastIndex;
      } else {
        let end = output.indexOf("\x1b", i);
        for (const stop of ["\r", "\n"]) {
          const at = output.indexOf(stop, i);
          if (at !== -1 && (end === -1 || at < end)) end = at;
        }
        if (end === -1) end = output.length;
        for (const { segment } of segmenter.segment(output.slice(i, end))) {
          this.#put(segment);
        }
        i = end;
      }
    }
  }

  /** The text of a row, without trailing blanks. */
  line(row = this.row): string {
    return (this.rows[row] ?? []).join("").trimEnd();
  }

  #put(grapheme: string): void {
    if (/\p{Cc}/u.test(grapheme)) {
      throw new Error(
        `A control reached the screen: ${JSON.stringify(grapheme)}`,
      );
    }
    const width = graphemeWidth(grapheme);
    if (this.column + width > this.columns) {
      throw new Error(
        `Wrote past the last column: ${JSON.stringify(this.line())}`,
      );
    }
    const cells = this.rows[this.row]!;
    while (cells.length < this.column) cells.push(" ");
    cells[this.column] = grapheme;
    // A wide grapheme's second cell holds nothing.
    for (let k = 1; k < width; k++) cells[this.column + k] = "";
    this.column += width;
  }

  #control(name: string, n: number): void {
    const cells = this.rows[this.row]!;
    switch (name) {
      case "K":
        cells.length = Math.min(cells.length, this.column);
        return;
      case "C":
        this.column = Math.min(this.columns - 1, this.column + n);
        return;
      case "H":
        this.row = 0;
        this.column = 0;
        return;
      case "J":
        this.rows = [[]];
        return;
    }
    throw new Error(`Unknown control ${name}`);
  }
}
