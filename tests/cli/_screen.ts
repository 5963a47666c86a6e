// Copyright the deno-echo authors. MIT license.

// A tiny terminal for tests: it understands what the line editor writes
// (text, CR, LF, erase to the end of the row or of the screen, cursor up
// and forward, home, where-is-the-cursor) and shows the rows and the cursor.

import { graphemeWidth } from "../../src/cli/line_view.ts";

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Rows of cells and a cursor, fed with what a program writes. */
export class Screen {
  rows: string[][] = [[]];
  row = 0;
  column = 0;

  /** The start of a sequence that the last write ended in. */
  #cut = "";

  /** Gets the answers to `CSI 6n`, as the terminal types them. */
  onReport: ((answer: string) => void) | undefined;

  constructor(public columns: number) {}

  /**
   * Narrows or widens the screen as a terminal that cuts rows does (xterm),
   * or narrows it as one that rewraps them does (tmux): each row carried on
   * over as many rows as it needs, the cursor with it.
   */
  resize(columns: number, rewrap = false): void {
    if (rewrap && columns < this.columns) return this.#rewrap(columns);
    this.columns = columns;
    for (const row of this.rows) row.length = Math.min(row.length, columns);
    this.column = Math.min(this.column, columns - 1);
  }

  #rewrap(columns: number): void {
    const rows: string[][] = [];
    let row = 0, column = 0;
    this.rows.forEach((cells, i) => {
      const parts = Math.max(1, Math.ceil(cells.length / columns));
      if (i === this.row) {
        // As tmux does: a cursor just past the text, at a multiple of the
        // width, stays at the end of the row before.
        const past = this.column >= cells.length && this.column > 0 &&
          this.column % columns === 0;
        row = rows.length + Math.floor(this.column / columns) - (past ? 1 : 0);
        column = past ? columns : this.column % columns;
      }
      for (let k = 0; k < parts; k++) {
        rows.push(cells.slice(k * columns, (k + 1) * columns));
      }
    });
    while (rows.length <= row) rows.push([]);
    this.rows = rows;
    this.row = row;
    this.column = column;
    this.columns = columns;
  }

  /**
   * Interprets `output`; throws on anything it does not understand. A
   * sequence cut off at its end is kept for the next write, as a terminal
   * keeps it.
   */
  write(output: string): void {
    output = this.#cut + output;
    this.#cut = "";
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
        if (m === null && /^(\[\d*)?$/.test(output.slice(i + 1))) {
          this.#cut = output.slice(i);
          return;
        }
        if (m === null) throw new Error(`Unknown sequence at ${i}`);
        // No number: 1, but 0 for an erase (from the cursor on).
        const none = m[2] === "J" || m[2] === "K" ? 0 : 1;
        this.#control(m[2]!, m[1] === "" ? none : Number(m[1]));
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
        if (n !== 0) break;
        cells.length = Math.min(cells.length, this.column);
        return;
      case "A":
        this.row = Math.max(0, this.row - n);
        return;
      case "n":
        if (n !== 6) break;
        this.onReport?.(`\x1b[${this.row + 1};${this.column + 1}R`);
        return;
      case "C":
        this.column = Math.min(this.columns - 1, this.column + n);
        return;
      case "H":
        this.row = 0;
        this.column = 0;
        return;
      case "J":
        if (n === 2) {
          this.rows = this.rows.map(() => []);
          return;
        }
        // From the cursor to the end of the screen.
        cells.length = Math.min(cells.length, this.column);
        this.rows.length = this.row + 1;
        return;
    }
    throw new Error(`Unknown control ${name}`);
  }
}
