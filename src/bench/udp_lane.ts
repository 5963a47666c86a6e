// Copyright the deno-echo authors. MIT license.

// One UDP socket of a load run: datagram ping-pong, each datagram sent once
// and counted lost when its echo is not back within the loss timeout.

import { DatagramLostError, type UdpEchoClient } from "../udp/udp_client.ts";
import { PAYLOAD_PERIOD, payloadKey } from "./bench_payload.ts";
import type { BenchLane, LaneRun } from "./lane_run.ts";
import { Pacer } from "./pacer.ts";

/**
 * One UDP socket: `pipeline` datagrams in flight (closed loop), or one
 * datagram at each due time (open loop). A datagram is the `size` bytes of
 * the payload stream at its position, its first four bytes replaced by its
 * sequence number, so that every datagram in flight differs; the echo must
 * match it byte for byte (anything else is ignored, and the datagram ends
 * up lost). Datagrams are never sent again: a loss is a measurement.
 */
export class UdpLane implements BenchLane {
  readonly #run: LaneRun;
  readonly #client: UdpEchoClient;
  readonly #index: number;
  readonly #key: number;
  /** Measured datagrams this socket may send (Infinity: no limit). */
  readonly #quota: number;
  /** The datagram being built; `echo()` sends a copy. */
  readonly #datagram: Uint8Array;
  readonly #pacer = new Pacer();
  sent = 0;
  completed = 0;
  measuredSent = 0;
  measuredDone = 0;
  writerDone = false;
  #inFlight = 0;
  #closed = false;
  /** The client's close, once begun. */
  #closing: Promise<void> | undefined;
  /** Ends a wait for an echo (or a loss) to settle. */
  #settleWaiter: (() => void) | undefined;

  constructor(
    run: LaneRun,
    client: UdpEchoClient,
    index: number,
    quota: number,
  ) {
    this.#run = run;
    this.#client = client;
    this.#index = index;
    this.#key = payloadKey(index);
    this.#quota = quota;
    this.#datagram = new Uint8Array(run.settings.size);
  }

  /** Sends and waits for echoes until done; never rejects. */
  async run(): Promise<void> {
    if (this.#run.settings.rate > 0) {
      await this.#openLoop();
    } else {
      const { pipeline } = this.#run.settings;
      await Promise.all(Array.from({ length: pipeline }, () => this.#ping()));
    }
    this.writerDone = true;
    while (this.#inFlight > 0 && !this.#closed) await this.#waitForSettle();
    this.#close();
    await this.#closing;
  }

  /** Closes the socket now; echoes awaited end at once, uncounted. */
  stop(): void {
    this.#close();
  }

  /** Nothing to do: each datagram has its own timeout. */
  checkTimeout(): void {}

  /** Closed loop: one of `pipeline` senders, each awaiting its echo. */
  async #ping(): Promise<void> {
    const run = this.#run;
    while (!this.#closed) {
      const now = performance.now();
      if (now >= run.measureEnd) return;
      const measured = now >= run.measureStart;
      if (measured && this.measuredSent >= this.#quota) return;
      await this.#echo(measured ? now : -1);
    }
  }

  /** Open loop: each datagram at its due time, without waiting for echoes. */
  async #openLoop(): Promise<void> {
    const run = this.#run;
    const { rate, connections, maxInFlight } = run.settings;
    const interval = (1000 * connections) / rate;
    const first = run.start + (1000 * this.#index) / rate;
    let overrun = -1;
    for (let i = 0; !this.#closed;) {
      const due = first + i * interval;
      if (due >= run.measureEnd) return;
      const measured = due >= run.measureStart;
      if (measured && this.measuredSent >= this.#quota) return;
      const now = performance.now();
      const sleep = this.#pacer.delay(due, now);
      if (sleep >= 1) {
        await this.#pacer.sleep(sleep);
        continue;
      }
      if (this.#inFlight >= maxInFlight) {
        if (overrun !== i) {
          overrun = i;
          run.overrun(
            `socket ${
              this.#index + 1
            }: ${maxInFlight} datagrams unanswered when the next was due`,
          );
        }
        await this.#waitForSettle();
        continue;
      }
      i++;
      void this.#echo(measured ? Math.min(due, now) : -1);
    }
  }

  /**
   * Sends the next datagram and waits for its echo; `stamp` is when it was
   * sent or due, or -1 when it is not measured.
   */
  async #echo(stamp: number): Promise<void> {
    const seq = this.sent++;
    const measured = stamp >= 0;
    if (measured) this.measuredSent++;
    this.#inFlight++;
    try {
      await this.#client.echo(this.#fill(seq));
      this.completed++;
      if (measured && !this.#closed) {
        const now = performance.now();
        this.#run.record(now, (now - stamp) * 1e6);
        this.measuredDone++;
      }
    } catch (error) {
      if (this.#closed) return; // We closed it: the wait was cut short.
      if (error instanceof DatagramLostError) {
        if (measured) {
          this.#run.lose(
            `socket ${this.#index + 1}: datagram ${
              seq + 1
            } got no echo within ${this.#run.settings.lossTimeout} ms`,
          );
        }
      } else {
        this.#run.fail(
          "other",
          `socket ${this.#index + 1}: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
        this.#close();
      }
    } finally {
      this.#inFlight--;
      this.#wakeForSettle();
    }
  }

  /** The datagram of sequence number `seq`. */
  #fill(seq: number): Uint8Array {
    const datagram = this.#datagram;
    const size = datagram.length;
    const at = (this.#key + seq * size) % PAYLOAD_PERIOD;
    datagram.set(this.#run.table.subarray(at, at + size));
    for (let i = 0; i < 4 && i < size; i++) {
      datagram[i] = (seq >>> (8 * i)) & 0xff;
    }
    return datagram;
  }

  #waitForSettle(): Promise<void> {
    return new Promise((resolve) => {
      this.#settleWaiter = resolve;
    });
  }

  #wakeForSettle(): void {
    const wake = this.#settleWaiter;
    this.#settleWaiter = undefined;
    wake?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = this.#client.close();
    this.#wakeForSettle();
    this.#pacer.wake();
    this.#run.closed();
  }
}
