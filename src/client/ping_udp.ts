// Copyright the deno-echo authors. MIT license.

// Probing over UDP: each probe one datagram from a socket connected to the
// server (so only its datagrams come in), matched to its echo by the
// sequence number it carries. No connection, so nothing to lose or make
// again: a datagram without an echo in time is lost, and one that comes
// later is reported late.

import type { Socket } from "node:dgram";
import { formatAddress, ipFamily } from "../net/address.ts";
import { resolveAll } from "../net/resolve.ts";
import { bindUdp, closeUdp } from "../udp/udp_socket.ts";
import { comparePayload, payloadSeq, pingPayload } from "./ping_payload.ts";
import type { PingSettings, Prober, ProbeSink } from "./ping_conn.ts";
import { sourceFamily } from "../net/source.ts";

/** How many lost probes are remembered to tell a late echo from a stray. */
const LATE_WINDOW = 1024;

interface Sent {
  payload: Uint8Array;
  sentAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** UDP probes; see the module comment. */
export class UdpProber implements Prober {
  readonly #settings: PingSettings;
  readonly #sink: ProbeSink;
  #socket: Socket | undefined;
  #remote = "";
  readonly #inFlight = new Map<number, Sent>();
  readonly #lost = new Map<number, Sent>();
  #idle: (() => void)[] = [];

  constructor(settings: PingSettings, sink: ProbeSink) {
    this.#settings = settings;
    this.#sink = sink;
  }

  async start(): Promise<void> {
    const { hostname, port, route } = this.#settings;
    const { source, family } = route;
    const wanted = source === undefined ? family : sourceFamily(source, family);
    const [first] = await resolveAll(hostname, wanted);
    const address = first!.address;
    const wildcard = ipFamily(address) === 6 ? "::" : "0.0.0.0";
    const { socket, addr } = await bindUdp(
      source?.hostname ?? wildcard,
      source?.port ?? 0,
      (socket) => {
        socket.on("message", (msg: Uint8Array) => this.#receive(msg));
        // A refused datagram (ICMP port unreachable) is a lost probe.
        socket.on("error", () => {});
      },
    );
    this.#socket = socket;
    try {
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      socket.connect(
        port,
        address,
        (error?: Error) => error ? reject(error) : resolve(),
      );
      await promise;
    } catch (error) {
      await closeUdp(socket);
      this.#socket = undefined;
      throw error;
    }
    this.#remote = formatAddress({ hostname: address, port });
    // The address the system chose once connected, when the bind left it open.
    const local = socket.address();
    this.#sink.link({
      type: "connected",
      remote: this.#remote,
      local: formatAddress({
        hostname: local.address,
        port: local.port ?? addr.port,
      }),
    });
  }

  probe(seq: number): Promise<void> {
    const { size, wait } = this.#settings;
    const sent: Sent = {
      payload: pingPayload(seq, size),
      sentAt: performance.now(),
      timer: undefined,
    };
    sent.timer = setTimeout(() => this.#timedOut(seq, sent), wait);
    this.#inFlight.set(seq, sent);
    this.#socket!.send(sent.payload, () => {});
    return Promise.resolve();
  }

  #timedOut(seq: number, sent: Sent): void {
    this.#inFlight.delete(seq);
    this.#lost.set(seq, sent);
    if (this.#lost.size > LATE_WINDOW) {
      this.#lost.delete(this.#lost.keys().next().value!);
    }
    this.#sink.probe({
      seq,
      status: "lost",
      bytes: this.#settings.size,
      from: this.#remote,
      reason: "timeout",
    });
    this.#checkIdle();
  }

  #receive(msg: Uint8Array): void {
    const seq = payloadSeq(msg);
    if (seq === undefined) return; // A stranger's datagram.
    const base = { seq, bytes: this.#settings.size, from: this.#remote };
    const sent = this.#inFlight.get(seq);
    if (sent !== undefined) {
      clearTimeout(sent.timer);
      this.#inFlight.delete(seq);
      const time = performance.now() - sent.sentAt;
      const mismatch = comparePayload(sent.payload, msg);
      this.#sink.probe(
        mismatch === undefined
          ? { ...base, status: "echoed", time }
          : { ...base, status: "wrong", time, mismatch },
      );
      this.#checkIdle();
      return;
    }
    const late = this.#lost.get(seq);
    if (late !== undefined && comparePayload(late.payload, msg) === undefined) {
      this.#lost.delete(seq);
      this.#sink.probe({
        ...base,
        status: "late",
        time: performance.now() - late.sentAt,
      });
    }
    // Otherwise a duplicate of an echo already counted.
  }

  settle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#idle.push(resolve);
    return promise;
  }

  #checkIdle(): void {
    if (this.#inFlight.size > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const sent of this.#inFlight.values()) clearTimeout(sent.timer);
    this.#inFlight.clear();
    this.#checkIdle();
    if (this.#socket !== undefined) await closeUdp(this.#socket);
  }
}
