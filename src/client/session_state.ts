// Copyright the deno-echo authors. MIT license.

// A client session's state, and its outcome as a function of that state.
// Each side of the session moves once, from its first state to a last one:
// the input side from "sending", the echo side from "receiving". A timeout
// or a bad echo ("failed") cuts the session short whatever the echo side
// had seen.

import { IncompleteEchoError } from "./session_errors.ts";
import type { SessionResult } from "./session_result.ts";

/** Where the input side of a session is. */
export type InputState =
  /** Input is being read and sent. */
  | { readonly name: "sending" }
  /** All of it was sent: the input ended, or its quit line went out. */
  | { readonly name: "sent" }
  /**
   * Stopped early: the echo side ended first (the server closed, say),
   * with input read and not sent, or more input presumed to follow.
   */
  | { readonly name: "stopped" }
  /**
   * Stopped at a prompt: the echo side ended while an interactive session
   * waited for the next line, with nothing read and not sent.
   */
  | { readonly name: "idle" }
  /** A write failed because the connection went away. */
  | { readonly name: "lost"; readonly error: unknown }
  /** Something else failed: reading the input, or writing a prompt. */
  | { readonly name: "crashed"; readonly error: unknown };

/** Where the echo side of a session is. */
export type EchoState =
  /** Echoes are being read and written to the output. */
  | { readonly name: "receiving" }
  /** Stopped reading: the server closed, or nothing more is due. */
  | { readonly name: "ended" }
  /** The output stopped taking data (a closed pipe, say): its write threw `error`. */
  | { readonly name: "outputClosed"; readonly error?: unknown }
  /** Cut short: a read timeout, or an echo that differs from what was sent. */
  | { readonly name: "failed"; readonly error: Error }
  /** A read failed. */
  | { readonly name: "lost"; readonly error: unknown };

/** Both sides of a session. */
export interface SessionState {
  /** The input side. */
  readonly input: InputState;
  /** The echo side. */
  readonly echo: EchoState;
}

/** How a session ended: with its counts, or with an error to raise. */
export type SessionOutcome =
  | { readonly result: SessionResult }
  | { readonly error: unknown };

/**
 * Whether the echo side may move from `from` to `to`: once out of
 * "receiving", only to "failed", which cuts any session short.
 *
 * @param from The echo side's state now.
 * @param to The state it would move to.
 * @returns Whether the move happens.
 */
export function echoMoves(from: EchoState, to: EchoState): boolean {
  if (from.name === "receiving") return to.name !== "receiving";
  return to.name === "failed" && from.name !== "failed";
}

/**
 * The outcome of a finished session, from its state and counts alone.
 *
 * @param state Both sides, each in its last state.
 * @param result What was sent and echoed.
 * @returns The counts, or the error that ends the session.
 */
export function sessionOutcome(
  state: SessionState,
  result: SessionResult,
): SessionOutcome {
  const { input, echo } = state;
  if (echo.name === "failed") return { error: echo.error };
  if (input.name === "crashed") return { error: input.error };
  if (echo.name === "lost") {
    // A reset is reported as such; other ways of losing the connection
    // mean it closed before echoing everything.
    const closed = isConnectionClosed(echo.error) &&
      !(echo.error instanceof Deno.errors.ConnectionReset);
    return closed && result.echoed < result.sent
      ? { error: new IncompleteEchoError(result, { cause: echo.error }) }
      : { error: echo.error };
  }
  if (echo.name === "outputClosed") return { result };
  if (result.echoed < result.sent) {
    const reset = input.name === "lost" &&
      input.error instanceof Deno.errors.ConnectionReset;
    return { error: reset ? input.error : new IncompleteEchoError(result) };
  }
  // Everything sent was echoed, and the server closed while the user was
  // still to type: nothing was lost.
  if (input.name === "idle") {
    return { result: { ...result, closedByServer: true } };
  }
  // Everything sent was echoed, but the server closed before the input was
  // all sent (a server at its connection limit, say).
  if (input.name !== "sent") return { error: new IncompleteEchoError(result) };
  return { result };
}

/**
 * Whether an error means the connection is gone (closed, reset, or closed
 * by this side).
 *
 * @param error Anything thrown by a read or a write.
 * @returns Whether it is one of the connection-closed errors.
 */
export function isConnectionClosed(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.BadResource;
}
