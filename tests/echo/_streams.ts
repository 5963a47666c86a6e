// Copyright the deno-echo authors. MIT license.

// In-memory streams for the echo tests: a sink that records what was
// written and how it ended, a source that hands out given chunks.

import { concat } from "@std/bytes";

const decoder = new TextDecoder();

/** What a test sink saw. */
export interface Sink {
  writable: WritableStream<Uint8Array>;
  chunks: Uint8Array[];
  closed: boolean;
  aborted: boolean;
  abortReason: unknown;
  text(): string;
}

/**
 * A sink that copies every chunk (echo() reuses its buffer once `write`
 * resolves) and records how it ended.
 */
export function sink(
  onWrite?: (chunk: Uint8Array, sink: Sink) => void,
): Sink {
  const state: Sink = {
    chunks: [],
    closed: false,
    aborted: false,
    abortReason: undefined,
    text: () => decoder.decode(concat(state.chunks)),
    writable: new WritableStream<Uint8Array>({
      write(chunk): void {
        state.chunks.push(chunk.slice());
        onWrite?.(chunk, state);
      },
      close(): void {
        state.closed = true;
      },
      abort(reason): void {
        state.aborted = true;
        state.abortReason = reason;
      },
    }),
  };
  return state;
}

/** What a test source saw. */
export interface Source {
  readable: ReadableStream<Uint8Array>;
  pulls: number;
  cancelled: boolean;
  cancelReason: unknown;
}

/**
 * A source that hands out `chunks` one per pull and then ends. `"bytes"`
 * makes a byte stream, read by echo() through a BYOB reader.
 */
export function source(
  chunks: readonly Uint8Array[],
  type: "default" | "bytes" = "default",
): Source {
  let next = 0;
  const state: Source = {
    pulls: 0,
    cancelled: false,
    cancelReason: undefined,
    readable: undefined as unknown as ReadableStream<Uint8Array>,
  };
  const pull = (
    controller:
      | ReadableStreamDefaultController<Uint8Array>
      | ReadableByteStreamController,
  ): void => {
    state.pulls++;
    // Empty chunks can't be enqueued on a byte stream; skip them.
    while (next < chunks.length && chunks[next]!.length === 0) next++;
    if (next >= chunks.length) {
      controller.close();
      // A BYOB read pending at close must be answered with zero bytes.
      if (controller instanceof ReadableByteStreamController) {
        controller.byobRequest?.respond(0);
      }
      return;
    }
    // Copy: a byte stream takes over (detaches) the enqueued buffer.
    controller.enqueue(chunks[next++]!.slice());
  };
  const cancel = (reason: unknown): void => {
    state.cancelled = true;
    state.cancelReason = reason;
  };
  state.readable = type === "bytes"
    ? new ReadableStream({ type: "bytes", pull, cancel })
    : new ReadableStream<Uint8Array>({ pull, cancel });
  return state;
}

/** Both kinds of source echo() reads: default and byte streams. */
export const SOURCE_TYPES = ["default", "bytes"] as const;
