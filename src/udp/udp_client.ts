// Copyright the deno-echo authors. MIT license.

import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import type { RemoteInfo, Socket } from "node:dgram";
import { ipFamily, unmapIPv4 } from "../net/address.ts";
import { type IPFamily, resolveAll } from "../net/resolve.ts";
import {
  bindUdp,
  checkDatagramSize,
  closeUdp,
  DEFAULT_MAX_DATAGRAM_SIZE,
} from "./udp_socket.ts";

/** How long the UDP client waits for each echo before sending again, in ms. */
export const DEFAULT_UDP_TIMEOUT = 1000;
/** How many times the UDP client sends a datagram again before giving up. */
export const DEFAULT_UDP_RETRIES = 2;

const encoder = new TextEncoder();

/** Options for {@linkcode openUdpClient} and {@linkcode udpEcho}. */
export interface UdpClientOptions {
  /**
   * A name or an IP literal (IPv6 without brackets). A name means every
   * address it resolves to: until one of them has answered, each datagram
   * goes to all of them, and the first to answer is used from then on.
   * `localhost` also means both `127.0.0.1` and `::1`.
   *
   * @default {"localhost"}
   */
  hostname?: string;
  /**
   * The server's port.
   *
   * @default {2000}
   */
  port?: number;
  /** Use only IPv4 (4) or only IPv6 (6) addresses. */
  family?: IPFamily;
  /**
   * How long to wait for each echo before sending the datagram again (or
   * giving up), in milliseconds.
   *
   * @default {1000}
   */
  timeout?: number;
  /**
   * How many times a datagram is sent again when its echo does not come
   * back in time.
   *
   * @default {2}
   */
  retries?: number;
  /**
   * The largest payload sent, 1 to 65507 bytes; a larger one is a
   * `RangeError`. Match the server's.
   *
   * @default {8192}
   */
  maxDatagramSize?: number;
  /** Aborting closes the client; pending echoes reject with its reason. */
  signal?: AbortSignal;
}

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
 * import { DatagramLostError } from "./udp_client.ts";
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

/** One address the client sends to. */
interface Target {
  address: string;
  port: number;
  family: 4 | 6;
  /** The address in canonical form and the port, to match replies. */
  key: string;
}

interface Settings {
  timeout: number;
  retries: number;
  maxDatagramSize: number;
}

let create: (
  targets: readonly Target[],
  sockets: ReadonlyMap<4 | 6, Socket>,
  settings: Settings,
) => UdpEchoClient;
let receive: (
  client: UdpEchoClient,
  msg: Uint8Array,
  rinfo: RemoteInfo,
) => void;
let setSignal: (client: UdpEchoClient, signal: AbortSignal) => void;

/** An echo being waited for. */
interface Waiter {
  data: Uint8Array;
  targets: readonly Target[];
  answered(target: Target, echo: Uint8Array): void;
  fail(error: unknown): void;
}

/**
 * A UDP echo client: sends each payload as one datagram and waits for the
 * identical echo, sending again after each timeout. A reply counts only if
 * it comes from an address the datagram went to and has the same bytes;
 * anything else is ignored. Several echoes may be awaited at once.
 *
 * @example Echo two datagrams
 * ```ts
 * import { serveUdp } from "./udp_server.ts";
 * import { openUdpClient } from "./udp_client.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
 * await using client = await openUdpClient(server.addrs[0]!);
 * assertEquals((await client.echo("one")).attempts, 1);
 * assertEquals(new TextDecoder().decode((await client.echo("two")).data), "two");
 * ```
 */
export class UdpEchoClient implements AsyncDisposable {
  readonly #targets: readonly Target[];
  readonly #sockets: ReadonlyMap<4 | 6, Socket>;
  readonly #timeout: number;
  readonly #retries: number;
  readonly #maxDatagramSize: number;
  readonly #waiters = new Set<Waiter>();
  #pinned: Target | undefined;
  #closed: Promise<void> | undefined;
  #closedReason: unknown;
  #onAbort: (() => void) | undefined;
  #signal: AbortSignal | undefined;

  /** Made by {@linkcode openUdpClient}. */
  private constructor(
    targets: readonly Target[],
    sockets: ReadonlyMap<4 | 6, Socket>,
    settings: Settings,
  ) {
    this.#targets = targets;
    this.#sockets = sockets;
    this.#timeout = settings.timeout;
    this.#retries = settings.retries;
    this.#maxDatagramSize = settings.maxDatagramSize;
  }

  static {
    // For openUdpClient only: the constructor and the receiver stay private.
    create = (targets, sockets, settings) =>
      new UdpEchoClient(targets, sockets, settings);
    receive = (client, msg, rinfo) => client.#onMessage(msg, rinfo);
    setSignal = (client, signal) => {
      const onAbort = (): void => void client.#close(signal.reason);
      client.#signal = signal;
      client.#onAbort = onAbort;
      signal.addEventListener("abort", onAbort, { once: true });
    };
  }

  /**
   * The server's address: the one that has answered, or until one has, the
   * first the name resolved to.
   */
  get remoteAddr(): Deno.NetAddr {
    const { address, port } = this.#pinned ?? this.#targets[0]!;
    return { transport: "udp", hostname: address, port };
  }

  /**
   * Sends a payload as one datagram and waits for its echo, sending again
   * after each timeout up to `retries` times.
   *
   * @param payload The bytes, or text to send as UTF-8.
   * @returns The echo, with how many tries it took.
   * @throws {DatagramLostError} If no echo came back after every try.
   * @throws {RangeError} If the payload is larger than `maxDatagramSize`.
   * @throws {Deno.errors.BadResource} If the client is closed.
   */
  echo(payload: Uint8Array | string): Promise<UdpEchoReply> {
    // A copy: the caller may reuse its buffer while retries are due.
    const data = typeof payload === "string"
      ? encoder.encode(payload)
      : new Uint8Array(payload);
    if (data.length > this.#maxDatagramSize) {
      return Promise.reject(
        new RangeError(
          `Payload of ${data.length} bytes is larger than maxDatagramSize (${this.#maxDatagramSize})`,
        ),
      );
    }
    if (this.#closed !== undefined) return Promise.reject(this.#closedReason);
    const targets = this.#pinned === undefined ? this.#targets : [this.#pinned];
    return new Promise((resolve, reject) => {
      let attempts = 0;
      let sentAt = 0;
      let sends = 0;
      let sendErrors = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        return true;
      };
      const waiter: Waiter = {
        data,
        targets,
        answered: (target, echo) => {
          if (!finish()) return;
          this.#pinned ??= target;
          resolve({
            // A copy of just the datagram, not of the buffer it was read into.
            data: new Uint8Array(echo),
            attempts,
            rtt: performance.now() - sentAt,
            remoteAddr: {
              transport: "udp",
              hostname: target.address,
              port: target.port,
            },
          });
        },
        fail: (error) => {
          if (finish()) reject(error);
        },
      };
      const onSent = (error: Error | null): void => {
        if (!error || done) return;
        // Retries are for losses on the way; when the system sends none of
        // the datagrams at all (no route, ...), that is an error at once.
        if (++sendErrors === sends) waiter.fail(error);
      };
      const attempt = (): void => {
        attempts++;
        sentAt = performance.now();
        sends += targets.length;
        for (const target of targets) {
          if (done) return;
          try {
            this.#sockets.get(target.family)!.send(
              data,
              target.port,
              target.address,
              onSent,
            );
          } catch (error) {
            onSent(error as Error);
          }
        }
        if (done) return;
        timer = setTimeout(() => {
          if (attempts <= this.#retries) attempt();
          else waiter.fail(new DatagramLostError(attempts, this.#timeout));
        }, this.#timeout);
      };
      this.#waiters.add(waiter);
      attempt();
    });
  }

  #onMessage(msg: Uint8Array, rinfo: RemoteInfo): void {
    const key = addressKey(rinfo.address, rinfo.port);
    for (const waiter of this.#waiters) {
      const target = waiter.targets.find((t) => t.key === key);
      if (target !== undefined && equalBytes(msg, waiter.data)) {
        waiter.answered(target, msg);
        return;
      }
    }
    // A late duplicate of an echo already received, or a stranger's datagram.
  }

  #close(reason: unknown): Promise<void> {
    if (this.#closed === undefined) {
      this.#closedReason = reason;
      for (const waiter of this.#waiters) waiter.fail(reason);
      if (this.#onAbort !== undefined) {
        this.#signal?.removeEventListener("abort", this.#onAbort);
      }
      this.#closed = Promise.all([...this.#sockets.values()].map(closeUdp))
        .then(() => {});
    }
    return this.#closed;
  }

  /**
   * Closes the client's sockets; echoes still awaited reject with
   * `Deno.errors.BadResource`.
   *
   * @returns Once the sockets are closed.
   */
  close(): Promise<void> {
    return this.#close(
      new Deno.errors.BadResource("The UDP echo client is closed"),
    );
  }

  /** Closes the client, as {@linkcode UdpEchoClient.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens a UDP echo client: resolves the server's name and binds the
 * client's sockets. Nothing is sent until {@linkcode UdpEchoClient.echo}.
 *
 * @example Echo over IPv6
 * ```ts
 * import { serveUdp } from "./udp_server.ts";
 * import { openUdpClient } from "./udp_client.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveUdp({ hostname: "::1", port: 0 });
 * await using client = await openUdpClient({ hostname: "::1", port: server.addrs[0]!.port });
 * assertEquals((await client.echo("v6")).remoteAddr.hostname, "::1");
 * ```
 *
 * @param options Where the server is, timeout, retries and cancellation.
 * @returns The client; close it (or `await using` it) when done.
 * @throws {RangeError} If an option is out of range.
 * @throws {UnknownHostError} If the name resolves to nothing usable.
 */
export async function openUdpClient(
  options: UdpClientOptions = {},
): Promise<UdpEchoClient> {
  const {
    hostname = DEFAULT_HOSTNAME,
    port = DEFAULT_PORT,
    family,
    timeout = DEFAULT_UDP_TIMEOUT,
    retries = DEFAULT_UDP_RETRIES,
    signal,
  } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port ${port}: expected 1 to 65535`);
  }
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new RangeError(`Invalid timeout ${timeout}: expected more than 0`);
  }
  if (!Number.isInteger(retries) || retries < 0) {
    throw new RangeError(`Invalid retries ${retries}: expected 0 or more`);
  }
  const maxDatagramSize = checkDatagramSize(
    options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE,
  );
  signal?.throwIfAborted();
  const resolved = await resolveAll(hostname, family);
  signal?.throwIfAborted();

  // One socket per family, on the family's wildcard address and a free
  // port, as a socket that sends without binding would get.
  const sockets = new Map<4 | 6, Socket>();
  const targets: Target[] = [];
  // Filled in once the client exists; nothing is sent before.
  const made: { client?: UdpEchoClient } = {};
  const onMessage = (msg: Uint8Array, rinfo: RemoteInfo): void => {
    if (made.client !== undefined) receive(made.client, msg, rinfo);
  };
  try {
    for (const { address, optional } of resolved) {
      const addressFamily = ipFamily(address) as 4 | 6;
      if (!sockets.has(addressFamily)) {
        try {
          const { socket } = await bindUdp(
            addressFamily === 4 ? "0.0.0.0" : "::",
            0,
            (socket) => {
              socket.on("message", onMessage);
              // Send failures reach the send callbacks; nothing else is
              // expected, and an unheard `error` event would throw.
              socket.on("error", () => {});
            },
          );
          sockets.set(addressFamily, socket);
        } catch (error) {
          if (optional) continue; // A loopback the host lacks.
          throw error;
        }
      }
      targets.push({
        address,
        port,
        family: addressFamily,
        key: addressKey(address, port),
      });
    }
    signal?.throwIfAborted();
  } catch (error) {
    await Promise.all([...sockets.values()].map(closeUdp));
    throw error;
  }
  const client = create(targets, sockets, {
    timeout,
    retries,
    maxDatagramSize,
  });
  made.client = client;
  if (signal !== undefined) setSignal(client, signal);
  return client;
}

/**
 * Sends one datagram to a UDP echo server and waits for its echo, with
 * retries; opens a client for it and closes it afterwards.
 *
 * @example Echo one datagram
 * ```ts
 * import { serveUdp } from "./udp_server.ts";
 * import { udpEcho } from "./udp_client.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
 * const reply = await udpEcho("ping", { hostname: "127.0.0.1", port: server.addrs[0]!.port, timeout: 500 });
 * assertEquals(new TextDecoder().decode(reply.data), "ping");
 * ```
 *
 * @param payload The bytes, or text to send as UTF-8.
 * @param options Where the server is, timeout, retries and cancellation.
 * @returns The echo.
 * @throws {DatagramLostError} If no echo came back after every try.
 * @throws {RangeError} If an option is out of range or the payload too big.
 * @throws {UnknownHostError} If the name resolves to nothing usable.
 */
export async function udpEcho(
  payload: Uint8Array | string,
  options: UdpClientOptions = {},
): Promise<UdpEchoReply> {
  await using client = await openUdpClient(options);
  return await client.echo(payload);
}

/** An address (IPv4-mapped shown as IPv4, IPv6 in canonical form) and port. */
function addressKey(address: string, port: number): string {
  let host = unmapIPv4(address).toLowerCase();
  if (ipFamily(host) === 6) {
    try {
      host = new URL(`http://[${host}]/`).hostname;
    } catch {
      // A zone index (`fe80::1%eth0`): compare as written.
    }
  }
  return `${host} ${port}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
