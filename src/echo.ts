// Copyright the deno-echo authors. MIT license.

import { DEFAULT_QUIT_WORD, QuitWordScanner } from "./quit_word.ts";

/**
 * A two-way byte stream: a `Deno.Conn`, or any pair of web streams.
 *
 * `closeWrite` is used when present (TCP and Unix connections have it) to send
 * end-of-stream after the quit line while still draining what the peer sends.
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
export const MIN_BUFFER_SIZE = 4 * 1024;
/** Largest read buffer, reached after reads that fill the buffer. */
export const MAX_BUFFER_SIZE = 64 * 1024;
/** Small reads in a row after which a grown buffer shrinks back. */
const SHRINK_AFTER = 8;

/**
 * Echoes every byte read from a stream back to it, unchanged, until the peer
 * ends its side, sends the quit line, the signal aborts, or I/O fails; then
 * closes the stream. Never rejects: failures are reported in the result.
 *
 * Design: one read buffer per connection, and each chunk is written in full
 * (`await writer.write`) before the next read, so a peer that sends without
 * reading stalls on TCP flow control instead of growing our memory: at most
 * one buffer is ever held. Reads are BYOB when the stream allows, into a
 * buffer that starts at {@linkcode MIN_BUFFER_SIZE} (cheap for idle
 * connections), doubles after each read that fills it up to
 * {@linkcode MAX_BUFFER_SIZE} (fewer, larger writes under load) and shrinks
 * back after a run of small reads. The quit-word scan is constant-memory and
 * jumps from newline to newline with `indexOf` once a line cannot match.
 *
 * @example Echo over an in-memory pair of streams
 * ```ts
 * import { echo } from "@deno-echo/echo";
 * import { deepEqual } from "node:assert/strict";
 *
 * const received: Uint8Array[] = [];
 * const result = await echo({
 *   readable: ReadableStream.from([new TextEncoder().encode("hi\nBYE\nlost\n")]),
 *   writable: new WritableStream({ write: (chunk) => void received.push(chunk.slice()) }),
 * });
 * deepEqual(result.reason, "quit");
 * deepEqual(new TextDecoder().decode(received[0]), "hi\nBYE\n");
 * ```
 *
 * @param stream The connection to echo on; `echo` takes its reader and
 * writer locks and closes it before returning.
 * @param options Quit word, limits, cancellation and linger time.
 * @returns How many bytes were echoed and why it ended.
 */
export async function echo(
  stream: EchoStream,
  options: EchoOptions = {},
): Promise<EchoResult> {
  const { signal, lingerTimeout = 1000, idleTimeout = 0, maxBytes = 0 } =
    options;
  const quitWord = options.quitWord === undefined
    ? DEFAULT_QUIT_WORD
    : options.quitWord;
  const scanner = quitWord === null ? null : new QuitWordScanner(quitWord);
  const readable = stream.readable;
  const writable = stream.writable;
  const byob = isByteStream(readable);
  const reader = byob
    ? readable.getReader({ mode: "byob" })
    : readable.getReader();
  const writer = writable.getWriter();
  let bytes = 0;

  /** Why we stopped the streams ourselves, if we did. */
  let stopped: { reason: "aborted" | "idle"; error: unknown } | undefined;
  const teardown = (error: unknown): void => {
    reader.cancel(error).catch(() => {});
    writer.abort(error).catch(() => {});
  };
  const stop = (reason: "aborted" | "idle", error: unknown): void => {
    stopped ??= { reason, error };
    teardown(error);
  };
  const onAbort = (): void => stop("aborted", signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort, { once: true });

  // One timer per connection, re-armed only when it fires early, so reads
  // and writes cost a clock read rather than a timer reset.
  let lastActivity = performance.now();
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const checkIdle = (): void => {
    const idleFor = performance.now() - lastActivity;
    if (idleFor >= idleTimeout) {
      stop(
        "idle",
        new Deno.errors.TimedOut(`Idle for ${Math.round(idleFor)} ms`),
      );
    } else {
      idleTimer = setTimeout(checkIdle, idleTimeout - idleFor);
    }
  };
  if (idleTimeout > 0) idleTimer = setTimeout(checkIdle, idleTimeout);

  try {
    let buffer = new ArrayBuffer(MIN_BUFFER_SIZE);
    let small = 0;
    while (true) {
      const { value, done } = byob
        ? await (reader as ReadableStreamBYOBReader).read(
          new Uint8Array(buffer),
        )
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      if (done || value === undefined) {
        if (stopped) return { bytes, ...stopped };
        await writer.close();
        return { bytes, reason: "eof" };
      }
      lastActivity = performance.now();
      let cut = scanner === null ? -1 : scanner.scan(value);
      let reason: "quit" | "limit" = "quit";
      if (maxBytes > 0 && (cut < 0 ? value.length : cut) >= maxBytes - bytes) {
        cut = maxBytes - bytes;
        reason = "limit";
      }
      const chunk = cut < 0 ? value : value.subarray(0, cut);
      await writer.write(chunk);
      lastActivity = performance.now();
      bytes += chunk.length;
      if (cut >= 0) {
        clearTimeout(idleTimer);
        await closeAfterQuit(stream, reader, writer, lingerTimeout);
        return { bytes, reason };
      }
      if (!byob) continue;
      // Adapt the buffer to the traffic (see above).
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
      buffer = next === size
        ? value.buffer as ArrayBuffer
        : new ArrayBuffer(next);
    }
  } catch (error) {
    if (stopped) return { bytes, ...stopped };
    teardown(error);
    return { bytes, reason: "error", error };
  } finally {
    clearTimeout(idleTimer);
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
    writer.releaseLock();
  }
}

/**
 * After the quit line: end our side, then read and discard what the peer still
 * sends, for a bounded time, before closing. Closing a socket with unread
 * input makes the kernel send a reset, which can destroy the echo in flight.
 */
async function closeAfterQuit(
  stream: EchoStream,
  reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  lingerTimeout: number,
): Promise<void> {
  if (stream.closeWrite === undefined) {
    await writer.close();
    await reader.cancel();
    return;
  }
  await writer.ready;
  writer.releaseLock();
  await stream.closeWrite();
  const timer = setTimeout(
    () => reader.cancel().catch(() => {}),
    lingerTimeout,
  );
  try {
    const sink = new ArrayBuffer(MIN_BUFFER_SIZE);
    let buffer = sink;
    while (true) {
      const { done, value } = reader instanceof ReadableStreamBYOBReader
        ? await reader.read(new Uint8Array(buffer))
        : await reader.read();
      if (done || value === undefined) break;
      buffer = value.buffer as ArrayBuffer;
    }
  } catch {
    // A reset after our echo was sent: nothing left to protect.
  } finally {
    clearTimeout(timer);
  }
  await reader.cancel().catch(() => {});
}

function isByteStream(readable: ReadableStream<Uint8Array>): boolean {
  try {
    readable.getReader({ mode: "byob" }).releaseLock();
    return true;
  } catch {
    return false;
  }
}
