// Copyright the deno-echo authors. MIT license.

// The echo over a `Deno.Conn` (or anything with its read/write/close): the
// loop calls `read` and `write` directly, with no promise of its own per
// chunk, for about three times the round trips of the stream loop (the
// figures are in the doc of `echo()`).

import { closeQuietly } from "../net/close.ts";
import { noDelay } from "../net/no_delay.ts";
import { EchoCut } from "./cut.ts";
import { checkEchoDurations, type EchoCloser, EchoRun } from "./echo_run.ts";
import { countConnection, type FairShare, fairTurn } from "./fair_turn.ts";
import { ReadBuffer, takePooledBuffer } from "./read_buffer.ts";
import type {
  EchoOptions,
  EchoResult,
  EchoStopper,
  EchoStream,
} from "./types.ts";

/** {@linkcode EchoOptions}, and what only the server's conn loop takes. */
export interface ConnLoopOptions extends EchoOptions {
  /**
   * Turn Nagle's algorithm off (`setNoDelay(true)`, where the connection
   * has it) before the second chunk is echoed. The first is never held
   * back by it (nothing of ours is in flight yet: it is one write, as the
   * first read is into a buffer of at most 64 bytes), so a connection that
   * echoes one chunk, as a health check's does, is spared the system call.
   * @default {false}
   */
  readonly noDelayAtSecondChunk?: boolean;
}

/** A stream with the read, write and close of a `Deno.Conn`. */
export type ConnLike =
  & EchoStream
  & Required<Pick<EchoStream, "read" | "write" | "close">>;

/**
 * Tells whether the conn loop can echo on a stream.
 *
 * @param stream The stream.
 * @returns Whether it has `read`, `write` and `close` methods.
 */
export function isConnLike(stream: EchoStream): stream is ConnLike {
  return typeof stream.read === "function" &&
    typeof stream.write === "function" && typeof stream.close === "function";
}

/**
 * The echo loop over a connection's own methods: reads shared out fairly
 * between connections (see fair_turn.ts), each chunk written in full before
 * the next read, in a buffer adapted to the traffic (in WebAssembly memory
 * once grown, while the pool lasts: see read_buffer.ts).
 *
 * @param conn The connection; closed before this returns.
 * @param options As for `echo()`.
 * @param stopper Gets its `stop` function set.
 * @returns How many bytes were echoed and why it ended; never rejects but
 * on an invalid quit word.
 */
export async function echoConn(
  conn: ConnLike,
  options: ConnLoopOptions,
  stopper?: EchoStopper,
): Promise<EchoResult> {
  checkEchoDurations(options);
  const cut = new EchoCut(options);
  // One object for the closer and the fair share: every object counts, per
  // idle connection.
  const closer = new ConnCloser(conn);
  const run = new EchoRun(closer, cut, options, stopper);
  const idle = run.idle;
  countConnection(1);
  // Grown buffers in the WebAssembly pool: read into, scanned and written
  // from where they are.
  const reads = new ReadBuffer(takePooledBuffer(), { wasm: true });
  // The last chunk's view, dropped before the next read waits: a view kept
  // in the suspended loop would be one more object per idle connection (the
  // read buffer keeps one only for reads of one length in a row).
  let value: Uint8Array = EMPTY;
  if (options.noDelayAtSecondChunk === true) closer.chunks = 0;
  try {
    while (true) {
      const wait = fairTurn(closer);
      if (wait) await wait;
      const n = await conn.read(reads.current);
      if (n === null) return await run.atEof();
      idle.activity++;
      value = reads.filled(n);
      if (closer.chunks < 2 && ++closer.chunks === 2) noDelay(conn);
      const end = cut.find(value, reads.inWasm);
      if (end >= 0) value = value.subarray(0, end);
      for (let off = 0; off < value.length;) {
        off += await conn.write(off === 0 ? value : value.subarray(off));
        idle.activity++;
      }
      cut.bytes += value.length;
      if (end >= 0) return await run.atCut();
      reads.afterRead(value);
      value = EMPTY;
    }
  } catch (error) {
    return run.failed(error);
  } finally {
    countConnection(-1);
    // No read or write is pending on it any more: the loop has ended.
    reads.release();
    run.release();
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);
/**
 * Where lingering closes read what they discard: one buffer for all of them,
 * since what lands in it is never looked at.
 */
const LINGER_SINK = new Uint8Array(16 * 1024);

/**
 * Closes a connection, once, by its own methods; and keeps its share of the
 * fair turns.
 */
class ConnCloser implements EchoCloser, FairShare {
  turn = -1;
  reads = 0;
  /**
   * Chunks read, counted up to the second only: kept here rather than in
   * the loop, where one more variable is saved and restored at every await.
   */
  chunks = 2;
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
      while (await this.#conn.read(LINGER_SINK) !== null) {
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
