// Copyright the deno-echo authors. MIT license.

import type { SessionResult } from "./session_result.ts";

/**
 * Raised when the server closes the connection before echoing everything
 * that was sent.
 *
 * @example Report what was lost
 * ```ts
 * import { IncompleteEchoError } from "@deno-echo/echo/client";
 * import { assert } from "@std/assert";
 *
 * const error = new IncompleteEchoError({ sent: 10, echoed: 4, linesSent: 2, linesEchoed: 1, outputClosed: false });
 * assert(error.message.includes("6 bytes"));
 * ```
 */
export class IncompleteEchoError extends Error {
  /** The counts at the moment the server closed. */
  readonly result: SessionResult;

  /**
   * Makes the error from the counts.
   *
   * @param result What was sent and echoed.
   * @param options The underlying error, if the connection failed.
   */
  constructor(result: SessionResult, options?: ErrorOptions) {
    const bytes = result.sent - result.echoed;
    const lines = result.linesSent - result.linesEchoed;
    super(
      bytes === 0
        ? `Server closed the connection before all the input was sent ` +
          `(${result.sent} bytes sent and echoed)`
        : `Server closed the connection before echoing everything: ${bytes} bytes` +
          (lines > 0 ? ` (${lines} of ${result.linesSent} lines)` : "") +
          " not echoed",
      options,
    );
    this.name = "IncompleteEchoError";
    this.result = result;
  }
}

/** Where an echo differs from what was sent, and the text around it. */
export interface EchoMismatchContext {
  /** The line the difference is on, from 1. */
  line: number;
  /** Its column on that line, in characters, from 1. */
  column: number;
  /** The bytes of that line just before the difference (a few at most). */
  before: Uint8Array;
  /** What was sent from the difference on (a few bytes, up to a newline). */
  sent: Uint8Array;
  /** What came back from the difference on (likewise). */
  got: Uint8Array;
}

const decoder = new TextDecoder();

/**
 * Bytes as a quoted string that is safe to print: controls, format
 * characters and line separators escaped, bytes that are not UTF-8 shown
 * as U+FFFD.
 */
function quoted(...parts: Uint8Array[]): string {
  const text = parts.map((p) => decoder.decode(p, { stream: true })).join("") +
    decoder.decode();
  return JSON.stringify(text).replace(
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}

/**
 * Raised when an echoed byte differs from the byte sent.
 *
 * @example Catch a corrupted echo
 * ```ts
 * import { EchoMismatchError } from "@deno-echo/echo/client";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new EchoMismatchError(5, 0x61, 0x62);
 * assert(error.message.includes("byte 5"));
 *
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * const where = new EchoMismatchError(9, 0x63, 0x58, {
 *   line: 2,
 *   column: 3,
 *   before: bytes("ab"),
 *   sent: bytes("cd\n"),
 *   got: bytes("Xd\n"),
 * });
 * assertEquals(
 *   where.message,
 *   'Echo differs from what was sent on line 2, column 3 (byte 9): sent "abcd\\n", got "abXd\\n"',
 * );
 * assertEquals(where.line, 2);
 * ```
 */
export class EchoMismatchError extends Error {
  /** Offset of the first differing byte in the stream, from 0. */
  readonly offset: number;
  /** The line of the first difference, from 1, when known. */
  readonly line: number | undefined;
  /** Its column in characters, from 1, when known. */
  readonly column: number | undefined;

  /**
   * Makes the error for one differing byte.
   *
   * @param offset Where in the stream, from 0.
   * @param expected The byte sent; `undefined` when more came back than
   * was sent.
   * @param actual The byte echoed.
   * @param context The line, column and text around the difference; the
   * message then shows them instead of the two bytes.
   */
  constructor(
    offset: number,
    expected: number | undefined,
    actual: number,
    context?: EchoMismatchContext,
  ) {
    const hex = (byte: number): string =>
      `0x${byte.toString(16).padStart(2, "0")}`;
    let message: string;
    if (context !== undefined) {
      const { line, column, before, sent, got } = context;
      const where = `line ${line}, column ${column} (byte ${offset})`;
      message = expected === undefined
        ? `Echo has more bytes than were sent: ${where} was never sent; got ${
          quoted(before, got)
        }`
        : `Echo differs from what was sent on ${where}: sent ${
          quoted(before, sent)
        }, got ${quoted(before, got)}`;
    } else {
      message = expected === undefined
        ? `Echo has more bytes than were sent: byte ${offset} (${
          hex(actual)
        }) was never sent`
        : `Echo differs from what was sent at byte ${offset}: sent ${
          hex(expected)
        }, got ${hex(actual)}`;
    }
    super(message);
    this.name = "EchoMismatchError";
    this.offset = offset;
    this.line = context?.line;
    this.column = context?.column;
  }
}

/**
 * Raised when the server stops responding: echoes are due and nothing has
 * arrived (and nothing could be sent) for `readTimeout` milliseconds.
 *
 * @example Tell a stalled server from a closed one
 * ```ts
 * import { EchoTimeoutError } from "@deno-echo/echo/client";
 * import { assert } from "@std/assert";
 *
 * assert(new EchoTimeoutError(1000, 42).message.includes("42 bytes"));
 * ```
 */
export class EchoTimeoutError extends Error {
  /**
   * Makes the error.
   *
   * @param timeout The limit that ran out, in ms.
   * @param pending Bytes sent and not yet echoed.
   */
  constructor(timeout: number, pending: number) {
    super(
      `Server stopped responding: nothing for ${timeout} ms with ${pending} bytes not echoed`,
    );
    this.name = "EchoTimeoutError";
  }
}
