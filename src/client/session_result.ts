// Copyright the deno-echo authors. MIT license.

/** What a session sent and got back. */
export interface SessionResult {
  /** Bytes sent to the server. */
  sent: number;
  /** Bytes echoed back (and written to the output). */
  echoed: number;
  /** Lines sent (newlines counted); 0 in raw mode, whose input is not lines. */
  linesSent: number;
  /** Lines echoed back (newlines counted); 0 in raw mode. */
  linesEchoed: number;
  /** The output stopped taking data (for example a closed pipe). */
  outputClosed: boolean;
  /**
   * What the output's write threw when it stopped taking data (a closed
   * pipe, a full disk), for a caller to tell them apart. Absent otherwise.
   */
  outputError?: unknown;
  /**
   * `true` when the server closed the connection while an interactive
   * session waited at its prompt, with everything sent echoed: nothing was
   * lost, but the session did not end by its input. Absent otherwise.
   */
  closedByServer?: boolean;
}
