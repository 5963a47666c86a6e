// Copyright the deno-echo authors. MIT license.

// The types of the echo core, shared by its two loops (conn_loop.ts,
// stream_loop.ts) and re-exported by echo.ts.

/**
 * A two-way byte stream: a `Deno.Conn`, or any pair of web streams.
 *
 * When `read`, `write` and `close` are present (as on every `Deno.Conn`), the
 * echo calls them directly instead of going through the web streams: a
 * measured 3x more round trips per second (see the comment on
 * {@linkcode echo}). `closeWrite` is used when present (TCP and Unix
 * connections have it) to send end-of-stream after the quit line while still
 * draining what the peer sends.
 */
export interface EchoStream {
  /** Bytes from the peer. A byte stream (BYOB-capable) is read most cheaply. */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Bytes to the peer. Must be done with a chunk when its `write()` settles
   * (true of Deno connections, files and stdio), because the echo reuses the
   * chunk's buffer for the next read.
   */
  readonly writable: WritableStream<Uint8Array>;
  /** Half-closes the connection: the peer sees end-of-stream. */
  closeWrite?(): Promise<void>;
  /** Reads into a buffer, as `Deno.Conn.read`: bytes read, `null` at EOF. */
  read?(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of a buffer, as `Deno.Conn.write`: bytes written. */
  write?(data: Uint8Array): Promise<number>;
  /** Closes the connection, as `Deno.Conn.close`. */
  close?(): void;
}

/** Why an echo ended. */
export type EchoEndReason =
  /** The peer closed its side and everything it sent was echoed. */
  | "eof"
  /** The peer sent the quit line; it was echoed and the connection closed. */
  | "quit"
  /** Nothing was read or written for `idleTimeout` ms. */
  | "idle"
  /** `maxBytes` were echoed; the connection was closed. */
  | "limit"
  /** The `signal` was aborted. */
  | "aborted"
  /** Reading or writing failed, for example the peer reset the connection. */
  | "error";

/** The outcome of {@linkcode echo}. */
export interface EchoResult {
  /** Bytes echoed back to the peer. */
  bytes: number;
  /** Why the echo ended. */
  reason: EchoEndReason;
  /** The failure, when `reason` is `"error"`, `"aborted"` or `"idle"`. */
  error?: unknown;
}

/** Options for {@linkcode echo}. */
export interface EchoOptions {
  /**
   * Close the connection after echoing a line that says this word (surrounding
   * whitespace ignored). `null` turns detection off: a pure RFC 862 echo.
   *
   * @default {"BYE"}
   */
  quitWord?: string | null;
  /**
   * Stops the echo and closes the stream; the result has reason `"aborted"`.
   */
  signal?: AbortSignal;
  /**
   * How long to keep reading (and discarding) after the quit line's echo has
   * been sent and the write side shut down, so that unread input does not
   * turn the close into a reset that could destroy the echo in flight.
   * Milliseconds.
   *
   * @default {1000}
   */
  lingerTimeout?: number;
  /**
   * Close the connection when nothing has been read or written for this
   * many milliseconds (a slow peer that trickles bytes is not idle). 0 never
   * times out.
   *
   * @default {0}
   */
  idleTimeout?: number;
  /**
   * Echo at most this many bytes, then close the connection as after the
   * quit line. 0 means no limit.
   *
   * @default {0}
   */
  maxBytes?: number;
}

/**
 * A way to stop an echo without an `AbortSignal`, for servers that hold
 * many connections: an `AbortController` per connection costs ~1.4 kB of
 * memory (measured at 10,000 idle connections), a function ~100 B.
 */
export interface EchoStopper {
  /**
   * Set by {@linkcode echoWith} before it first waits: stops the echo with
   * reason `"aborted"` and the given error.
   */
  stop?: ((reason: unknown) => void) | undefined;
}
