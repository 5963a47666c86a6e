// Copyright the deno-echo authors. MIT license.

// The line editor as a pure state machine: bytes from a raw-mode terminal
// in, the new state, what to write to the terminal and the lines entered
// out. Not part of the library.

import { escapeForTerminal } from "./escape.ts";
import { type Key, nextKey } from "./line_keys.ts";
import {
  nextBoundary,
  previousBoundary,
  renderRow,
  scrollFor,
  textWidth,
} from "./line_view.ts";

/** Default for {@linkcode LineStateOptions.historyLimit}. */
export const DEFAULT_HISTORY_LIMIT = 500;

/** Everything the editor knows; never changed, only replaced. */
export interface LineState {
  /** The prompt as shown (controls escaped). */
  readonly prompt: string;
  /** The line being edited. */
  readonly text: string;
  /** The cursor, as an index into `text` on a grapheme boundary. */
  readonly cursor: number;
  /** The first index of `text` in view. */
  readonly scroll: number;
  /** Lines entered before, oldest first. */
  readonly history: readonly string[];
  /** At most this many lines are kept in `history`. */
  readonly historyLimit: number;
  /** The history line in view; `history.length` for the line being typed. */
  readonly recalled: number;
  /** The line being typed, kept while history is browsed. */
  readonly draft: string;
  /** Bytes of a key cut off at the end of the last chunk. */
  readonly pending: Uint8Array;
  /** The last key was CR: an LF right after it is part of the same Enter. */
  readonly afterCR: boolean;
  /** Width of the terminal. */
  readonly columns: number;
}

/** Options for {@linkcode newLineState}. */
export interface LineStateOptions {
  /**
   * Lines of history kept.
   * @default {500}
   */
  historyLimit?: number;
  /**
   * History to start with, oldest first.
   * @default {[]}
   */
  history?: readonly string[];
  /**
   * Width of the terminal.
   * @default {80}
   */
  columns?: number;
}

/** What {@linkcode applyKeys} returns. */
export interface KeysResult {
  /** The state after the keys. */
  state: LineState;
  /** What to write to the terminal, redrawn once for the whole chunk. */
  output: string;
  /** Lines entered (Enter), in order, without their line end. */
  lines: string[];
  /** Ctrl-C, or Ctrl-D on an empty line: reading stopped there. */
  end?: "interrupt" | "eof";
  /** Bytes not looked at: after `end`, or after `maxLines` lines. */
  rest: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const WORD = /[\p{L}\p{N}_]/u;
const SPACE = /\s/u;

/**
 * A state with no line started yet.
 *
 * @param options History and terminal width.
 * @returns The state.
 */
export function newLineState(options: LineStateOptions = {}): LineState {
  const {
    historyLimit = DEFAULT_HISTORY_LIMIT,
    history = [],
    columns = 80,
  } = options;
  if (!Number.isSafeInteger(historyLimit) || historyLimit < 0) {
    throw new RangeError(`Invalid "historyLimit": "${historyLimit}"`);
  }
  const kept = history.slice(Math.max(0, history.length - historyLimit));
  return {
    prompt: "",
    text: "",
    cursor: 0,
    scroll: 0,
    history: kept,
    historyLimit,
    recalled: kept.length,
    draft: "",
    pending: EMPTY,
    afterCR: false,
    columns,
  };
}

/**
 * Starts a new line: an empty line after `prompt`.
 *
 * @param state The state; its history is kept.
 * @param prompt The prompt; controls in it are shown escaped.
 * @param columns Width of the terminal, if it changed.
 * @returns The state and what draws the prompt.
 */
export function startLine(
  state: LineState,
  prompt: string,
  columns: number = state.columns,
): { state: LineState; output: string } {
  const next: LineState = {
    ...state,
    prompt: escapeForTerminal(prompt),
    text: "",
    cursor: 0,
    scroll: 0,
    recalled: state.history.length,
    draft: "",
    columns,
  };
  return { state: next, output: render(next) };
}

/**
 * Redraws the line for a terminal that is now `columns` wide, scrolled so
 * that the cursor stays in view, erasing what is below it (rows a narrower
 * terminal carried over).
 *
 * @param state The state.
 * @param columns The terminal's width now.
 * @returns The state and what redraws the row.
 */
export function resizeLine(
  state: LineState,
  columns: number,
): { state: LineState; output: string } {
  const next = edit({ ...state, columns }, state.text, state.cursor);
  return { state: next, output: render(next, "below") };
}

/**
 * The column the cursor is on (0-based) in the row as drawn for `state`.
 *
 * @param state The state.
 * @returns The prompt's width and that of the text shown before the cursor.
 */
export function cursorColumn(state: LineState): number {
  const before = state.text.slice(state.scroll, state.cursor);
  return textWidth(state.prompt) + textWidth(before);
}

/** Columns for the text, after the prompt, keeping the last one free. */
function room(state: LineState): number {
  return Math.max(1, state.columns - textWidth(state.prompt) - 1);
}

function render(state: LineState, erase: "row" | "below" = "row"): string {
  return renderRow(
    state.prompt,
    state.text,
    state.cursor,
    state.scroll,
    room(state),
    erase,
  );
}

/** A copy with `text` and `cursor` replaced and the view scrolled. */
function edit(state: LineState, text: string, cursor: number): LineState {
  const scroll = scrollFor(text, cursor, state.scroll, room(state));
  return { ...state, text, cursor, scroll };
}

/**
 * Applies a chunk of terminal input. The row is redrawn once per chunk (and
 * before each line end), however many keys the chunk holds, so a large
 * paste costs one redraw per read.
 *
 * @param state The state before.
 * @param bytes Bytes as read from the terminal in raw mode; an escape
 * sequence or a character may be cut anywhere.
 * @param maxLines Stop after this many lines and return the rest.
 * @returns The new state, the terminal output, the lines entered.
 */
export function applyKeys(
  state: LineState,
  bytes: Uint8Array,
  maxLines: number = Infinity,
): KeysResult {
  let data = bytes;
  if (state.pending.length > 0) {
    data = new Uint8Array(state.pending.length + bytes.length);
    data.set(state.pending);
    data.set(bytes, state.pending.length);
  }
  const lines: string[] = [];
  let output = "";
  let shown = state;
  let s: LineState = { ...state, pending: EMPTY };
  const redraw = (): void => {
    if (s !== shown) output += render(s);
    shown = s;
  };
  let i = 0;
  while (i < data.length && lines.length < maxLines) {
    if (s.afterCR && data[i] === 0x0a) {
      i++;
      s = { ...s, afterCR: false };
      continue;
    }
    const decoded = nextKey(data, i);
    if (decoded === undefined) {
      s = { ...s, pending: data.slice(i) };
      i = data.length;
      break;
    }
    i += decoded.length;
    const { key } = decoded;
    s = { ...s, afterCR: key.kind === "enter" && data[i - 1] === 0x0d };
    if (key.kind === "enter") {
      redraw();
      output += "\r\n";
      lines.push(s.text);
      s = remember(s, s.text);
      s = { ...s, text: "", cursor: 0, scroll: 0 };
      if (lines.length < maxLines) output += render(s);
      shown = s;
    } else if (
      key.kind === "interrupt" ||
      (key.kind === "deleteOrEof" && s.text === "")
    ) {
      s = edit(s, s.text, s.text.length);
      redraw();
      if (key.kind === "interrupt") output += interruptMark(s);
      output += "\r\n";
      return {
        state: { ...s, text: "", cursor: 0, scroll: 0 },
        output,
        lines,
        end: key.kind === "interrupt" ? "interrupt" : "eof",
        rest: data.subarray(i),
      };
    } else if (key.kind === "clearScreen") {
      output += "\x1b[H\x1b[2J" + render(s);
      shown = s;
    } else {
      s = applyKey(s, key);
    }
  }
  redraw();
  return { state: s, output, lines, rest: data.subarray(i) };
}

/**
 * `^C`, where the cursor is; on the next row when the cursor is in the last
 * column, where the `C` would wrap onto a row of its own.
 */
function interruptMark(state: LineState): string {
  return cursorColumn(state) + 2 <= state.columns ? "^C" : "\r\n^C";
}

/** Adds an entered line to the history and leaves history browsing. */
function remember(state: LineState, line: string): LineState {
  let history = state.history;
  if (line !== "" && history[history.length - 1] !== line) {
    history = [...history, line];
    if (history.length > state.historyLimit) {
      history = history.slice(history.length - state.historyLimit);
    }
  }
  return { ...state, history, recalled: history.length, draft: "" };
}

/** Where the word before `i` starts (words: letters, digits, `_`). */
function wordStart(text: string, i: number): number {
  while (i > 0 && !WORD.test(text[i - 1]!)) i = previousBoundary(text, i);
  while (i > 0 && WORD.test(text[i - 1]!)) i = previousBoundary(text, i);
  return i;
}

/** Where the word at or after `i` ends. */
function wordEnd(text: string, i: number): number {
  while (i < text.length && !WORD.test(text[i]!)) i = nextBoundary(text, i);
  while (i < text.length && WORD.test(text[i]!)) i = nextBoundary(text, i);
  return i;
}

/** One editing key (Enter, Ctrl-C, Ctrl-D at an empty line aside). */
function applyKey(s: LineState, key: Key): LineState {
  const { text, cursor } = s;
  switch (key.kind) {
    case "text":
      return edit(
        s,
        text.slice(0, cursor) + key.text + text.slice(cursor),
        cursor + key.text.length,
      );
    case "left":
      return edit(s, text, previousBoundary(text, cursor));
    case "right":
      return edit(s, text, nextBoundary(text, cursor));
    case "wordLeft":
      return edit(s, text, wordStart(text, cursor));
    case "wordRight":
      return edit(s, text, wordEnd(text, cursor));
    case "home":
      return edit(s, text, 0);
    case "end":
      return edit(s, text, text.length);
    case "backspace": {
      const from = previousBoundary(text, cursor);
      return edit(s, text.slice(0, from) + text.slice(cursor), from);
    }
    case "delete":
    case "deleteOrEof": {
      const to = nextBoundary(text, cursor);
      return edit(s, text.slice(0, cursor) + text.slice(to), cursor);
    }
    case "killStart":
      return edit(s, text.slice(cursor), 0);
    case "killEnd":
      return edit(s, text.slice(0, cursor), cursor);
    case "killWordBack": {
      // Back to the previous white space, as a shell's Ctrl-W does.
      let from = cursor;
      while (from > 0 && SPACE.test(text[from - 1]!)) from--;
      while (from > 0 && !SPACE.test(text[from - 1]!)) from--;
      return edit(s, text.slice(0, from) + text.slice(cursor), from);
    }
    case "killWordLeft": {
      const from = wordStart(text, cursor);
      return edit(s, text.slice(0, from) + text.slice(cursor), from);
    }
    case "killWordForward": {
      const to = wordEnd(text, cursor);
      return edit(s, text.slice(0, cursor) + text.slice(to), cursor);
    }
    case "up":
    case "down":
      return recall(s, key.kind === "up" ? -1 : 1);
    default:
      return s;
  }
}

/** Shows the previous (`-1`) or next (`1`) history line. */
function recall(s: LineState, step: -1 | 1): LineState {
  const recalled = s.recalled + step;
  if (recalled < 0 || recalled > s.history.length) return s;
  const draft = s.recalled === s.history.length ? s.text : s.draft;
  const text = recalled === s.history.length ? draft : s.history[recalled]!;
  return edit({ ...s, recalled, draft, scroll: 0 }, text, text.length);
}
