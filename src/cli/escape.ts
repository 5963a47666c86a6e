// Copyright the deno-echo authors. MIT license.

// Escaping of text a peer controls, before it reaches a terminal or a log
// line. Not part of the library.
//
// On a terminal (outside --raw) a peer's bytes are shown the way `less` and
// `cat -v` show them, so that no escape sequence can act:
//
//   - tab and newline pass; CR passes as part of CR LF;
//   - any other C0 control is shown in caret notation: ESC as `^[`, a lone
//     CR as `^M`, NUL as `^@`, BEL as `^G`; DEL as `^?`;
//   - a C1 control (U+0080 to U+009F, sent as UTF-8) is shown as `<U+009B>`;
//   - a byte that is not part of valid UTF-8 is shown as `<9B>`;
//   - everything else, printable non-ASCII included, passes unchanged.
//
// The notation is for people: a peer that sends the two characters `^[` is
// shown the same as one that sends ESC. Piped output is not escaped at all.
//
// In a log line a peer-controlled string is escaped so that it stays on one
// line and cannot be mistaken for the text around it: backslash as `\\`,
// double quote as `\"`, newline, CR and tab as `\n`, `\r`, `\t`, every other
// control (C0, DEL) and every byte that is not valid UTF-8 as `\xHH`, and
// every other code point that is not printable (C1, format characters such
// as bidirectional overrides, line and paragraph separators, spaces other
// than U+0020, surrogates, private use and unassigned) as `\u{HHHH}`.
// Printable non-ASCII passes. Put the result in double quotes to bound it.

import {
  incompleteTail,
  UTF8_INCOMPLETE,
  UTF8_INVALID,
  utf8Sequence,
} from "./utf8.ts";

const encoder = new TextEncoder();
const CR = 0x0d;
const LF = 0x0a;

/**
 * How a control looks on a terminal: caret notation for C0 and DEL, the
 * code point for C1.
 *
 * @param code A code point from U+0000 to U+001F or U+007F to U+009F.
 * @returns `^[` for ESC, `^?` for DEL, `<U+009B>` for CSI.
 *
 * @example Three controls
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { visibleControl } from "./escape.ts";
 *
 * assertEquals([0x1b, 0x7f, 0x9b].map(visibleControl), ["^[", "^?", "<U+009B>"]);
 * ```
 */
export function visibleControl(code: number): string {
  if (code < 0x20) return "^" + String.fromCharCode(code + 0x40);
  if (code === 0x7f) return "^?";
  return `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
}

// A lone CR, or a control (C0, DEL, C1: category Cc) other than tab, LF, CR.
const TERMINAL_UNSAFE = /\r(?!\n)|(?![\t\n\r])\p{Cc}/gu;

/**
 * Makes text safe to show on a terminal: controls other than tab, newline
 * and CR LF are shown visibly (`^[` for ESC, `^M` for a lone CR, `^?` for
 * DEL, `<U+009B>` for a C1 control), so no escape sequence can act.
 *
 * @param text Text a peer sent, decoded.
 * @returns The text to write to the terminal.
 *
 * @example A clipboard write becomes harmless
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { escapeForTerminal } from "./escape.ts";
 *
 * assertEquals(
 *   escapeForTerminal("\x1b]52;c;aGVsbG8=\x07ok\r\n"),
 *   "^[]52;c;aGVsbG8=^Gok\r\n",
 * );
 * ```
 */
export function escapeForTerminal(text: string): string {
  return text.replace(
    TERMINAL_UNSAFE,
    (c) => visibleControl(c.charCodeAt(0)),
  );
}

/**
 * {@linkcode escapeForTerminal} over a stream of bytes split anywhere: a
 * UTF-8 sequence or a CR LF cut between chunks is held until the next
 * chunk, and bytes that are not valid UTF-8 are shown as `<FF>`. Bytes that
 * need no escaping pass through unchanged.
 *
 * @example Chunks split inside an escape sequence and a character
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { TerminalEscaper } from "./escape.ts";
 *
 * const escaper = new TerminalEscaper();
 * const bytes = new TextEncoder().encode("\x1b[2J\u20ac\r\n");
 * const out = [
 *   escaper.push(bytes.subarray(0, 5)),
 *   escaper.push(bytes.subarray(5, 8)),
 *   escaper.push(bytes.subarray(8)),
 *   escaper.end(),
 * ].map((b) => new TextDecoder().decode(b)).join("");
 * assertEquals(out, "^[[2J\u20ac\r\n");
 * ```
 */
export class TerminalEscaper {
  #held: Uint8Array = new Uint8Array(0);

  /**
   * Escapes the next chunk.
   *
   * @param chunk Bytes as they came; the chunk is not modified.
   * @returns What to write now (it may be `chunk` itself, or empty).
   */
  push(chunk: Uint8Array): Uint8Array {
    let data = chunk;
    if (this.#held.length > 0) {
      data = new Uint8Array(this.#held.length + chunk.length);
      data.set(this.#held);
      data.set(chunk, this.#held.length);
    }
    let end = incompleteTail(data);
    if (end === data.length && data[end - 1] === CR) end--;
    this.#held = data.slice(end);
    return escapeBytes(end === data.length ? data : data.subarray(0, end));
  }

  /**
   * Ends the stream: what was held is shown as it stands (`^M`, `<E2>`).
   *
   * @returns What to write last.
   */
  end(): Uint8Array {
    const held = this.#held;
    this.#held = new Uint8Array(0);
    if (held.length === 0) return held;
    let text = "";
    for (const b of held) {
      text += b === CR ? "^M" : `<${b.toString(16).toUpperCase()}>`;
    }
    return encoder.encode(text);
  }
}

/**
 * A `TransformStream` that applies {@linkcode TerminalEscaper} to the bytes
 * going through it.
 *
 * @returns The stream; pipe a peer's bytes through it to a terminal.
 *
 * @example Escaping on the way to a terminal
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { terminalEscapeStream } from "./escape.ts";
 *
 * const input = ReadableStream.from([new TextEncoder().encode("a\x1b[6n")]);
 * const text = await new Response(input.pipeThrough(terminalEscapeStream()))
 *   .text();
 * assertEquals(text, "a^[[6n");
 * ```
 */
export function terminalEscapeStream(): TransformStream<
  Uint8Array,
  Uint8Array
> {
  const escaper = new TerminalEscaper();
  return new TransformStream({
    transform(chunk, controller): void {
      const out = escaper.push(chunk);
      if (out.length > 0) controller.enqueue(out);
    },
    flush(controller): void {
      const out = escaper.end();
      if (out.length > 0) controller.enqueue(out);
    },
  });
}

/** Escapes whole bytes (the caller keeps a cut tail back). */
function escapeBytes(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < data.length;) {
    const b = data[i]!;
    let shown: string | undefined;
    let length = 1;
    if (b < 0x20) {
      if (b === CR && data[i + 1] === LF) length = 2;
      else if (b !== 0x09 && b !== LF) shown = visibleControl(b);
    } else if (b === 0x7f) {
      shown = "^?";
    } else if (b >= 0x80) {
      length = utf8Sequence(data, i);
      // Cut off here means invalid: the byte after it, held back, is not a
      // continuation byte.
      if (length === UTF8_INVALID || length === UTF8_INCOMPLETE) {
        length = 1;
        shown = `<${b.toString(16).toUpperCase()}>`;
      } else if (b === 0xc2 && data[i + 1]! < 0xa0) {
        // C2 80 to C2 9F: U+0080 to U+009F.
        shown = visibleControl(data[i + 1]!);
      }
    }
    if (shown !== undefined) {
      parts.push(data.subarray(start, i), encoder.encode(shown));
      start = i + length;
    }
    i += length;
  }
  if (parts.length === 0) return data;
  parts.push(data.subarray(start));
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// Not printable in a log line: controls, format characters, surrogates,
// private use, unassigned, and separators other than the ASCII space.
const LOG_UNSAFE = /[\p{C}\p{Z}]/u;

/** One code point as it appears in a log field. */
function logCodePoint(c: string): string {
  switch (c) {
    case "\\":
      return "\\\\";
    case '"':
      return '\\"';
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    case " ":
      return c;
  }
  if (!LOG_UNSAFE.test(c)) return c;
  const code = c.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) {
    return `\\x${code.toString(16).padStart(2, "0")}`;
  }
  return `\\u{${code.toString(16)}}`;
}

/**
 * Escapes a string a peer controls (a Unix socket path, a TLS server name,
 * a PROXY header field) for a log line: the result is one line of printable
 * text with no escape sequence in it. Backslash and double quote are
 * escaped, so the result can be put in double quotes unambiguously.
 *
 * @param value The string, or raw bytes (bytes that are not valid UTF-8
 * come out as `\xHH`; code points as `\u{HHHH}`).
 * @returns The escaped text.
 *
 * @example A forged log line stays in its field
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { escapeLogField } from "./escape.ts";
 *
 * assertEquals(
 *   escapeLogField("/tmp/s\n\x1b[2K2026 accepted from \"admin\""),
 *   '/tmp/s\\n\\x1b[2K2026 accepted from \\"admin\\"',
 * );
 * assertEquals(escapeLogField(new Uint8Array([0x61, 0xff])), "a\\xff");
 * assertEquals(escapeLogField("caf\u00e9 \u202e"), "caf\u00e9 \\u{202e}");
 * ```
 */
export function escapeLogField(value: string | Uint8Array): string {
  if (typeof value === "string") {
    let out = "";
    for (const c of value) out += logCodePoint(c);
    return out;
  }
  let out = "";
  const decoder = new TextDecoder();
  for (let i = 0; i < value.length;) {
    const length = utf8Sequence(value, i);
    if (length <= 0) {
      out += `\\x${value[i]!.toString(16).padStart(2, "0")}`;
      i++;
    } else {
      out += logCodePoint(decoder.decode(value.subarray(i, i + length)));
      i += length;
    }
  }
  return out;
}
