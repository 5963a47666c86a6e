// Copyright the deno-echo authors. MIT license.

import type { UdpTarget } from "./udp_targets.ts";

/** An echo that came back. */
export interface UdpEchoReply {
  /** The echoed bytes: always the bytes sent. */
  data: Uint8Array;
  /** How many times the datagram was sent: 1 plus the retries used. */
  attempts: number;
  /** Milliseconds from the last send to the echo. */
  rtt: number;
  /** Who echoed it. */
  remoteAddr: Deno.NetAddr;
}

/**
 * Raised when no echo came back after every try: the datagram, or its echo,
 * was lost (or dropped by the server's limits), or nothing listens there.
 *
 * @example Tell a loss from other failures
 * ```ts
 * import { DatagramLostError } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new DatagramLostError(3, 1000).attempts, 3);
 * ```
 */
export class DatagramLostError extends Error {
  /** How many times the datagram was sent. */
  readonly attempts: number;

  /**
   * Makes the error.
   *
   * @param attempts How many times the datagram was sent.
   * @param timeout How long each try waited, in ms.
   */
  constructor(attempts: number, timeout: number) {
    super(
      `No echo after ${attempts} ${
        attempts === 1 ? "try" : "tries"
      } of ${timeout} ms each`,
    );
    this.name = "DatagramLostError";
    this.attempts = attempts;
  }
}

/** What a pending echo needs from its client. */
export interface EchoSender {
  /** How long each try waits for the echo, in ms. */
  readonly timeout: number;
  /** How many times a datagram is sent again. */
  readonly retries: number;
  /**
   * Hands a datagram to the system (may throw); `onSent` hears whether it
   * went out.
   */
  send(
    target: UdpTarget,
    data: Uint8Array,
    onSent: (error: Error | null) => void,
  ): void;
  /** The echo is settled: answered by `target`, or failed (`undefined`). */
  settled(pending: PendingEcho, target: UdpTarget | undefined): void;
}

/**
 * One echo being waited for: sends the datagram to every target, again
 * after each timeout up to `retries` times, and settles on the first reply
 * that matches, on a loss, or when the client fails it.
 */
export class PendingEcho {
  /** Resolves with the echo; rejects on a loss or when failed. */
  readonly promise: Promise<UdpEchoReply>;
  readonly #data: Uint8Array;
  readonly #targets: readonly UdpTarget[];
  readonly #sender: EchoSender;
  readonly #resolve: (reply: UdpEchoReply) => void;
  readonly #reject: (error: unknown) => void;
  #attempts = 0;
  #sentAt = 0;
  #sends = 0;
  #sendErrors = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #done = false;

  /**
   * Prepares the echo; nothing is sent before {@linkcode PendingEcho.attempt}.
   *
   * @param data The datagram, the caller's no more.
   * @param targets Where to send it.
   * @param sender The client's sockets and settings.
   */
  constructor(
    data: Uint8Array,
    targets: readonly UdpTarget[],
    sender: EchoSender,
  ) {
    this.#data = data;
    this.#targets = targets;
    this.#sender = sender;
    const { promise, resolve, reject } = Promise.withResolvers<UdpEchoReply>();
    this.promise = promise;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Sends the datagram to every target, and waits one timeout for it. */
  attempt(): void {
    this.#attempts++;
    this.#sentAt = performance.now();
    this.#sends += this.#targets.length;
    const onSent = (error: Error | null): void => this.#onSent(error);
    for (const target of this.#targets) {
      if (this.#done) return;
      try {
        this.#sender.send(target, this.#data, onSent);
      } catch (error) {
        onSent(error as Error);
      }
    }
    if (this.#done) return;
    const { timeout, retries } = this.#sender;
    this.#timer = setTimeout(() => {
      if (this.#attempts <= retries) this.attempt();
      else this.fail(new DatagramLostError(this.#attempts, timeout));
    }, timeout);
  }

  #onSent(error: Error | null): void {
    if (!error || this.#done) return;
    // Retries are for losses on the way; when the system sends none of the
    // datagrams at all (no route, ...), that is an error at once.
    if (++this.#sendErrors === this.#sends) this.fail(error);
  }

  /**
   * Settles the echo if a datagram received is its reply: the same bytes,
   * from an address it was sent to.
   *
   * @param key The sender's address key (see `addressKey`).
   * @param msg The datagram received.
   * @returns Whether it was the reply.
   */
  answeredBy(key: string, msg: Uint8Array): boolean {
    const target = this.#targets.find((t) => t.key === key);
    if (target === undefined || !equalBytes(msg, this.#data)) return false;
    if (!this.#finish(target)) return true;
    this.#resolve({
      // A copy of just the datagram, not of the buffer it was read into.
      data: new Uint8Array(msg),
      attempts: this.#attempts,
      rtt: performance.now() - this.#sentAt,
      remoteAddr: {
        transport: "udp",
        hostname: target.address,
        port: target.port,
      },
    });
    return true;
  }

  /**
   * Rejects the echo, if it is still pending.
   *
   * @param error The reason.
   */
  fail(error: unknown): void {
    if (this.#finish(undefined)) this.#reject(error);
  }

  #finish(target: UdpTarget | undefined): boolean {
    if (this.#done) return false;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#sender.settled(this, target);
    return true;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
