// Copyright the deno-echo authors. MIT license.

// The options of a client session (`runSession`).

/**
 * The most bytes a session lets go unechoed before it stops reading its
 * input, unless told otherwise: 16 MiB, more than the socket buffers of
 * both ends hold on common systems, so a healthy echo is never held back.
 */
export const DEFAULT_MAX_UNECHOED = 16 * 1024 * 1024;

/** Options for `runSession`. */
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
   * What `interactive` prints before each line; `""` prints none (when the
   * input shows its own prompt, as a line editor does).
   *
   * @default {"> "}
   */
  prompt?: string;
  /**
   * Compare every echoed byte with what was sent; a difference ends the
   * session with `EchoMismatchError`. Costs memory for the bytes
   * in flight only.
   *
   * @default {false}
   */
  verify?: boolean;
  /**
   * Give up with `EchoTimeoutError` when echoes are due (or a
   * send is blocked) and nothing has moved for this many milliseconds. Time
   * spent waiting for input does not count. 0 waits forever.
   *
   * @default {0}
   */
  readTimeout?: number;
  /**
   * Stop reading the input while this many bytes or more are sent and not
   * yet echoed; read on as the echo catches up. This bounds the memory of
   * `verify`, and with a server that reads but never echoes, the sending
   * stops, so `readTimeout` runs out.
   *
   * @default {16777216}
   */
  maxUnechoed?: number;
}
