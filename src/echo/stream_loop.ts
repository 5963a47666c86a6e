// Copyright the deno-echo authors. MIT license.

// The echo over any pair of web streams: a byte stream is read through a
// BYOB reader into a buffer adapted to the traffic, any other readable
// through a default reader; each chunk is written through the writer (which
// writes all of it) before the next read.
//
// Not a `pipeTo` chain through @std/streams transforms: the echo must cut at
// the exact byte its own scan finds (`LimitedBytesTransformStream` drops the
// whole chunk that crosses the limit, `ByteSliceStream` copies it), then
// half-close and linger on the same streams, which a chain does not give
// back (a transform that stops closes the writable and cancels the source);
// and `toByteStream` copies every chunk of a default stream.

import { EchoCut } from "./cut.ts";
import { checkEchoDurations, type EchoCloser, EchoRun } from "./echo_run.ts";
import { MIN_BUFFER_SIZE, ReadBuffer } from "./read_buffer.ts";
import type {
  EchoOptions,
  EchoResult,
  EchoStopper,
  EchoStream,
} from "./types.ts";

/**
 * The echo loop over a stream's `readable` and `writable`.
 *
 * @param stream The streams; their locks are taken, and given back closed.
 * @param options As for `echo()`.
 * @param stopper Gets its `stop` function set.
 * @returns How many bytes were echoed and why it ended; never rejects but
 * on an invalid quit word or a locked stream.
 */
export async function echoStreams(
  stream: EchoStream,
  options: EchoOptions,
  stopper?: EchoStopper,
): Promise<EchoResult> {
  checkEchoDurations(options);
  const cut = new EchoCut(options);
  const pair = new StreamPair(stream);
  const run = new EchoRun(pair, cut, options, stopper);
  const idle = run.idle;
  // Only a BYOB reader reads into our buffer; a default one hands out its own.
  const reads = pair.byob ? new ReadBuffer() : undefined;
  try {
    while (true) {
      const value = await pair.read(reads?.current);
      if (value === null) return await run.atEof();
      idle.activity++;
      const end = cut.find(value);
      const chunk = end < 0 ? value : value.subarray(0, end);
      await pair.write(chunk);
      idle.activity++;
      cut.bytes += chunk.length;
      if (end >= 0) return await run.atCut();
      reads?.afterRead(value);
    }
  } catch (error) {
    return run.failed(error);
  } finally {
    run.release();
  }
}

/** The reader and writer of a stream pair, and how to close them. */
class StreamPair implements EchoCloser {
  /** Whether the readable is read through a BYOB reader. */
  readonly byob: boolean;
  readonly #stream: EchoStream;
  readonly #reader:
    | ReadableStreamBYOBReader
    | ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  /**
   * Rejected when the echo is stopped: a write the sink never settles (one
   * that ignores its controller's abort signal) must not hold the echo.
   */
  readonly #stopped = Promise.withResolvers<never>();
  #isStopped = false;

  constructor(stream: EchoStream) {
    this.#stopped.promise.catch(() => {});
    this.#stream = stream;
    this.byob = isByteStream(stream.readable);
    this.#reader = this.byob
      ? stream.readable.getReader({ mode: "byob" })
      : stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
  }

  /**
   * Reads the next chunk: into `buffer` (which is transferred) with a BYOB
   * reader, else whatever the stream hands out.
   *
   * @returns The bytes, or null at the end.
   */
  async read(buffer: Uint8Array | undefined): Promise<Uint8Array | null> {
    const { value, done } = this.byob
      ? await (this.#reader as ReadableStreamBYOBReader).read(buffer!)
      : await (this.#reader as ReadableStreamDefaultReader<Uint8Array>)
        .read();
    return done || value === undefined ? null : value;
  }

  /**
   * Writes all of `chunk`. Once the echo is stopped, a write that does not
   * complete within a turn of the event loop is given up on.
   */
  async write(chunk: Uint8Array): Promise<void> {
    const written = this.#writer.write(chunk);
    try {
      await Promise.race([written, this.#stopped.promise]);
    } catch (error) {
      if (!this.#isStopped) throw error;
      // Stopped during the write: one that completes now still counts as
      // echoed; one the sink never settles must not hold the echo.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = await Promise.race([
        written.then(() => true, () => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(resolve, 0, false);
        }),
      ]);
      clearTimeout(timer);
      if (!done) throw error;
    }
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
    this.#isStopped = true;
    this.#stopped.reject(reason);
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
