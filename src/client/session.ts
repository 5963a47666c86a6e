// Copyright the deno-echo authors. MIT license.

import { closeQuietly } from "../net/close.ts";
import { DEFAULT_QUIT_WORD } from "../echo/quit_word.ts";
import { EchoVerifier } from "./echo_verifier.ts";
import { countNewlines, LF, LineFilter, NEWLINE } from "./line_input.ts";
import { type EchoMismatchError, EchoTimeoutError } from "./session_errors.ts";
import {
  DEFAULT_MAX_UNECHOED,
  type SessionOptions,
} from "./session_options.ts";
import type { SessionResult } from "./session_result.ts";
import {
  echoMoves,
  type EchoState,
  type InputState,
  isConnectionClosed,
  type SessionOutcome,
  sessionOutcome,
  type SessionState,
} from "./session_state.ts";
import { StallTimer } from "./stall_timer.ts";

export {
  type EchoMismatchContext,
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
} from "./session_errors.ts";
export type { SessionResult } from "./session_result.ts";
export {
  DEFAULT_MAX_UNECHOED,
  type SessionOptions,
} from "./session_options.ts";

const encoder = new TextEncoder();

/**
 * Runs a client session: input goes to the connection, the echo goes to the
 * output, until the input ends (then the connection is half-closed) or its
 * quit line is sent, and every byte sent has been echoed. Memory stays
 * constant whatever the input: data is streamed chunk by chunk, with TCP
 * flow control as the back-pressure, and at most `maxUnechoed` bytes (plus
 * one chunk) in flight.
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
 * @returns What was sent and echoed (`closedByServer` set when the server
 * closed an interactive session waiting at its prompt).
 * @throws {IncompleteEchoError} If the server closed the connection before
 * echoing everything sent.
 * @throws {RangeError} If `maxUnechoed` is not a whole number, 1 or more.
 * @throws {Deno.errors.ConnectionReset} If the server reset the connection.
 */
export async function runSession(
  conn: Deno.Conn,
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
  options: SessionOptions = {},
): Promise<SessionResult> {
  try {
    const outcome = await new Session(conn, input, output, options).run();
    if ("error" in outcome) throw outcome.error;
    return outcome.result;
  } finally {
    closeQuietly(conn);
  }
}

/**
 * One session: a sender (input to the connection) and a receiver (echo to
 * the output) running at once, each moving its side of the
 * {@linkcode SessionState} once; the outcome follows from that state.
 */
class Session {
  readonly #conn: Deno.Conn;
  readonly #interactive: boolean;
  readonly #prompt: Uint8Array;
  readonly #inputs: ReadableStreamDefaultReader<Uint8Array>;
  /** The lines filter; `undefined` in raw mode. */
  readonly #filter: LineFilter | undefined;
  readonly #maxUnechoed: number;
  readonly #echoes: ReadableStreamDefaultReader<Uint8Array>;
  readonly #output: WritableStreamDefaultWriter<Uint8Array>;
  readonly #verifier: EchoVerifier | undefined;
  readonly #stall: StallTimer | undefined;
  readonly #result: SessionResult = {
    sent: 0,
    echoed: 0,
    linesSent: 0,
    linesEchoed: 0,
    outputClosed: false,
  };
  #input: InputState = { name: "sending" };
  #echo: EchoState = { name: "receiving" };
  /** A prompt is the last thing written to the output. */
  #promptShown = false;
  /** Wakes the sender when the echo catches up (a line, or the window). */
  #caughtUp: (() => void) | undefined;

  constructor(
    conn: Deno.Conn,
    input: ReadableStream<Uint8Array>,
    output: WritableStream<Uint8Array>,
    options: SessionOptions,
  ) {
    const { mode = "lines", prompt = "> ", readTimeout = 0 } = options;
    const { maxUnechoed = DEFAULT_MAX_UNECHOED } = options;
    if (!Number.isSafeInteger(maxUnechoed) || maxUnechoed < 1) {
      throw new RangeError(
        `Invalid maxUnechoed ${maxUnechoed}: expected a whole number, 1 or more`,
      );
    }
    const quitWord = options.quitWord === undefined
      ? DEFAULT_QUIT_WORD
      : options.quitWord;
    this.#conn = conn;
    this.#interactive = options.interactive ?? false;
    this.#prompt = encoder.encode(prompt);
    this.#maxUnechoed = maxUnechoed;
    // Filtered as read: nothing is read before the session asks.
    this.#filter = mode === "lines" ? new LineFilter(quitWord) : undefined;
    this.#inputs = input.getReader();
    this.#echoes = conn.readable.getReader();
    this.#output = output.getWriter();
    this.#verifier = options.verify ? new EchoVerifier() : undefined;
    this.#stall = readTimeout > 0
      ? new StallTimer(
        readTimeout,
        () => this.#result.echoed < this.#result.sent,
        () => this.#fail(this.#timeoutError(readTimeout)),
      )
      : undefined;
  }

  /** The state both sides are in. */
  get state(): SessionState {
    return { input: this.#input, echo: this.#echo };
  }

  /** Runs both sides to their end and tells how the session ended. */
  async run(): Promise<SessionOutcome> {
    try {
      await Promise.all([this.#receive(), this.#send()]);
      return sessionOutcome(this.state, this.#result);
    } finally {
      this.#stall?.[Symbol.dispose]();
      this.#echoes.releaseLock();
      this.#output.releaseLock();
    }
  }

  get #receiving(): boolean {
    return this.#echo.name === "receiving";
  }

  /** Moves the echo side, and stops the sender once it has ended. */
  #endEcho(next: EchoState): void {
    if (!echoMoves(this.#echo, next)) return;
    this.#echo = next;
    if (next.name === "outputClosed") {
      this.#result.outputClosed = true;
      if (next.error !== undefined) this.#result.outputError = next.error;
    }
    this.#wake();
    this.#inputs.cancel().catch(() => {});
  }

  /** Cuts the session short (a timeout or a bad echo). */
  #fail(error: Error): void {
    this.#endEcho({ name: "failed", error });
    // Closing ends the pending read and any write blocked on a stalled peer.
    this.#echoes.cancel().catch(() => {});
  }

  #timeoutError(readTimeout: number): EchoTimeoutError {
    const { sent, echoed } = this.#result;
    return new EchoTimeoutError(readTimeout, sent - echoed);
  }

  #wake(): void {
    this.#caughtUp?.();
    this.#caughtUp = undefined;
  }

  /** The receiver: echoes to the output until nothing more is due. */
  async #receive(): Promise<void> {
    const result = this.#result;
    try {
      while (this.#input.name === "sending" || result.echoed < result.sent) {
        const { value, done } = await this.#echoes.read();
        if (done) break;
        this.#stall?.progress();
        const mismatch = this.#verifier?.check(value, result.echoed);
        if (mismatch !== undefined) {
          return await this.#mismatch(value, mismatch);
        }
        result.echoed += value.length;
        result.linesEchoed += this.#lines(value);
        try {
          await this.#output.write(value);
        } catch (error) {
          return this.#endEcho({ name: "outputClosed", error });
        }
        this.#wake();
      }
      this.#endEcho({ name: "ended" });
    } catch (error) {
      this.#endEcho({ name: "lost", error });
    }
  }

  /** Writes the lines of `chunk` that matched, then fails the session. */
  async #mismatch(chunk: Uint8Array, error: EchoMismatchError): Promise<void> {
    const matched = chunk.subarray(0, error.offset - this.#result.echoed);
    const lines = matched.subarray(0, matched.lastIndexOf(LF) + 1);
    if (lines.length > 0) {
      try {
        await this.#output.write(lines);
        this.#result.echoed += lines.length;
        this.#result.linesEchoed += this.#lines(lines);
      } catch {
        // The output is gone: the mismatch is still what ends the session.
      }
    }
    this.#fail(error);
  }

  /** The sender: input to the connection, then a half-close. */
  async #send(): Promise<void> {
    let end: InputState = { name: "stopped" };
    try {
      end = await this.#sendAll();
    } catch (error) {
      // The server went away mid-send (the receiver reports how much was
      // lost), or the session failed and closed the connection.
      end = isConnectionClosed(error)
        ? { name: "lost", error }
        : { name: "crashed", error };
    } finally {
      this.#input = end;
      // After the quit line, the rest of the input is not wanted.
      this.#inputs.cancel().catch(() => {});
      await this.#conn.closeWrite?.().catch(() => {});
      const { echoed, sent } = this.#result;
      if (echoed >= sent) this.#echoes.cancel().catch(() => {});
    }
  }

  /** Sends the input while the echo side goes on; says how it ended. */
  async #sendAll(): Promise<InputState> {
    if (this.#interactive) await this.#writePrompt();
    while (this.#receiving) {
      await this.#windowOpen();
      if (!this.#receiving) break;
      const { value, done } = await this.#inputs.read();
      if (!this.#receiving) {
        // Input read and not sent.
        if (!done) return { name: "stopped" };
        break;
      }
      if (done) {
        const tail = this.#filter?.end();
        if (tail !== undefined && tail.length > 0) {
          await this.#sendChunk(tail, false);
        }
        // End of input at a prompt (Ctrl-D): end the prompt's line.
        if (this.#interactive && this.#prompt.length > 0) {
          await this.#output.write(NEWLINE);
        }
        return { name: "sent" };
      }
      const chunk = this.#filter === undefined
        ? value
        : this.#filter.push(value);
      // The quit line is the last thing the lines filter lets through.
      const last = this.#filter?.quit ?? false;
      // Not whole: the echo side ended with part of the chunk unsent.
      if (!await this.#sendChunk(chunk, last)) return { name: "stopped" };
      if (last) return { name: "sent" };
    }
    // The echo side ended with nothing read and unsent. Off a prompt, more
    // input is presumed to follow; at a prompt nothing is lost (the prompt's
    // line is ended).
    if (!this.#interactive) return { name: "stopped" };
    if (this.#promptShown) await this.#output.write(NEWLINE).catch(() => {});
    return { name: "idle" };
  }

  /** Sends a chunk: as a conversation, or all at once. Whether all went. */
  async #sendChunk(chunk: Uint8Array, last: boolean): Promise<boolean> {
    if (this.#interactive) return await this.#converse(chunk, last);
    await this.#transmit(chunk);
    return true;
  }

  /** Waits while `maxUnechoed` bytes or more are due. */
  async #windowOpen(): Promise<void> {
    const result = this.#result;
    while (
      this.#receiving && result.sent - result.echoed >= this.#maxUnechoed
    ) {
      await new Promise<void>((resolve) => this.#caughtUp = resolve);
    }
  }

  async #writePrompt(): Promise<void> {
    if (this.#prompt.length === 0) return;
    await this.#output.write(this.#prompt);
    this.#promptShown = true;
  }

  /**
   * The conversation: one line at a time, each echoed before the prompt for
   * the next. Chunks carry any number of lines.
   *
   * @returns Whether all of the chunk was sent.
   */
  async #converse(chunk: Uint8Array, last: boolean): Promise<boolean> {
    let start = 0;
    while (start < chunk.length && this.#receiving) {
      const newline = chunk.indexOf(LF, start);
      const end = newline < 0 ? chunk.length : newline + 1;
      await this.#transmit(chunk.subarray(start, end));
      start = end;
      if (newline < 0) break;
      await this.#echoCaughtUp();
      const quitLine = last && end === chunk.length;
      if (this.#receiving && !quitLine) await this.#writePrompt();
    }
    return start === chunk.length;
  }

  async #echoCaughtUp(): Promise<void> {
    while (this.#receiving && this.#result.echoed < this.#result.sent) {
      await new Promise<void>((resolve) => this.#caughtUp = resolve);
    }
  }

  /** Lines in `bytes` to count: none in raw mode, where input is not lines. */
  #lines(bytes: Uint8Array): number {
    return this.#filter === undefined ? 0 : countNewlines(bytes);
  }

  async #transmit(data: Uint8Array): Promise<void> {
    // Echoes of this data may arrive before the write returns.
    this.#promptShown = false;
    this.#verifier?.expect(data);
    this.#stall?.writing(true);
    for (let off = 0; off < data.length;) {
      off += await this.#conn.write(data.subarray(off));
    }
    this.#stall?.writing(false);
    this.#result.sent += data.length;
    this.#result.linesSent += this.#lines(data);
  }
}
