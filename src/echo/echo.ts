// Copyright the deno-echo authors. MIT license.

import { closeQuietly } from "../net/close.ts";
import { countConnection, fairTurn } from "./fair_turn.ts";
import { watchIdle } from "./idle_sweeper.ts";
import { DEFAULT_QUIT_WORD, QuitWordScanner } from "./quit_word.ts";

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

/** Smallest read buffer: what an idle connection holds while it waits. */
export const MIN_BUFFER_SIZE = 512;
/** Largest read buffer, reached after reads that fill the buffer. */
export const MAX_BUFFER_SIZE = 64 * 1024;
/** Small reads in a row after which a grown buffer shrinks back. */
const SHRINK_AFTER = 8;
/** Most buffers kept in {@linkcode idleBuffers}. */
const IDLE_BUFFER_POOL = 256;
/**
 * First buffers of `Deno.Conn` echoes, given back by the ones that ended: at
 * thousands of short connections a second, allocating each (an ArrayBuffer
 * with memory outside the JS heap, which the GC must track) was a measurable
 * part of the cost of a connection. Only the conn path uses it: a BYOB
 * stream takes its buffers away.
 */
const idleBuffers: Uint8Array[] = [];

/**
 * Echoes every byte read from a stream back to it, unchanged, until the peer
 * ends its side, sends the quit line, the signal aborts, a limit is reached,
 * or I/O fails; then closes the stream. Never rejects: failures are reported
 * in the result.
 *
 * Design, and why:
 * - One read buffer per connection, and each chunk is written in full before
 *   the next read, so a peer that sends without reading stalls on TCP flow
 *   control instead of growing our memory: at most one buffer is ever held.
 * - The buffer adapts: it starts at {@linkcode MIN_BUFFER_SIZE} (an idle
 *   connection's pending read holds it, so 10,000 idle clients cost little),
 *   doubles after each read that fills it, up to {@linkcode MAX_BUFFER_SIZE}
 *   (fewer, larger writes under bulk load), and shrinks back after a run of
 *   small reads.
 * - With a `Deno.Conn` the loop calls `conn.read`/`conn.write` directly.
 *   Measured on loopback with one server core: 64-byte ping-pong over 50
 *   connections ran at ~45k round trips/s through `readable`/`writable`
 *   (BYOB reader plus writer) and ~140k/s with direct calls; bulk streaming
 *   ~720 vs ~2200 MB/s. Any other pair of web streams is read with a BYOB
 *   reader when it is a byte stream, else with a default reader.
 * - The quit-word scan keeps two numbers between chunks and jumps from
 *   newline to newline with `indexOf` once a line cannot match, so it costs
 *   next to nothing on bulk data and constant memory on any line length.
 *
 * @example Echo over an in-memory pair of streams
 * ```ts
 * import { echo } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * const received: Uint8Array[] = [];
 * const result = await echo({
 *   readable: ReadableStream.from([new TextEncoder().encode("hi\nBYE\nlost\n")]),
 *   writable: new WritableStream({ write: (chunk) => void received.push(chunk.slice()) }),
 * });
 * assertEquals(result.reason, "quit");
 * assertEquals(new TextDecoder().decode(received[0]), "hi\nBYE\n");
 * ```
 *
 * @param stream The connection to echo on; `echo` takes its reader and
 * writer locks (or calls its methods) and closes it before returning.
 * @param options Quit word, limits, cancellation and linger time.
 * @returns How many bytes were echoed and why it ended.
 */
export function echo(
  stream: EchoStream,
  options: EchoOptions = {},
): Promise<EchoResult> {
  return echoWith(stream, options);
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

/**
 * {@linkcode echo}, stoppable through `stopper` as well as `options.signal`.
 *
 * @param stream As for {@linkcode echo}.
 * @param options As for {@linkcode echo}.
 * @param stopper Gets its `stop` function set.
 * @returns As {@linkcode echo}.
 */
export async function echoWith(
  stream: EchoStream,
  options: EchoOptions,
  stopper?: EchoStopper,
): Promise<EchoResult> {
  const { signal, lingerTimeout = 1000, idleTimeout = 0, maxBytes = 0 } =
    options;
  const quitWord = options.quitWord === undefined
    ? DEFAULT_QUIT_WORD
    : options.quitWord;
  const scanner = quitWord === null ? null : new QuitWordScanner(quitWord);
  // A Deno.Conn is read and written by direct calls in the loop (no wrapper
  // promise per chunk); the port handles the rest (closing, other streams).
  const conn = hasConnMethods(stream) ? stream : undefined;
  const streams = conn ? undefined : new StreamPort(stream);
  const port: Port = conn ? new ConnPort(conn) : streams!;
  let bytes = 0;

  /** Why we stopped the stream ourselves, if we did. */
  let stopped: { reason: "aborted" | "idle"; error: unknown } | undefined;
  const stop = (reason: "aborted" | "idle", error: unknown): void => {
    stopped ??= { reason, error };
    port.abort(error);
  };
  const onAbort = (): void => stop("aborted", signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (stopper !== undefined) {
    stopper.stop = (reason) => stop("aborted", reason);
  }

  // Activity costs an increment; one shared timer per timeout value checks
  // every connection's activity count (see idle_sweeper.ts).
  const idle = idleTimeout > 0
    ? watchIdle(idleTimeout, (idleFor) =>
      stop(
        "idle",
        new Deno.errors.TimedOut(`Idle for ${Math.round(idleFor)} ms`),
      ))
    : { activity: 0, cancel(): void {} };

  if (conn) countConnection(1);
  const share = { turn: -1, reads: 0 };
  // See idleBuffers.
  let buffer = (conn && idleBuffers.pop()) || new Uint8Array(MIN_BUFFER_SIZE);
  try {
    let small = 0;
    while (true) {
      let value: Uint8Array | null;
      if (conn) {
        const wait = fairTurn(share);
        if (wait) await wait;
        const n = await conn.read(buffer);
        value = n === null ? null : buffer.subarray(0, n);
      } else {
        value = await streams!.read(buffer);
      }
      if (value === null) {
        if (stopped) return { bytes, ...stopped };
        await port.end();
        return { bytes, reason: "eof" };
      }
      idle.activity++;
      let cut = scanner === null ? -1 : scanner.scan(value);
      let reason: "quit" | "limit" = "quit";
      if (maxBytes > 0 && (cut < 0 ? value.length : cut) >= maxBytes - bytes) {
        cut = maxBytes - bytes;
        reason = "limit";
      }
      const chunk = cut < 0 ? value : value.subarray(0, cut);
      if (conn) {
        for (let off = 0; off < chunk.length;) {
          off += await conn.write(off === 0 ? chunk : chunk.subarray(off));
          idle.activity++;
        }
      } else {
        await streams!.write(chunk);
        idle.activity++;
      }
      bytes += chunk.length;
      if (cut >= 0) {
        idle.cancel();
        await port.lingeringClose(lingerTimeout);
        return { bytes, reason };
      }
      // Adapt the buffer to the traffic (see above). A BYOB read hands back
      // the buffer it was given, transferred: keep using that memory.
      const size = value.buffer.byteLength;
      let next = size;
      if (value.length === size) {
        next = Math.min(size * 2, MAX_BUFFER_SIZE);
        small = 0;
      } else if (value.length > MIN_BUFFER_SIZE) {
        small = 0;
      } else if (size > MIN_BUFFER_SIZE && ++small >= SHRINK_AFTER) {
        next = MIN_BUFFER_SIZE;
        small = 0;
      }
      if (next !== size) buffer = new Uint8Array(next);
      else if (value.buffer !== buffer.buffer) {
        buffer = new Uint8Array(value.buffer as ArrayBuffer);
      }
    }
  } catch (error) {
    if (stopped) return { bytes, ...stopped };
    port.abort(error);
    return { bytes, reason: "error", error };
  } finally {
    if (conn) {
      countConnection(-1);
      // No read is pending on it any more: the loop has ended.
      if (
        buffer.byteLength === MIN_BUFFER_SIZE &&
        idleBuffers.length < IDLE_BUFFER_POOL
      ) idleBuffers.push(buffer);
    }
    idle.cancel();
    signal?.removeEventListener("abort", onAbort);
    port.release();
  }
}

/** How the echo loop ends a connection, over a conn or over streams. */
interface Port {
  /** After EOF, everything echoed: close. */
  end(): Promise<void>;
  /**
   * After the quit line or a limit: end our side, then read and discard what
   * the peer still sends, for a bounded time, before closing. Closing a socket
   * with unread input makes the kernel send a reset, which can destroy the
   * echo still in flight.
   */
  lingeringClose(timeout: number): Promise<void>;
  /** Tears the connection down now; pending reads and writes fail. */
  abort(reason: unknown): void;
  /** Gives back locks. */
  release(): void;
}

type ConnLike =
  & EchoStream
  & Required<Pick<EchoStream, "read" | "write" | "close">>;

function hasConnMethods(stream: EchoStream): stream is ConnLike {
  return typeof stream.read === "function" &&
    typeof stream.write === "function" && typeof stream.close === "function";
}

class ConnPort implements Port {
  readonly #conn: ConnLike;
  #closed = false;

  constructor(conn: ConnLike) {
    this.#conn = conn;
  }

  end(): Promise<void> {
    this.#close();
    return Promise.resolve();
  }

  async lingeringClose(timeout: number): Promise<void> {
    if (this.#conn.closeWrite === undefined) return this.end();
    await this.#conn.closeWrite();
    const timer = setTimeout(() => this.#close(), timeout);
    try {
      const sink = new Uint8Array(MIN_BUFFER_SIZE);
      while (await this.#conn.read(sink) !== null) {
        // Discard.
      }
    } catch {
      // Closed by the timer, or a reset after our echo was sent.
    } finally {
      clearTimeout(timer);
      this.#close();
    }
  }

  abort(): void {
    this.#close();
  }

  release(): void {}

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}

class StreamPort implements Port {
  readonly #stream: EchoStream;
  readonly #reader:
    | ReadableStreamBYOBReader
    | ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #byob: boolean;

  constructor(stream: EchoStream) {
    this.#stream = stream;
    this.#byob = isByteStream(stream.readable);
    this.#reader = this.#byob
      ? stream.readable.getReader({ mode: "byob" })
      : stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
  }

  /** Reads into `buffer` (which may be transferred): the bytes, or null. */
  async read(buffer: Uint8Array): Promise<Uint8Array | null> {
    const { value, done } = this.#byob
      ? await (this.#reader as ReadableStreamBYOBReader).read(buffer)
      : await (this.#reader as ReadableStreamDefaultReader<Uint8Array>)
        .read();
    return done || value === undefined ? null : value;
  }

  /** Writes all of `chunk`. */
  write(chunk: Uint8Array): Promise<void> {
    return this.#writer.write(chunk);
  }

  end(): Promise<void> {
    return this.#writer.close();
  }

  async lingeringClose(timeout: number): Promise<void> {
    if (this.#stream.closeWrite === undefined) {
      await this.#writer.close();
      await this.#reader.cancel();
      return;
    }
    await this.#writer.ready;
    this.#writer.releaseLock();
    await this.#stream.closeWrite();
    const timer = setTimeout(
      () => this.#reader.cancel().catch(() => {}),
      timeout,
    );
    try {
      let buffer = new Uint8Array(MIN_BUFFER_SIZE);
      while (true) {
        const value = await this.read(buffer);
        if (value === null) break;
        buffer = new Uint8Array(value.buffer as ArrayBuffer);
      }
    } catch {
      // A reset after our echo was sent: nothing left to protect.
    } finally {
      clearTimeout(timer);
    }
    await this.#reader.cancel().catch(() => {});
  }

  abort(reason: unknown): void {
    this.#reader.cancel(reason).catch(() => {});
    this.#writer.abort(reason).catch(() => {});
  }

  release(): void {
    this.#reader.releaseLock();
    this.#writer.releaseLock();
  }
}

function isByteStream(readable: ReadableStream<Uint8Array>): boolean {
  try {
    readable.getReader({ mode: "byob" }).releaseLock();
    return true;
  } catch {
    return false;
  }
}
