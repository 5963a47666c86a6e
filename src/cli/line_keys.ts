// Copyright the deno-echo authors. MIT license.

// Keys as a raw-mode terminal sends them, decoded from bytes that may be
// split anywhere. Not part of the library.

import { incompleteTail } from "./utf8.ts";

/** An editing key other than text. */
export type KeyName =
  | "left"
  | "right"
  | "wordLeft"
  | "wordRight"
  | "home"
  | "end"
  | "up"
  | "down"
  | "backspace"
  | "delete"
  | "deleteOrEof"
  | "killStart"
  | "killEnd"
  | "killWordBack"
  | "killWordLeft"
  | "killWordForward"
  | "clearScreen"
  | "enter"
  | "interrupt"
  | "ignored";

/** An editing key, decoded: text to insert, or a named key. */
export type Key = { kind: "text"; text: string } | { kind: KeyName };

/** The result of {@linkcode nextKey}: a key and how many bytes it took. */
export type Decoded = { key: Key; length: number } | undefined;

/** An escape sequence longer than this is thrown away, not waited for. */
const MAX_SEQUENCE = 32;
const ESC = 0x1b;
const decoder = new TextDecoder();

const CONTROL_KEYS: Record<number, KeyName> = {
  0x01: "home", // Ctrl-A
  0x02: "left", // Ctrl-B
  0x03: "interrupt", // Ctrl-C
  0x04: "deleteOrEof", // Ctrl-D
  0x05: "end", // Ctrl-E
  0x06: "right", // Ctrl-F
  0x08: "backspace", // Ctrl-H
  0x0a: "enter", // Ctrl-J
  0x0b: "killEnd", // Ctrl-K
  0x0c: "clearScreen", // Ctrl-L
  0x0d: "enter", // Ctrl-M, the Enter key
  0x0e: "down", // Ctrl-N
  0x10: "up", // Ctrl-P
  0x15: "killStart", // Ctrl-U
  0x17: "killWordBack", // Ctrl-W
  0x7f: "backspace",
};

/** CSI and SS3 final bytes of the cursor keys. */
const CURSOR_FINALS: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

/** `CSI n ~` keys. */
const TILDE_KEYS: Record<string, KeyName> = {
  1: "home",
  7: "home",
  4: "end",
  8: "end",
  3: "delete",
};

function key(kind: KeyName): Key {
  return { kind };
}

/**
 * Decodes the key at `data[i]`.
 *
 * @param data Bytes from the terminal.
 * @param i Where the key starts.
 * @returns The key and its length in bytes, or `undefined` when the bytes
 * end inside it (an escape sequence or a UTF-8 character cut off): keep
 * them for the next chunk.
 */
export function nextKey(data: Uint8Array, i: number): Decoded {
  const b = data[i]!;
  if (b === ESC) return escapeKey(data, i);
  if (b < 0x20 || b === 0x7f) {
    if (b === 0x09) return { key: { kind: "text", text: "\t" }, length: 1 };
    return { key: key(CONTROL_KEYS[b] ?? "ignored"), length: 1 };
  }
  // A run of text, up to the next control byte: one insertion.
  let end = i + 1;
  while (end < data.length && data[end]! >= 0x20 && data[end] !== 0x7f) end++;
  if (end === data.length) {
    end = i + incompleteTail(data.subarray(i));
    if (end === i) return undefined;
  }
  const text = decoder.decode(data.subarray(i, end));
  return { key: { kind: "text", text }, length: end - i };
}

function escapeKey(data: Uint8Array, i: number): Decoded {
  if (i + 1 >= data.length) return undefined;
  const c = data[i + 1]!;
  if (c === 0x5b) return csiKey(data, i); // ESC [
  if (c === 0x4f) { // ESC O: cursor keys in application mode
    if (i + 2 >= data.length) return undefined;
    const final = String.fromCharCode(data[i + 2]!);
    return { key: key(CURSOR_FINALS[final] ?? "ignored"), length: 3 };
  }
  // Alt with a key; a lone ESC is ignored and the next byte is a key.
  switch (c) {
    case 0x62: // Alt-b
      return { key: key("wordLeft"), length: 2 };
    case 0x66: // Alt-f
      return { key: key("wordRight"), length: 2 };
    case 0x64: // Alt-d
      return { key: key("killWordForward"), length: 2 };
    case 0x7f: // Alt-Backspace
    case 0x08:
      return { key: key("killWordLeft"), length: 2 };
  }
  return { key: key("ignored"), length: 1 };
}

function csiKey(data: Uint8Array, i: number): Decoded {
  // Parameter and intermediate bytes, then one final byte.
  let end = i + 2;
  while (end < data.length && data[end]! >= 0x20 && data[end]! <= 0x3f) {
    end++;
    if (end - i > MAX_SEQUENCE) return { key: key("ignored"), length: end - i };
  }
  if (end >= data.length) return undefined;
  const final = data[end]!;
  if (final < 0x40 || final > 0x7e) {
    // Not a sequence after all: drop what was read of it.
    return { key: key("ignored"), length: end - i };
  }
  const params = decoder.decode(data.subarray(i + 2, end)).split(";");
  const length = end + 1 - i;
  const name = String.fromCharCode(final);
  if (name === "~") {
    return { key: key(TILDE_KEYS[params[0]!] ?? "ignored"), length };
  }
  const kind = CURSOR_FINALS[name];
  if (kind === undefined) return { key: key("ignored"), length };
  // Ctrl or Alt with Left/Right (`CSI 1;5D`) moves by words.
  const modified = params.length > 1 && params[1] !== "1";
  if (modified && kind === "left") return { key: key("wordLeft"), length };
  if (modified && kind === "right") return { key: key("wordRight"), length };
  return { key: key(kind), length };
}

/** Where a terminal says its cursor is (`CSI row ; column R`), 1-based. */
export interface CursorReport {
  /** Where the report starts in the bytes. */
  readonly start: number;
  /** Where it ends (exclusive). */
  readonly end: number;
  readonly row: number;
  readonly column: number;
}

/**
 * Finds the first cursor position report in terminal input: the answer to
 * `CSI 6n`. (Shift-F3 is `CSI 1;2R` on some terminals: the same bytes as a
 * report of row 1, column 2. Only input that arrives while an answer is
 * awaited is looked at.)
 *
 * @param data Bytes from the terminal.
 * @returns The report, or `undefined` if the bytes hold none whole.
 */
export function findCursorReport(data: Uint8Array): CursorReport | undefined {
  for (let i = data.indexOf(ESC); i !== -1; i = data.indexOf(ESC, i + 1)) {
    if (data[i + 1] !== 0x5b) continue;
    const row = digitsAt(data, i + 2);
    if (row === undefined || data[row.end] !== 0x3b) continue;
    const column = digitsAt(data, row.end + 1);
    if (column === undefined || data[column.end] !== 0x52) continue;
    return {
      start: i,
      end: column.end + 1,
      row: row.value,
      column: column.value,
    };
  }
  return undefined;
}

/** A decimal number of up to 5 digits at `data[i]`. */
function digitsAt(
  data: Uint8Array,
  i: number,
): { value: number; end: number } | undefined {
  let value = 0;
  let end = i;
  while (end < data.length && end - i < 5) {
    const d = data[end]! - 0x30;
    if (d < 0 || d > 9) break;
    value = value * 10 + d;
    end++;
  }
  return end === i ? undefined : { value, end };
}

/**
 * Whether `data` is all the start of a cursor position report, cut off
 * before its end (`ESC`, `ESC [`, `ESC [ 12`, `ESC [ 12 ;`, `ESC [ 12 ; 3`):
 * input to hold until the rest comes while an answer is awaited.
 *
 * @param data Bytes from the terminal.
 * @returns Whether they could be completed into a report.
 */
export function isCursorReportPrefix(data: Uint8Array): boolean {
  if (data.length === 0 || data[0] !== ESC) return false;
  if (data.length === 1) return true;
  if (data[1] !== 0x5b) return false;
  let i = 2;
  for (const last of [false, true]) {
    const digits = digitsAt(data, i);
    if (digits === undefined) return i === data.length && (last || i === 2);
    i = digits.end;
    if (i === data.length) return true;
    if (last || data[i] !== 0x3b) return false;
    i++;
  }
  return false;
}
