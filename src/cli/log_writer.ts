// Copyright the deno-echo authors. MIT license.

// Log lines for the programs, written without ever blocking the caller: a
// stderr that nobody reads (a full pipe, a terminal paused with Ctrl-S) must
// not stop the server from serving. Not part of the library.

/** Something log lines can be written to, such as `Deno.stderr`. */
export interface LogSink {
  /** Writes some of `p` and resolves with how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/** Options for {@linkcode LogWriter}. */
export interface LogWriterOptions {
  /**
   * Bytes that may wait to be written, the line being written included.
   * @default {1048576}
   */
  maxBytes?: number;
  /**
   * Lines that may wait to be written, the lines being written included.
   * @default {10000}
   */
  maxLines?: number;
  /**
   * What the sink is, for the line that reports dropped lines.
   * @default {"stderr"}
   */
  name?: string;
  /**
   * Makes the line that says how many lines were dropped (without its
   * newline), for a log whose lines have a format of their own.
   *
   * @default {`... N log lines dropped: NAME is not being read`}
   */
  droppedLine?: (dropped: number, name: string) => string;
}

function defaultDroppedLine(n: number, name: string): string {
  return `... ${n} log ${n === 1 ? "line" : "lines"} dropped: ${name} ` +
    "is not being read";
}

/** Default for {@linkcode LogWriterOptions.maxBytes}: 1 MiB. */
export const DEFAULT_LOG_MAX_BYTES = 1024 * 1024;
/** Default for {@linkcode LogWriterOptions.maxLines}. */
export const DEFAULT_LOG_MAX_LINES = 10_000;
/** How long `[Symbol.asyncDispose]` waits for the queue to drain, in ms. */
export const DEFAULT_LOG_FLUSH_MS = 1000;

/** The longest delay `setTimeout` takes as it is. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** At most this many bytes go to the sink in one write. */
const BATCH_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/**
 * Writes log lines in order through a bounded queue, asynchronously.
 * {@linkcode LogWriter.line} returns at once whatever the sink does. When the
 * queue is full, lines are dropped and counted; once the queue has drained
 * to half its bounds, one line says how many were dropped and new lines are
 * taken again. A sink that fails (a closed pipe) is given up on: every line
 * from then on counts as dropped, and nothing is thrown to the caller.
 *
 * @example Lines reach the sink in order
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { LogWriter } from "./log_writer.ts";
 *
 * const chunks: Uint8Array[] = [];
 * const sink = new WritableStream<Uint8Array>({
 *   write(chunk) {
 *     chunks.push(chunk.slice());
 *   },
 * });
 * {
 *   await using log = new LogWriter(sink);
 *   log.line("first");
 *   log.line("second");
 * }
 * const text = chunks.map((c) => new TextDecoder().decode(c)).join("");
 * assertEquals(text, "first\nsecond\n");
 * ```
 */
export class LogWriter implements AsyncDisposable {
  readonly #write: (p: Uint8Array) => Promise<void>;
  readonly #release: () => void;
  readonly #maxBytes: number;
  readonly #maxLines: number;
  readonly #name: string;
  readonly #droppedLine: (dropped: number, name: string) => string;
  // Waiting lines, oldest at #head; the batch being written stays counted.
  #queue: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #dropped = 0;
  #unreported = 0;
  #dropping = false;
  #pumping = false;
  #failed = false;
  #closed = false;
  #drained: (() => void)[] = [];

  /**
   * Starts a writer over `sink`; nothing is written until a line comes.
   *
   * @param sink A `WritableStream` (its writer is held until disposal) or an
   * object with `write(p): Promise<number>`, such as `Deno.stderr`.
   * @param options Bounds of the queue and the sink's name.
   */
  constructor(
    sink: WritableStream<Uint8Array> | LogSink,
    options: LogWriterOptions = {},
  ) {
    const {
      maxBytes = DEFAULT_LOG_MAX_BYTES,
      maxLines = DEFAULT_LOG_MAX_LINES,
      name = "stderr",
      droppedLine = defaultDroppedLine,
    } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(`Invalid "maxBytes": "${maxBytes}"`);
    }
    if (!Number.isSafeInteger(maxLines) || maxLines < 1) {
      throw new RangeError(`Invalid "maxLines": "${maxLines}"`);
    }
    this.#maxBytes = maxBytes;
    this.#maxLines = maxLines;
    this.#name = name;
    this.#droppedLine = droppedLine;
    if (sink instanceof WritableStream) {
      const writer = sink.getWriter();
      // A failed sink rejects this too; the failing write reports it.
      writer.closed.catch(() => {});
      this.#write = (p) => writer.write(p);
      this.#release = () => writer.releaseLock();
    } else {
      this.#write = async (p) => {
        for (let off = 0; off < p.length;) {
          off += await sink.write(p.subarray(off));
        }
      };
      this.#release = () => {};
    }
  }

  /** Lines dropped so far: queue full, sink failed, or after disposal. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Bytes waiting to be written, the batch being written included. */
  get queuedBytes(): number {
    return this.#bytes;
  }

  /** Lines waiting to be written, the batch being written included. */
  get queuedLines(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether the sink failed; every line since then was dropped. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Queues one line (a newline is added) and returns at once. Never throws,
   * never waits: a line that does not fit is dropped and counted.
   *
   * @param text The line, without its newline. Nothing in it is escaped:
   * pass strings a peer controls through `escapeLogField` first.
   */
  line(text: string): void {
    if (this.#failed || this.#closed) {
      this.#dropped++;
      return;
    }
    if (this.#dropping && this.#lowWater()) {
      this.#dropping = false;
      this.#reportDropped();
    }
    // Checked before encoding: under a flood, dropping costs next to nothing.
    if (this.#dropping || this.queuedLines >= this.#maxLines) {
      this.#drop();
      return;
    }
    const bytes = encoder.encode(text + "\n");
    if (this.#bytes + bytes.length > this.#maxBytes) {
      this.#drop();
      return;
    }
    this.#push(bytes);
    this.#startPump();
  }

  #drop(): void {
    this.#dropping = true;
    this.#dropped++;
    this.#unreported++;
  }

  /**
   * Waits until every queued line is written, or the deadline passes.
   *
   * @param timeoutMs How long to wait at most, in milliseconds.
   * @returns `true` once the queue is empty, `false` if the deadline passed
   * first or the sink failed.
   */
  flush(timeoutMs: number = DEFAULT_LOG_FLUSH_MS): Promise<boolean> {
    if (this.#failed) return Promise.resolve(false);
    if (this.#unreported > 0 && !this.#closed) this.#reportDropped();
    if (!this.#pumping && this.queuedLines === 0) {
      return Promise.resolve(true);
    }
    const { promise, resolve } = Promise.withResolvers<boolean>();
    const wait: { timer?: ReturnType<typeof setTimeout>; settled?: true } = {};
    const done = (): void => {
      wait.settled = true;
      clearTimeout(wait.timer);
      resolve(!this.#failed);
    };
    // Registered before the timer is made: under `deno test`, making a
    // timer can run queued microtasks, the pump among them, to its end.
    this.#drained.push(done);
    wait.timer = setTimeout(() => {
      this.#drained = this.#drained.filter((f) => f !== done);
      resolve(false);
    }, Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS));
    if (wait.settled) clearTimeout(wait.timer);
    return promise;
  }

  /**
   * Writes what is queued, waiting at most {@linkcode DEFAULT_LOG_FLUSH_MS},
   * then drops every later line. A `WritableStream` sink is unlocked once
   * nothing is being written to it; it is not closed.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const drained = await this.flush();
    this.#closed = true;
    if (drained) this.#release();
  }

  #lowWater(): boolean {
    return this.queuedLines <= this.#maxLines / 2 &&
      this.#bytes <= this.#maxBytes / 2;
  }

  #push(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#bytes += bytes.length;
  }

  // The one line saying how many were dropped goes in past the bounds.
  #reportDropped(): void {
    const n = this.#unreported;
    if (n === 0) return;
    this.#unreported = 0;
    this.#push(encoder.encode(this.#droppedLine(n, this.#name) + "\n"));
    this.#startPump();
  }

  #startPump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    // A burst of lines from one task goes out in one write.
    queueMicrotask(() => this.#pump());
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        if (this.queuedLines === 0) {
          if (this.#unreported === 0 || this.#closed) break;
          this.#dropping = false;
          this.#reportDropped();
        }
        const [batch, lines] = this.#batch();
        await this.#write(batch);
        for (let i = 0; i < lines; i++) {
          this.#bytes -= this.#queue[this.#head]!.length;
          this.#head++;
        }
        this.#compact();
      }
    } catch {
      // EPIPE, a closed stderr: nothing more will get through.
      this.#failed = true;
      this.#dropped += this.queuedLines + this.#unreported;
      this.#unreported = 0;
      this.#queue = [];
      this.#head = 0;
      this.#bytes = 0;
    }
    this.#pumping = false;
    const drained = this.#drained;
    this.#drained = [];
    for (const done of drained) done();
  }

  /** The next write: whole lines from the head, up to the batch size. */
  #batch(): [Uint8Array, number] {
    const first = this.#queue[this.#head]!;
    let size = first.length;
    let end = this.#head + 1;
    while (end < this.#queue.length) {
      const next = this.#queue[end]!.length;
      if (size + next > BATCH_BYTES) break;
      size += next;
      end++;
    }
    if (end === this.#head + 1) return [first, 1];
    const batch = new Uint8Array(size);
    let off = 0;
    for (let i = this.#head; i < end; i++) {
      batch.set(this.#queue[i]!, off);
      off += this.#queue[i]!.length;
    }
    return [batch, end - this.#head];
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
