// Copyright the deno-echo authors. MIT license.

// The echo's read buffer, one per connection, sized to the traffic: it
// starts small (an idle connection's pending read holds it, so 10,000 idle
// clients cost little), doubles after each read that fills it (fewer, larger
// writes under bulk load), and shrinks back after a run of small reads. The
// conn loop's grown buffers come from the WebAssembly pool while it has one
// free (see wasm_buffers.ts), where the quit word is scanned fastest.

import { returnWasmBuffer, takeWasmBuffer } from "./wasm_buffers.ts";

/**
 * Smallest read buffer: what an idle connection holds while it waits. As
 * small as Deno's own floor was measured with: 64 bytes, enough for a short
 * line in one read; a larger message takes a few reads once while the
 * buffer doubles.
 */
export const MIN_BUFFER_SIZE = 64;
/**
 * Largest read buffer, reached after reads that fill the buffer; at most
 * `WASM_BUFFER_SIZE`, the size of a pool's buffer.
 */
export const MAX_BUFFER_SIZE = 64 * 1024;
/**
 * Ordinary buffers larger than this count against
 * {@linkcode LARGE_BUFFER_BUDGET}; once it is spent, they stay at this size.
 */
export const LARGE_BUFFER_MIN = 4 * 1024;
/**
 * Buffers from this size up come from the WebAssembly pool, when asked for
 * and one is free. Smaller ones never do: an idle connection takes none. At
 * 1 KiB, a 1 KiB message's 2 KiB buffer is in the pool, so its scan copies
 * nothing: with 200 connections ping-ponging 1 KiB, 1-2 % more round trips
 * than from 4 KiB up, the two builds run at once on one core.
 */
export const WASM_POOL_MIN = 1024;
/**
 * Bytes that ordinary read buffers larger than {@linkcode LARGE_BUFFER_MIN}
 * may hold in all (the WebAssembly pool's buffers apart): 512 connections
 * at {@linkcode MAX_BUFFER_SIZE}. A buffer that would grow past it stays at
 * `LARGE_BUFFER_MIN` until another gives its share back (shrinks or ends).
 * A connection that goes quiet keeps the buffer its pending read waits in,
 * so without it connections that each sent a burst and then idled would
 * hold 64 KiB each; with it, at most this much besides 4 KiB each.
 */
export const LARGE_BUFFER_BUDGET = 32 * 1024 * 1024;
/** Bytes of {@linkcode LARGE_BUFFER_BUDGET} held now, over all buffers. */
let largeHeld = 0;

/** Small reads in a row after which a grown buffer shrinks back. */
const SHRINK_AFTER = 8;
/** Most buffers kept in {@linkcode idleBuffers}. */
const IDLE_BUFFER_POOL = 256;
/**
 * First buffers of `Deno.Conn` echoes, given back by the ones that ended: at
 * thousands of short connections a second, allocating each (an ArrayBuffer
 * with memory outside the JS heap, which the GC must track) was a measurable
 * part of the cost of a connection. Only the conn loop uses it: a BYOB
 * stream takes its buffers away.
 */
const idleBuffers: Uint8Array[] = [];

/**
 * A first buffer for a conn echo: one given back by an echo that ended, or a
 * new one of {@linkcode MIN_BUFFER_SIZE} bytes.
 *
 * @returns The buffer, now the caller's.
 */
export function takePooledBuffer(): Uint8Array {
  return idleBuffers.pop() ?? new Uint8Array(MIN_BUFFER_SIZE);
}

/**
 * Gives a buffer back for the next conn echo, if it is of the first size
 * and the pool has room. Call only once no read is pending on it.
 *
 * @param buffer The buffer, no longer used.
 */
export function poolBuffer(buffer: Uint8Array): void {
  if (
    buffer.byteLength === MIN_BUFFER_SIZE &&
    idleBuffers.length < IDLE_BUFFER_POOL
  ) idleBuffers.push(buffer);
}

/** Options for a {@linkcode ReadBuffer}. */
export interface ReadBufferOptions {
  /**
   * Take grown buffers from the WebAssembly pool while it has one free. Only
   * for reads that fill the buffer given (`conn.read`), not for BYOB reads,
   * which transfer it; {@linkcode ReadBuffer.afterRead} then does not look
   * for a transfer. {@linkcode ReadBuffer.release} gives it back.
   *
   * @default {false}
   */
  wasm?: boolean;
}

const EMPTY = new Uint8Array(0);

/** One connection's read buffer, adapted to the traffic after each read. */
export class ReadBuffer {
  /** The buffer to read into next. */
  current: Uint8Array;
  /** Small reads in a row. */
  #small = 0;
  readonly #wasm: boolean;
  /** The pool's buffer that {@linkcode ReadBuffer.current} is the start of. */
  #slot: Uint8Array | undefined;
  /** Bytes of {@linkcode LARGE_BUFFER_BUDGET} this buffer holds. */
  #held = 0;
  /** The view {@linkcode ReadBuffer.filled} hands out again, and its buffer. */
  #view: Uint8Array = EMPTY;
  #viewOf: Uint8Array = EMPTY;
  /** The length of the last read, as {@linkcode ReadBuffer.filled} saw it. */
  #length = -1;

  /**
   * Starts with a buffer.
   *
   * @param initial The first buffer to read into.
   * @param options Whether to use the WebAssembly pool.
   */
  constructor(
    initial: Uint8Array = new Uint8Array(MIN_BUFFER_SIZE),
    options: ReadBufferOptions = {},
  ) {
    this.current = initial;
    this.#wasm = options.wasm ?? false;
  }

  /**
   * The first `n` bytes of {@linkcode ReadBuffer.current}, as a view: once two
   * reads in a row have been `n` bytes long, the same view each time, until a
   * read of another length or another buffer. Messages of one size, as in a
   * ping-pong, then make no view per read: at 50 connections of 64 B, about
   * 1 % more round trips. A connection that has read one line and gone quiet
   * keeps no view.
   *
   * @param n How many bytes the read just done put at the start of the
   * buffer.
   * @returns Those bytes; valid until the next read into the buffer.
   */
  filled(n: number): Uint8Array {
    const current = this.current;
    const view = this.#view;
    if (view.length === n && this.#viewOf === current) return view;
    const made = current.subarray(0, n);
    if (n === this.#length) {
      this.#view = made;
      this.#viewOf = current;
    }
    this.#length = n;
    return made;
  }

  /**
   * Picks the buffer for the next read, after a read into
   * {@linkcode ReadBuffer.current} returned `value`. A BYOB read hands back
   * the buffer it was given, transferred: its memory is kept in use.
   *
   * @param value What the read returned: a view at the start of the
   * memory read into.
   */
  afterRead(value: Uint8Array): void {
    const slot = this.#slot;
    // With `wasm`, reads fill the buffer in place: no transfer to look for
    // (reading the two views' `buffer` cost about 15 ns a read, a tenth of
    // the conn loop's own time per round trip: tests/echo/conn_loop_bench.ts).
    if (!this.#wasm && value.buffer !== this.current.buffer) {
      // A BYOB read: the memory read into is now `value`'s.
      this.current = new Uint8Array(value.buffer as ArrayBuffer);
    }
    const size = this.current.length;
    let next = size;
    if (value.length === size) {
      next = Math.min(size * 2, MAX_BUFFER_SIZE);
      this.#small = 0;
    } else if (value.length > size / 4) {
      // More than a quarter of the buffer: not small for it (64-byte messages
      // in the 128-byte buffer they grew, say, which shrinking would only
      // make grow again).
      this.#small = 0;
    } else if (size > MIN_BUFFER_SIZE && ++this.#small >= SHRINK_AFTER) {
      next = MIN_BUFFER_SIZE;
      this.#small = 0;
    }
    if (next !== size) this.#resize(next);
    else if (slot !== undefined) return;
    else if (this.#wasm && value.length === size && size >= WASM_POOL_MIN) {
      // Full reads into an ordinary buffer: the pool was empty; try again.
      this.#resize(size);
    }
  }

  /** Makes {@linkcode ReadBuffer.current} `size` bytes, in the pool if it can. */
  #resize(size: number): void {
    if (this.#wasm && size >= WASM_POOL_MIN) {
      this.#slot ??= takeWasmBuffer();
      if (this.#slot !== undefined) {
        this.current = this.#slot.subarray(0, size);
        this.#grant(0);
        return;
      }
    } else if (this.#slot !== undefined) {
      returnWasmBuffer(this.#slot);
      this.#slot = undefined;
    }
    size = this.#grant(size);
    if (this.current.length !== size) this.current = new Uint8Array(size);
  }

  /**
   * Takes from {@linkcode LARGE_BUFFER_BUDGET} what an ordinary buffer of
   * `size` bytes needs, giving back what it held; returns the size it may
   * have (at most `LARGE_BUFFER_MIN` when the budget is spent).
   */
  #grant(size: number): number {
    const want = size > LARGE_BUFFER_MIN ? size : 0;
    const held = largeHeld - this.#held + want <= LARGE_BUFFER_BUDGET
      ? want
      : 0;
    largeHeld += held - this.#held;
    this.#held = held;
    return want === held ? size : LARGE_BUFFER_MIN;
  }

  /**
   * Whether {@linkcode ReadBuffer.current} lies in the WebAssembly pool.
   *
   * @returns Whether it does.
   */
  get inWasm(): boolean {
    return this.#slot !== undefined;
  }

  /**
   * The connection is done with its buffer: a pool's buffer goes back to the
   * pool, one of the first size to the conn echoes' idle buffers. Call only
   * once no read or write is pending on it; the buffer is not used again.
   */
  release(): void {
    if (this.#slot !== undefined) {
      returnWasmBuffer(this.#slot);
      this.#slot = undefined;
    } else {
      poolBuffer(this.current);
    }
    largeHeld -= this.#held;
    this.#held = 0;
    this.current = this.#view = this.#viewOf = EMPTY;
  }
}
