// Copyright the deno-echo authors. MIT license.

// How the line being edited is shown: one terminal row that scrolls
// sideways to keep the cursor in view, so a redraw costs the same for a
// 100 KB line as for a short one. Not part of the library.

import { visibleControl } from "./escape.ts";

// Made on first use: building one loads ICU's break data, which cost every
// start of the client (even `--help`) about 15 ms.
let segmenter: Intl.Segmenter | undefined;

/** Code units looked at around an index to find grapheme boundaries. */
const NEAR = 64;

const WIDE =
  /^[\u1100-\u115f\u231a\u231b\u2329\u232a\u23e9-\u23ec\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{16fe0}-\u{18cff}\u{1b000}-\u{1b2ff}\u{1f200}-\u{1f2ff}\u{20000}-\u{3fffd}]/u;
const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\ufe0f/u;
const ZERO_WIDTH =
  /^[\p{Mn}\p{Me}\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/u;
// C0, DEL and C1: the Unicode category Cc is exactly these.
const CONTROL = /\p{Cc}/u;
const CONTROLS = /\p{Cc}/gu;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** One grapheme as the terminal is sent it: controls, tab too, visibly. */
export function shown(grapheme: string): string {
  if (!CONTROL.test(grapheme)) return grapheme;
  return grapheme.replace(
    CONTROLS,
    (c) => visibleControl(c.charCodeAt(0)),
  );
}

/** Terminal columns one grapheme takes, as {@linkcode shown} writes it. */
export function graphemeWidth(grapheme: string): number {
  const code = grapheme.codePointAt(0)!;
  if (code < 0x7f && code >= 0x20) return 1;
  if (CONTROL.test(grapheme)) return shown(grapheme).length;
  if (WIDE.test(grapheme) || EMOJI.test(grapheme)) return 2;
  if (ZERO_WIDTH.test(grapheme)) return 0;
  return 1;
}

/** Terminal columns a whole string takes (for short text: prompts). */
export function textWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const g of graphemes(text)) width += graphemeWidth(g);
  return width;
}

/** Graphemes of a string (printable ASCII, the common case, quickly). */
function graphemes(text: string): string[] {
  if (PRINTABLE_ASCII.test(text)) return text.split("");
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/** The graphemes that end at `i`, nearest first, within `look` units. */
function graphemesBefore(text: string, i: number, look: number): string[] {
  return graphemes(text.slice(Math.max(0, i - look), i)).reverse();
}

/** The graphemes from `i` on, within `look` code units. */
function graphemesAfter(text: string, i: number, look: number): string[] {
  return graphemes(text.slice(i, i + look));
}

/** Where the grapheme before `i` starts (`0` at the start). */
export function previousBoundary(text: string, i: number): number {
  const before = graphemesBefore(text, i, NEAR)[0];
  return before === undefined ? i : i - before.length;
}

/** Where the grapheme at `i` ends (`text.length` at the end). */
export function nextBoundary(text: string, i: number): number {
  const after = graphemesAfter(text, i, NEAR)[0];
  return after === undefined ? i : i + after.length;
}

/**
 * The first index to show so that the cursor is in view, moving the
 * previous one as little as possible, and filling the row when the text
 * ends before it does.
 *
 * @param text The line.
 * @param cursor The cursor's index.
 * @param scroll The first index shown before.
 * @param room Columns there are for the text.
 */
export function scrollFor(
  text: string,
  cursor: number,
  scroll: number,
  room: number,
): number {
  const look = 8 * room + NEAR;
  // Walk back from the cursor to the first index shown before, or as far
  // as the row allows, whichever is nearer.
  let width = 0;
  let index = cursor;
  for (const g of graphemesBefore(text, cursor, look)) {
    if (index <= scroll || width + graphemeWidth(g) > room) break;
    width += graphemeWidth(g);
    index -= g.length;
  }
  scroll = index;
  // When what is shown ends before the row does, show more from the left.
  let rest = room;
  for (const g of graphemesAfter(text, scroll, look)) {
    rest -= graphemeWidth(g);
    if (rest < 0) return scroll;
  }
  for (const g of graphemesBefore(text, scroll, look)) {
    rest -= graphemeWidth(g);
    if (rest < 0) break;
    scroll -= g.length;
  }
  return scroll;
}

/**
 * What redraws the row: back to the first column, the prompt, the part of
 * the line in view, erase the rest of the row (or of the screen), cursor to
 * its place.
 *
 * @param prompt The prompt, already escaped.
 * @param text The line.
 * @param cursor The cursor's index.
 * @param scroll The first index shown, from {@linkcode scrollFor}.
 * @param room Columns there are for the text.
 * @param erase What erases after the text: the rest of the row, or (after
 * a resize, which may have left rows below) the rest of the screen.
 */
export function renderRow(
  prompt: string,
  text: string,
  cursor: number,
  scroll: number,
  room: number,
  erase: "row" | "below" = "row",
): string {
  let out = "\r" + prompt;
  let width = 0;
  let column = textWidth(prompt);
  let index = scroll;
  for (const g of graphemesAfter(text, scroll, 8 * room + NEAR)) {
    const w = graphemeWidth(g);
    if (width + w > room) break;
    if (index < cursor) column += w;
    out += shown(g);
    width += w;
    index += g.length;
  }
  out += (erase === "row" ? "\x1b[K" : "\x1b[J") + "\r";
  if (column > 0) out += `\x1b[${column}C`;
  return out;
}

/**
 * How many rows above the cursor the row being edited now starts, after
 * the terminal was narrowed to `columns` with the cursor at `column` (past
 * the new last column) and then said where the cursor is. A terminal that
 * cuts rows (xterm) keeps the cursor on the row, at the last column (of
 * the narrowest width it had, if it was widened since); one that rewraps
 * them (tmux, VTE, kitty) carries the row on over as many rows as it
 * needs, the cursor with it, at `column % columns` (tmux: at `columns`,
 * one row up, when that is 0 and the cursor was past the text). When the
 * two cannot be told apart (`column % columns` is that last column), the
 * row is taken to be cut: redrawn where the cursor is, it leaves at worst
 * the start of the old row above, where a wrong guess the other way would
 * overwrite rows of earlier output. A wide character that the new width
 * splits is carried to the next row whole, which moves the cursor off
 * `column % columns`: that too is read as cut.
 *
 * @param column The cursor's column (0-based) before the resize.
 * @param columns The terminal's width now.
 * @param reported The cursor's column (0-based) that the terminal reported.
 * @param narrowest The narrowest the terminal was since the row was drawn.
 * @returns The rows to move up to reach the start of the row; 0 if cut.
 */
export function rowsAbove(
  column: number,
  columns: number,
  reported: number,
  narrowest: number = columns,
): number {
  if (column < columns) return 0;
  const wrapped = column % columns;
  if (wrapped === Math.min(narrowest, columns) - 1) return 0;
  if (reported === wrapped) return Math.floor(column / columns);
  if (wrapped === 0 && reported === columns) return column / columns - 1;
  return 0;
}
