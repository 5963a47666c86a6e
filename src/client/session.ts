// Copyright the deno-echo authors. MIT license.

import { closeQuietly } from "../net/close.ts";
import { DEFAULT_QUIT_WORD, QuitWordScanner } from "../echo/quit_word.ts";

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = new Uint8Array([LF]);
const encoder = new TextEncoder();

/** Options for {@linkcode runSession}. */
export interface SessionOptions {
  /**
   * `"lines"`: input is text lines; `\r\n` becomes `\n`, a last line without
   * a newline gets one, and input stops after the quit line. `"raw"`: bytes
   * go through untouched.
   *
   * @default {"lines"}
   */
  mode?: "lines" | "raw";
  /**
   * Print `prompt` to `output` and wait for each line's echo before reading
   * the next line: the textbook conversation. Otherwise input is sent as
   * fast as the connection takes it.
   *
   * @default {false}
   */
  interactive?: boolean;
  /**
   * In `"lines"` mode, input stops after a line that says this word; `null`
   * sends everything.
   *
   * @default {"BYE"}
   */
  quitWord?: string | null;
  /**
   * What `interactive` prints before each line.
   *
   * @default {"> "}
   */
  prompt?: string;
  /**
   * Compare every echoed byte with what was sent; a difference ends the
   * session with {@linkcode EchoMismatchError}. Costs memory for the bytes
   * in flight only.
   *
   * @default {false}
   */
  verify?: boolean;
  /**
   * Give up with {@linkcode EchoTimeoutError} when echoes are due (or a
   * send is blocked) and nothing has moved for this many milliseconds. Time
   * spent waiting for input does not count. 0 waits forever.
   *
   * @default {0}
   */
  readTimeout?: number;
}

/** What a session sent and got back. */
export interface SessionResult {
  /** Bytes sent to the server. */
  sent: number;
  /** Bytes echoed back (and written to the output). */
  echoed: number;
  /** Lines sent (newlines counted). */
  linesSent: number;
  /** Lines echoed back (newlines counted). */
  linesEchoed: number;
  /** The output stopped taking data (for example a closed pipe). */
  outputClosed: boolean;
}

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

/**
 * Raised when an echoed byte differs from the byte sent.
 *
 * @example Catch a corrupted echo
 * ```ts
 * import { EchoMismatchError } from "@deno-echo/echo/client";
 * import { assert } from "@std/assert";
 *
 * const error = new EchoMismatchError(5, 0x61, 0x62);
 * assert(error.message.includes("byte 5"));
 * ```
 */
export class EchoMismatchError extends Error {
  /** Offset of the first differing byte in the stream, from 0. */
  readonly offset: number;

  /**
   * Makes the error for one differing byte.
   *
   * @param offset Where in the stream, from 0.
   * @param expected The byte sent; `undefined` when more came back than
   * was sent.
   * @param actual The byte echoed.
   */
  constructor(offset: number, expected: number | undefined, actual: number) {
    const hex = (byte: number): string =>
      `0x${byte.toString(16).padStart(2, "0")}`;
    super(
      expected === undefined
        ? `Echo has more bytes than were sent: byte ${offset} (${
          hex(actual)
        }) was never sent`
        : `Echo differs from what was sent at byte ${offset}: sent ${
          hex(expected)
        }, got ${hex(actual)}`,
    );
    this.name = "EchoMismatchError";
    this.offset = offset;
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

/**
 * Runs a client session: input goes to the connection, the echo goes to the
 * output, until the input ends (then the connection is half-closed) or its
 * quit line is sent, and every byte sent has been echoed. Memory stays
 * constant whatever the input: data is streamed chunk by chunk, with TCP
 * flow control as the back-pressure.
 *
 * @example Pipe lines through a server
 * ```ts
 * import { runSession } from "@deno-echo/echo/client";
 * import { dial, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * using conn = await dial(server.addrs[0]!);
 * let text = "";
 * const result = await runSession(
 *   conn,
 *   ReadableStream.from([new TextEncoder().encode("a\r\nb\nBYE\nnot sent\n")]),
 *   new WritableStream({ write: (c) => void (text += new TextDecoder().decode(c)) }),
 * );
 * assertEquals(text, "a\nb\nBYE\n");
 * assertEquals(result.linesEchoed, 3);
 * ```
 *
 * @param conn An open connection; it is closed when the session ends.
 * @param input What to send (standard input, say).
 * @param output Where the echo goes (standard output, say); not closed.
 * @param options Lines or raw, interactive, quit word and prompt.
 * @returns What was sent and echoed.
 * @throws {IncompleteEchoError} If the server closed the connection before
 * echoing everything sent.
 * @throws {Deno.errors.ConnectionReset} If the server reset the connection.
 */
export async function runSession(
  conn: Deno.Conn,
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
  options: SessionOptions = {},
): Promise<SessionResult> {
  const {
    mode = "lines",
    interactive = false,
    prompt = "> ",
    verify = false,
    readTimeout = 0,
  } = options;
  const quitWord = options.quitWord === undefined
    ? DEFAULT_QUIT_WORD
    : options.quitWord;
  const result: SessionResult = {
    sent: 0,
    echoed: 0,
    linesSent: 0,
    linesEchoed: 0,
    outputClosed: false,
  };
  let quitSent = false;
  const source = mode === "lines"
    ? input.pipeThrough(normalizeLines(quitWord, () => quitSent = true))
    : input;
  const inputReader = source.getReader();
  const echoReader = conn.readable.getReader();
  const outputWriter = output.getWriter();

  let sending = true;
  let receiving = true;
  /** The input ended by itself (not cut off by the server closing). */
  let inputEnded = false;
  /** A reset seen while sending, reported if echoes are missing. */
  let reset: Error | undefined;
  /** Set when the session is cut short by a timeout or a bad echo. */
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    receiving = false;
    // Closing ends the pending read and any write blocked on a stalled peer.
    echoReader.cancel().catch(() => {});
    inputReader.cancel().catch(() => {});
  };

  // Bytes sent and not yet echoed, kept only to verify the echo.
  const inFlight: Uint8Array[] = [];
  let inFlightOffset = 0;
  const check = (echoed: Uint8Array, streamOffset: number): void => {
    for (let i = 0; i < echoed.length;) {
      const head = inFlight[0];
      if (head === undefined) {
        // More echoed than sent: compare against nothing.
        return fail(
          new EchoMismatchError(streamOffset + i, undefined, echoed[i]!),
        );
      }
      const n = Math.min(head.length - inFlightOffset, echoed.length - i);
      for (let k = 0; k < n; k++) {
        if (head[inFlightOffset + k] !== echoed[i + k]) {
          return fail(
            new EchoMismatchError(
              streamOffset + i + k,
              head[inFlightOffset + k]!,
              echoed[i + k]!,
            ),
          );
        }
      }
      i += n;
      inFlightOffset += n;
      if (inFlightOffset === head.length) {
        inFlight.shift();
        inFlightOffset = 0;
      }
    }
  };

  // The read timeout: one timer, re-armed only when it fires early.
  let writing = false;
  let lastProgress = performance.now();
  let stallTimer: ReturnType<typeof setTimeout> | undefined;
  const checkStall = (): void => {
    const waiting = writing || result.echoed < result.sent;
    const quietFor = performance.now() - lastProgress;
    if (waiting && quietFor >= readTimeout) {
      return fail(
        new EchoTimeoutError(readTimeout, result.sent - result.echoed),
      );
    }
    stallTimer = setTimeout(
      checkStall,
      waiting ? readTimeout - quietFor : readTimeout,
    );
  };
  if (readTimeout > 0) stallTimer = setTimeout(checkStall, readTimeout);
  /** Wakes the sender when the echo catches up (interactive mode). */
  let caughtUp: (() => void) | undefined;
  const notify = (): void => {
    caughtUp?.();
    caughtUp = undefined;
  };

  const receive = async (): Promise<void> => {
    try {
      while (sending || result.echoed < result.sent) {
        const { value, done } = await echoReader.read();
        if (done) break;
        lastProgress = performance.now();
        if (verify) {
          check(value, result.echoed);
          if (failure) break;
        }
        result.echoed += value.length;
        result.linesEchoed += countNewlines(value);
        try {
          await outputWriter.write(value);
        } catch {
          result.outputClosed = true;
          break;
        }
        notify();
      }
    } finally {
      receiving = false;
      notify();
      inputReader.cancel().catch(() => {});
    }
  };

  const transmit = async (data: Uint8Array): Promise<void> => {
    // Echoes of this data may arrive before the write returns.
    if (verify) inFlight.push(data);
    lastProgress = performance.now();
    writing = true;
    await writeAll(conn, data);
    writing = false;
    lastProgress = performance.now();
    result.sent += data.length;
    result.linesSent += countNewlines(data);
  };

  const send = async (): Promise<void> => {
    try {
      if (interactive) await outputWriter.write(encoder.encode(prompt));
      while (receiving) {
        const { value, done } = await inputReader.read();
        if (done || !receiving) {
          // Input ended by itself, not because the server went away.
          if (done && receiving) inputEnded = true;
          // End of input at a prompt (Ctrl-D): end the prompt's line.
          if (done && interactive && receiving && !quitSent) {
            await outputWriter.write(NEWLINE);
          }
          break;
        }
        if (!interactive) {
          await transmit(value);
          continue;
        }
        // The conversation: one line at a time, each echoed before the
        // prompt for the next. Chunks carry any number of lines.
        for (let start = 0; start < value.length && receiving;) {
          const newline = value.indexOf(LF, start);
          const end = newline < 0 ? value.length : newline + 1;
          await transmit(value.subarray(start, end));
          start = end;
          if (newline < 0) break;
          while (receiving && result.echoed < result.sent) {
            await new Promise<void>((resolve) => caughtUp = resolve);
          }
          // The quit line is the last thing the filter lets through.
          const quitLine = quitSent && end === value.length;
          if (receiving && !quitLine) {
            await outputWriter.write(encoder.encode(prompt));
          }
        }
      }
    } catch (error) {
      // The server went away mid-send (the receiver reports how much was
      // lost), or the session failed and closed the connection.
      if (!isConnectionClosed(error) && failure === undefined) throw error;
      if (error instanceof Deno.errors.ConnectionReset) reset = error;
    } finally {
      sending = false;
      await conn.closeWrite?.().catch(() => {});
      if (result.echoed >= result.sent) echoReader.cancel().catch(() => {});
    }
  };

  try {
    const [received, sent] = await Promise.allSettled([receive(), send()]);
    if (failure) throw failure;
    if (sent.status === "rejected") throw sent.reason;
    if (received.status === "rejected") {
      // A reset is reported as such; other ways of losing the connection
      // mean it closed before echoing everything.
      const reason = received.reason;
      if (
        !(reason instanceof Deno.errors.ConnectionReset) &&
        isConnectionClosed(reason) && result.echoed < result.sent
      ) {
        throw new IncompleteEchoError(result, { cause: reason });
      }
      throw reason;
    }
    if (result.outputClosed) return result;
    if (result.echoed < result.sent) {
      throw reset ?? new IncompleteEchoError(result);
    }
    // Everything sent was echoed, but the server closed before the input
    // was all sent (a server at its connection limit, say).
    if (!inputEnded && !quitSent) throw new IncompleteEchoError(result);
    return result;
  } finally {
    clearTimeout(stallTimer);
    echoReader.releaseLock();
    outputWriter.releaseLock();
    closeQuietly(conn);
  }
}

/**
 * The `"lines"` input filter: `\r\n` to `\n`, a final newline added when
 * missing, and the stream ended right after the quit line. Constant memory.
 */
function normalizeLines(
  quitWord: string | null,
  onQuit: () => void,
): TransformStream<Uint8Array, Uint8Array> {
  const scanner = quitWord === null ? null : new QuitWordScanner(quitWord);
  let heldCR = false;
  let last = LF;
  return new TransformStream({
    transform(chunk, controller): void {
      const cut = scanner?.scan(chunk) ?? -1;
      const part = cut < 0 ? chunk : chunk.subarray(0, cut);
      if (part.length === 0) return;
      const out = stripCRs(part, heldCR);
      heldCR = part[part.length - 1] === CR;
      const body = heldCR ? out.subarray(0, out.length - 1) : out;
      if (body.length > 0) {
        controller.enqueue(body);
        last = body[body.length - 1]!;
      }
      if (cut >= 0) {
        onQuit();
        controller.terminate();
      }
    },
    flush(controller): void {
      // A lone `\r` at the very end is that line's ending.
      if (heldCR || last !== LF) controller.enqueue(NEWLINE);
    },
  });
}

/**
 * Copies a chunk without each `\r` that comes right before a `\n`; a `\r`
 * held back from the previous chunk is put back unless a `\n` follows.
 */
function stripCRs(chunk: Uint8Array, heldCR: boolean): Uint8Array {
  const restoreCR = heldCR && chunk[0] !== LF;
  if (!restoreCR && chunk.indexOf(CR) < 0) return chunk;
  const out = new Uint8Array(chunk.length + 1);
  let n = 0;
  if (restoreCR) out[n++] = CR;
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i]!;
    if (byte === CR && chunk[i + 1] === LF) continue;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

function countNewlines(chunk: Uint8Array): number {
  let count = 0;
  for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
    count++;
  }
  return count;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) {
    off += await conn.write(data.subarray(off));
  }
}

function isConnectionClosed(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.BadResource;
}
