// Copyright the deno-echo authors. MIT license.

// Probing with a new connection for each probe: connect (through the proxy,
// TLS), send one probe, read its echo, close; each step timed apart, as
// tcpping and paping do. A failure to connect is a lost probe, except for
// the first probe's, which ends the run (the target is wrong, most likely).

import { formatAddress } from "../net/address.ts";
import { closeQuietly } from "../net/close.ts";
import { comparePayload, pingPayload } from "./ping_payload.ts";
import {
  lossWords,
  openStream,
  peerName,
  type PingSettings,
  type Prober,
  type ProbeSink,
} from "./ping_conn.ts";
import type { PingProbe } from "./ping_types.ts";
import type { RoutedConn } from "./proxy_dial.ts";

/** A new connection per probe; see the module comment. */
export class OnceProber implements Prober {
  readonly #settings: PingSettings;
  readonly #sink: ProbeSink;
  #first = true;
  #from: string;

  constructor(settings: PingSettings, sink: ProbeSink) {
    this.#settings = settings;
    this.#sink = sink;
    this.#from = settings.transport === "unix"
      ? `unix:${settings.path}`
      : formatAddress({ hostname: settings.hostname, port: settings.port });
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  async probe(seq: number): Promise<void> {
    const { signal, size } = this.#settings;
    let routed: RoutedConn;
    try {
      routed = await openStream(this.#settings, signal);
    } catch (error) {
      if (this.#first || signal.aborted) throw error;
      this.#sink.probe({
        seq,
        status: "lost",
        bytes: size,
        from: this.#from,
        reason: "connect failed",
        error: lossWords(error),
      });
      return;
    }
    const { conn, timings } = routed;
    this.#from = peerName(this.#settings, conn);
    if (this.#first) {
      this.#first = false;
      this.#sink.link({
        type: "connected",
        remote: this.#from,
        local: formatAddress(conn.localAddr),
      });
    }
    const outcome = await this.#echo(conn, seq);
    if (signal.aborted) return;
    this.#sink.probe({
      seq,
      bytes: size,
      from: this.#from,
      timings,
      ...outcome,
    });
  }

  /** Sends the probe, reads its echo within `wait`, closes. */
  async #echo(
    conn: Deno.Conn,
    seq: number,
  ): Promise<
    Pick<PingProbe, "status" | "time" | "reason" | "error" | "mismatch">
  > {
    const { size, wait, signal } = this.#settings;
    const payload = pingPayload(seq, size);
    const echo = new Uint8Array(size);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      closeQuietly(conn);
    }, wait);
    const onAbort = (): void => closeQuietly(conn);
    signal.addEventListener("abort", onAbort, { once: true });
    const sentAt = performance.now();
    try {
      const writing = (async () => {
        for (let off = 0; off < size;) {
          off += await conn.write(payload.subarray(off));
        }
      })();
      // Awaited below; a failure while the read fails first is no news.
      writing.catch(() => {});
      let filled = 0;
      while (filled < size) {
        const n = await conn.read(echo.subarray(filled));
        if (n === null) {
          return {
            status: "lost",
            reason: "connection lost",
            error: lossWords(null),
          };
        }
        filled += n;
      }
      await writing;
      const time = performance.now() - sentAt;
      const mismatch = comparePayload(payload, echo);
      return mismatch === undefined
        ? { status: "echoed", time }
        : { status: "wrong", time, mismatch };
    } catch (error) {
      if (timedOut) return { status: "lost", reason: "timeout" };
      return {
        status: "lost",
        reason: "connection lost",
        error: lossWords(error),
      };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      closeQuietly(conn);
    }
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}
