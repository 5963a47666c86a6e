// Copyright the deno-echo authors. MIT license.

// One connection of a load run: a writer (closed or open loop) and a reader
// that checks every echoed byte, sharing counters.

import { Buffer } from "node:buffer";
import { closeQuietly } from "../net/close.ts";
import { PAYLOAD_PERIOD, payloadKey } from "./bench_payload.ts";
import type { BenchLane, LaneRun } from "./lane_run.ts";
import { Pacer } from "./pacer.ts";
import type { Failure } from "./result.ts";

/** Reads up to this much at once (and never more than one table period). */
const READ_SIZE = PAYLOAD_PERIOD;

/** One stream connection (TCP, TLS, Unix): a writer and a reader. */
export class Lane implements BenchLane {
  readonly #run: LaneRun;
  readonly #conn: Deno.Conn;
  readonly #index: number;
  readonly #key: number;
  /** Measured messages this connection may send (Infinity: no limit). */
  readonly #quota: number;
  /** When each message in flight was sent (or due), by index & mask. */
  readonly #stamps: Float64Array;
  readonly #mask: number;
  /** Messages written, measured or not. */
  sent = 0;
  /** Messages echoed in full. */
  completed = 0;
  measuredSent = 0;
  measuredDone = 0;
  /** Bytes echoed so far. */
  #received = 0;
  /** Last time bytes moved either way. */
  #lastMoved: number;
  writerDone = false;
  /** The connection is closed (finished, failed or stopped). */
  #closed = false;
  /** Ends the writer's wait for a free slot. */
  #slotWaiter: (() => void) | undefined;
  /** Open loop: waits for each send time. */
  readonly #pacer = new Pacer();

  constructor(run: LaneRun, conn: Deno.Conn, index: number, quota: number) {
    this.#run = run;
    this.#conn = conn;
    this.#index = index;
    this.#key = payloadKey(index);
    this.#quota = quota;
    const { rate, pipeline, maxInFlight } = run.settings;
    const slots = 2 ** Math.ceil(Math.log2(rate > 0 ? maxInFlight : pipeline));
    this.#stamps = new Float64Array(slots);
    this.#mask = slots - 1;
    this.#lastMoved = run.start;
  }

  /** Sends and checks echoes until done; never rejects. */
  async run(): Promise<void> {
    const writing = this.#run.settings.rate > 0
      ? this.#writeOpenLoop()
      : this.#writeClosedLoop();
    await Promise.all([writing, this.#read()]);
    this.#close();
  }

  /** Closes the connection now; both loops then end. */
  stop(): void {
    this.#close();
  }

  /** Fails the connection if echoes are due and nothing moved for too long. */
  checkTimeout(now: number): void {
    const { readTimeout } = this.#run.settings;
    if (
      readTimeout > 0 && !this.#closed && this.completed < this.sent &&
      now - this.#lastMoved > readTimeout
    ) {
      this.#fail(
        "timeouts",
        `no echo for ${Math.round(now - this.#lastMoved)} ms with ${
          this.sent - this.completed
        } message(s) unanswered`,
      );
    }
  }

  /** Closed loop: keep `pipeline` messages in flight. */
  async #writeClosedLoop(): Promise<void> {
    const run = this.#run;
    const { size, pipeline } = run.settings;
    const batch = Math.max(1, Math.floor(PAYLOAD_PERIOD / size));
    const stamps = this.#stamps;
    try {
      while (!this.#closed) {
        const now = performance.now();
        const measured = now >= run.measureStart;
        if (now >= run.measureEnd) break;
        if (measured && this.measuredSent >= this.#quota) break;
        const free = pipeline - (this.sent - this.completed);
        if (free <= 0) {
          await this.#waitForSlot();
          continue;
        }
        const k = Math.min(
          free,
          batch,
          measured ? this.#quota - this.measuredSent : Infinity,
        );
        // Only measured messages need their time (see #read).
        const stamp = measured ? now : -1;
        for (let i = 0; i < k; i++) {
          stamps[(this.sent + i) & this.#mask] = stamp;
        }
        await this.#send(k, measured);
      }
    } catch (error) {
      this.#failFrom(error);
    }
    this.#writerFinished();
  }

  /** Open loop: each message at its time, however the echoes are doing. */
  async #writeOpenLoop(): Promise<void> {
    const run = this.#run;
    const { size, rate, connections, maxInFlight } = run.settings;
    const batch = Math.max(1, Math.floor(PAYLOAD_PERIOD / size));
    const stamps = this.#stamps;
    // Message k of the whole run is due at start + k / rate, and goes to
    // connection k % connections.
    const interval = (1000 * connections) / rate;
    const first = run.start + (1000 * this.#index) / rate;
    const due = (i: number): number => first + i * interval;
    let i = 0;
    let overrun = -1;
    try {
      while (!this.#closed) {
        const next = due(i);
        const measured = next >= run.measureStart;
        if (next >= run.measureEnd) break;
        if (measured && this.measuredSent >= this.#quota) break;
        const now = performance.now();
        // Timers fire late (about 1 ms here): ask for that much less, and
        // send now when the timer could not wake us in time.
        const sleep = this.#pacer.delay(next, now);
        if (sleep >= 1) {
          await this.#pacer.sleep(sleep);
          continue;
        }
        const free = maxInFlight - (this.sent - this.completed);
        if (free <= 0) {
          if (overrun !== i) {
            overrun = i;
            run.overrun(
              `connection ${
                this.#index + 1
              }: ${maxInFlight} messages unanswered when the next was due`,
            );
          }
          await this.#waitForSlot();
          continue;
        }
        // Everything due by now (the first may be a little early), in one
        // write; each measured from when it was due, or from the send if
        // that came first (never less than the true round trip).
        let k = 1;
        while (
          k < free && k < batch && due(i + k) <= now &&
          due(i + k) < run.measureEnd &&
          (due(i + k) >= run.measureStart) === measured &&
          (!measured || this.measuredSent + k < this.#quota)
        ) k++;
        for (let j = 0; j < k; j++) {
          stamps[(this.sent + j) & this.#mask] = measured
            ? Math.min(due(i + j), now)
            : -1;
        }
        i += k;
        await this.#send(k, measured);
      }
    } catch (error) {
      this.#failFrom(error);
    }
    this.#writerFinished();
  }

  /** Writes the next `count` messages, whole. */
  async #send(count: number, measured: boolean): Promise<void> {
    const { size } = this.#run.settings;
    const table = this.#run.table;
    let offset = this.sent * size;
    let left = count * size;
    this.sent += count;
    if (measured) this.measuredSent += count;
    while (left > 0) {
      const at = (offset + this.#key) % PAYLOAD_PERIOD;
      const n = await this.#conn.write(
        table.subarray(at, at + Math.min(left, PAYLOAD_PERIOD)),
      );
      offset += n;
      left -= n;
      this.#lastMoved = performance.now();
    }
  }

  #writerFinished(): void {
    this.writerDone = true;
    // Nothing left to read: the reader's pending read ends with the close.
    if (this.completed === this.sent) this.#close();
  }

  async #read(): Promise<void> {
    const run = this.#run;
    const { size } = run.settings;
    const table = run.table;
    const stamps = this.#stamps;
    const mask = this.#mask;
    const buffer = new Uint8Array(READ_SIZE);
    try {
      while (!this.#closed) {
        const n = await this.#conn.read(buffer);
        const now = performance.now();
        if (n === null) {
          const due = this.sent * size - this.#received;
          this.#fail(
            "closedEarly",
            `the server closed the connection (${due} byte(s) sent were not echoed)`,
          );
          break;
        }
        this.#lastMoved = now;
        const at = (this.#received + this.#key) % PAYLOAD_PERIOD;
        const got = buffer.subarray(0, n);
        const want = table.subarray(at, at + n);
        if (
          this.#received + n > this.sent * size ||
          Buffer.compare(got, want) !== 0
        ) {
          this.#mismatch(got, want);
          break;
        }
        this.#received += n;
        const echoed = Math.floor(this.#received / size);
        if (echoed > this.completed) {
          for (let i = this.completed; i < echoed; i++) {
            const stamp = stamps[i & mask]!;
            if (stamp >= 0) {
              run.record(now, (now - stamp) * 1e6);
              this.measuredDone++;
            }
          }
          this.completed = echoed;
          this.#wakeForSlot();
          if (this.writerDone && this.completed === this.sent) break;
        }
      }
    } catch (error) {
      this.#failFrom(error);
    }
  }

  #mismatch(got: Uint8Array, want: Uint8Array): void {
    let i = 0;
    while (i < got.length && i < want.length && got[i] === want[i]) i++;
    const where = this.#received + i;
    const hex = (b: number | undefined): string =>
      b === undefined ? "nothing" : `0x${b.toString(16).padStart(2, "0")}`;
    this.#fail(
      "mismatches",
      i < want.length
        ? `echoed byte ${where} is ${hex(got[i])}, sent ${hex(want[i])}`
        : `the server echoed more than was sent (${where} bytes)`,
    );
  }

  #failFrom(error: unknown): void {
    if (this.#closed) return; // We closed it: the pending call was cut short.
    const kind: Failure = error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted ||
        error instanceof Deno.errors.BrokenPipe ||
        error instanceof Deno.errors.NotConnected
      ? "resets"
      : "other";
    this.#fail(kind, error instanceof Error ? error.message : String(error));
  }

  #fail(kind: Failure, message: string): void {
    if (this.#closed) return;
    this.#run.fail(kind, `connection ${this.#index + 1}: ${message}`);
    this.#close();
  }

  #waitForSlot(): Promise<void> {
    return new Promise((resolve) => {
      this.#slotWaiter = resolve;
    });
  }

  #wakeForSlot(): void {
    const wake = this.#slotWaiter;
    this.#slotWaiter = undefined;
    wake?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
    this.#wakeForSlot();
    this.#pacer.wake();
    this.#run.closed();
  }
}
