// Copyright the deno-echo authors. MIT license.

// Probing over one stream connection, made again when it is lost. Probes
// are all the same size and TCP keeps order, so each `size` bytes of echo
// belong to the oldest probe still awaiting its echo; a probe counted lost
// stays in line until its bytes come (late) or the connection goes.

import { delay } from "@std/async/delay";
import { formatAddress } from "../net/address.ts";
import { closeQuietly } from "../net/close.ts";
import { comparePayload, payloadSeq, pingPayload } from "./ping_payload.ts";
import {
  lossWords,
  openStream,
  peerName,
  type PingSettings,
  type Prober,
  type ProbeSink,
} from "./ping_conn.ts";

/** Probes in a row without an echo after which the connection is dropped. */
export const STALL_PROBES = 3;

/** The first pause between reconnection attempts, in ms (it doubles). */
export const FIRST_BACKOFF = 250;

/** The longest pause between reconnection attempts, in ms. */
export const MAX_BACKOFF = 5000;

/** A probe sent and not yet matched to its echo. */
interface InFlight {
  seq: number;
  payload: Uint8Array;
  sentAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Reported lost already (its echo, if it comes, is late). */
  reported: boolean;
}

/** Probes over one connection; see the module comment. */
export class StreamProber implements Prober {
  readonly #settings: PingSettings;
  readonly #sink: ProbeSink;
  readonly #stop = new AbortController();
  /** The run's end or this prober's: cancels a connection attempt. */
  readonly #signal: AbortSignal;
  readonly #echo: Uint8Array;
  #filled = 0;
  #conn: Deno.Conn | undefined;
  #remote = "";
  #inFlight: InFlight[] = [];
  #unanswered = 0;
  #down: { since: number; lost: number } | undefined;
  #reading: Promise<void> = Promise.resolve();
  #reconnecting: Promise<void> = Promise.resolve();
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(settings: PingSettings, sink: ProbeSink) {
    this.#settings = settings;
    this.#sink = sink;
    this.#echo = new Uint8Array(settings.size);
    this.#signal = AbortSignal.any([settings.signal, this.#stop.signal]);
  }

  async start(): Promise<void> {
    const conn = await this.#connect();
    this.#sink.link({
      type: "connected",
      remote: this.#remote,
      local: formatAddress(conn.localAddr),
    });
  }

  async #connect(): Promise<Deno.Conn> {
    const { conn } = await openStream(this.#settings, this.#signal);
    if (this.#closed) {
      closeQuietly(conn);
      throw new Deno.errors.Interrupted("The ping has ended");
    }
    this.#conn = conn;
    this.#remote = peerName(this.#settings, conn);
    this.#filled = 0;
    this.#unanswered = 0;
    this.#reading = this.#read(conn);
    return conn;
  }

  async probe(seq: number): Promise<void> {
    const conn = this.#conn;
    const { size, wait } = this.#settings;
    if (conn === undefined) {
      this.#down!.lost++;
      this.#sink.probe({
        seq,
        status: "lost",
        bytes: size,
        from: this.#remote,
        reason: "disconnected",
      });
      return;
    }
    const entry: InFlight = {
      seq,
      payload: pingPayload(seq, size),
      sentAt: performance.now(),
      timer: undefined,
      reported: false,
    };
    entry.timer = setTimeout(() => this.#timedOut(conn, entry), wait);
    this.#inFlight.push(entry);
    try {
      for (let off = 0; off < size;) {
        off += await conn.write(entry.payload.subarray(off));
      }
    } catch (error) {
      this.#lose(conn, lossWords(error));
    }
  }

  settle(): Promise<void> {
    if (!this.#awaiting()) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#idle.push(resolve);
    return promise;
  }

  #awaiting(): boolean {
    return !this.#closed && this.#inFlight.some((entry) => !entry.reported);
  }

  #checkIdle(): void {
    if (this.#awaiting()) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #timedOut(conn: Deno.Conn, entry: InFlight): void {
    entry.timer = undefined;
    entry.reported = true;
    this.#sink.probe({
      seq: entry.seq,
      status: "lost",
      bytes: this.#settings.size,
      from: this.#remote,
      reason: "timeout",
    });
    if (++this.#unanswered >= STALL_PROBES) {
      this.#lose(conn, `stalled: ${STALL_PROBES} probes in a row without echo`);
    }
    this.#checkIdle();
  }

  async #read(conn: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(Math.max(this.#settings.size, 16 * 1024));
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) return this.#lose(conn, lossWords(null));
        this.#feed(conn, buffer.subarray(0, n));
        if (conn !== this.#conn) return;
      }
    } catch (error) {
      this.#lose(conn, lossWords(error));
    }
  }

  /** Echo bytes, gathered into whole probes. */
  #feed(conn: Deno.Conn, bytes: Uint8Array): void {
    const { size } = this.#settings;
    for (let at = 0; at < bytes.length && conn === this.#conn;) {
      const n = Math.min(size - this.#filled, bytes.length - at);
      this.#echo.set(bytes.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === size) {
        this.#filled = 0;
        this.#complete(conn);
      }
    }
  }

  /** One whole echo: the oldest probe's. */
  #complete(conn: Deno.Conn): void {
    const entry = this.#inFlight.shift();
    if (entry === undefined) {
      return this.#lose(conn, "echo out of step (bytes no probe asked for)");
    }
    clearTimeout(entry.timer);
    const time = performance.now() - entry.sentAt;
    const base = {
      seq: entry.seq,
      bytes: this.#settings.size,
      from: this.#remote,
      time,
    };
    const mismatch = comparePayload(entry.payload, this.#echo);
    if (mismatch === undefined) {
      this.#unanswered = 0;
      this.#sink.probe({ ...base, status: entry.reported ? "late" : "echoed" });
    } else {
      if (!entry.reported) {
        this.#sink.probe({ ...base, status: "wrong", mismatch });
      }
      // A byte changed is counted; bytes lost or added put every later
      // echo out of step, and only a new connection sets that right.
      if (payloadSeq(this.#echo) !== entry.seq) {
        this.#lose(conn, "echo out of step (bytes lost or added)");
      }
    }
    this.#checkIdle();
  }

  /** The connection is gone: its probes in flight are lost; reconnect. */
  #lose(conn: Deno.Conn, reason: string): void {
    if (conn !== this.#conn) return;
    this.#conn = undefined;
    closeQuietly(conn);
    for (const entry of this.#inFlight) {
      clearTimeout(entry.timer);
      if (entry.reported || this.#closed) continue;
      this.#sink.probe({
        seq: entry.seq,
        status: "lost",
        bytes: this.#settings.size,
        from: this.#remote,
        reason: "connection lost",
        error: reason,
      });
    }
    this.#inFlight = [];
    if (this.#closed) return;
    this.#sink.link({ type: "lost", reason });
    this.#down = { since: performance.now(), lost: 0 };
    this.#reconnecting = this.#reconnect();
    this.#checkIdle();
  }

  /** Dials again, backing off, until it works or the run ends. */
  async #reconnect(): Promise<void> {
    const signal = this.#signal;
    for (
      let pause = 0;;
      pause = Math.min(MAX_BACKOFF, pause * 2 || FIRST_BACKOFF)
    ) {
      try {
        if (pause > 0) await delay(pause, { signal });
        if (signal.aborted) return;
        await this.#connect();
      } catch {
        if (signal.aborted || this.#closed) return;
        continue;
      }
      const down = this.#down!;
      this.#down = undefined;
      this.#sink.link({
        type: "reconnected",
        after: performance.now() - down.since,
        lost: down.lost,
        remote: this.#remote,
      });
      return;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    for (const entry of this.#inFlight) clearTimeout(entry.timer);
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) closeQuietly(conn);
    this.#checkIdle();
    await this.#reconnecting;
    await this.#reading;
  }
}
