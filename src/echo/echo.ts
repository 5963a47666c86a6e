// Copyright the deno-echo authors. MIT license.

// The echo's entry points. The work is done by one of two loops: the conn
// loop (conn_loop.ts) for anything with a `Deno.Conn`'s read/write/close, the
// stream loop (stream_loop.ts) for any other pair of web streams. Both cut
// where cut.ts says and end as echo_run.ts says.

import { type ConnLoopOptions, echoConn, isConnLike } from "./conn_loop.ts";
import { echoStreams } from "./stream_loop.ts";
import type {
  EchoOptions,
  EchoResult,
  EchoStopper,
  EchoStream,
} from "./types.ts";

export { MAX_BUFFER_SIZE, MIN_BUFFER_SIZE } from "./read_buffer.ts";
export type {
  EchoEndReason,
  EchoOptions,
  EchoResult,
  EchoStopper,
  EchoStream,
} from "./types.ts";

/**
 * Echoes every byte read from a stream back to it, unchanged, until the peer
 * ends its side, sends the quit line, the signal aborts, a limit is reached,
 * or I/O fails; then closes the stream. Failures are reported in the result:
 * it rejects only on invalid options or a locked stream, before it reads or
 * closes anything.
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
 * - The quit-word scan keeps two numbers between chunks (constant memory on
 *   any line length) and skips a line that cannot match to its newline. With
 *   a `Deno.Conn`, grown buffers live in a WebAssembly memory, read into and
 *   written from where they are, and scanned there with SIMD, 64 bytes a
 *   step: ~2 µs per 64 KiB of random bytes against ~18 µs in JavaScript.
 *   Other chunks of 128 bytes or more are copied there to be scanned: ~120
 *   ns for 1 KiB against ~460 ns in JavaScript.
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
 * @throws {TypeError} If the quit word is empty or contains whitespace, a
 * duration is not a number, or the stream's readable or writable is locked.
 * @throws {RangeError} If `idleTimeout` or `lingerTimeout` is not from 0 to
 * 2^31 - 1 ms, or `maxBytes` not a whole number, 0 or more.
 */
export function echo(
  stream: EchoStream,
  options: EchoOptions = {},
): Promise<EchoResult> {
  return echoWith(stream, options);
}

/**
 * {@linkcode echo}, stoppable through `stopper` as well as `options.signal`.
 *
 * @param stream As for {@linkcode echo}.
 * @param options As for {@linkcode echo}, and the conn loop's own.
 * @param stopper Gets its `stop` function set.
 * @returns As {@linkcode echo}.
 */
export function echoWith(
  stream: EchoStream,
  options: ConnLoopOptions,
  stopper?: EchoStopper,
): Promise<EchoResult> {
  return isConnLike(stream)
    ? echoConn(stream, options, stopper)
    : echoStreams(stream, options, stopper);
}
