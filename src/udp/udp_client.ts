// Copyright the deno-echo authors. MIT license.

import { sourceFamily } from "../net/source.ts";
import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import type { RemoteInfo, Socket } from "node:dgram";
import { checkDuration } from "../net/duration.ts";
import { type IPFamily, resolveAll } from "../net/resolve.ts";
import {
  type EchoSender,
  PendingEcho,
  type UdpEchoReply,
} from "./pending_echo.ts";
import { checkDatagramSize, DEFAULT_MAX_DATAGRAM_SIZE } from "./udp_socket.ts";
import {
  addressKey,
  closeSockets,
  openTargets,
  type UdpTarget,
} from "./udp_targets.ts";

export { DatagramLostError, type UdpEchoReply } from "./pending_echo.ts";

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
   * giving up), in milliseconds: 1 to 2147483647 (about 24.8 days).
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
  /**
   * Send from this local address (an IP literal of this host) and port (0
   * or none: any); only the server's addresses of its family are used.
   *
   * @default {undefined}
   */
  source?: { hostname: string; port?: number };
  /** Aborting closes the client; pending echoes reject with its reason. */
  signal?: AbortSignal;
}

interface Settings {
  timeout: number;
  retries: number;
  maxDatagramSize: number;
}

let create: (
  targets: readonly UdpTarget[],
  sockets: ReadonlyMap<4 | 6, Socket>,
  settings: Settings,
) => UdpEchoClient;
let receive: (
  client: UdpEchoClient,
  msg: Uint8Array,
  rinfo: RemoteInfo,
) => void;
let setSignal: (client: UdpEchoClient, signal: AbortSignal) => void;

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
  readonly #targets: readonly UdpTarget[];
  readonly #sockets: ReadonlyMap<4 | 6, Socket>;
  readonly #maxDatagramSize: number;
  readonly #sender: EchoSender;
  readonly #waiters = new Set<PendingEcho>();
  #pinned: UdpTarget | undefined;
  #closed: Promise<void> | undefined;
  #closedReason: unknown;
  #onAbort: (() => void) | undefined;
  #signal: AbortSignal | undefined;

  /** Made by {@linkcode openUdpClient}. */
  private constructor(
    targets: readonly UdpTarget[],
    sockets: ReadonlyMap<4 | 6, Socket>,
    settings: Settings,
  ) {
    this.#targets = targets;
    this.#sockets = sockets;
    this.#maxDatagramSize = settings.maxDatagramSize;
    this.#sender = {
      timeout: settings.timeout,
      retries: settings.retries,
      send: (target, data, onSent) =>
        sockets.get(target.family)!.send(
          data,
          target.port,
          target.address,
          onSent,
        ),
      settled: (pending, target) => {
        this.#waiters.delete(pending);
        if (target !== undefined) this.#pinned ??= target;
      },
    };
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
    const pending = new PendingEcho(data, targets, this.#sender);
    this.#waiters.add(pending);
    pending.attempt();
    return pending.promise;
  }

  #onMessage(msg: Uint8Array, rinfo: RemoteInfo): void {
    const key = addressKey(rinfo.address, rinfo.port);
    for (const waiter of this.#waiters) {
      if (waiter.answeredBy(key, msg)) return;
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
      this.#closed = closeSockets(this.#sockets);
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
  checkDuration("timeout", timeout, 1);
  if (!Number.isInteger(retries) || retries < 0) {
    throw new RangeError(`Invalid retries ${retries}: expected 0 or more`);
  }
  const maxDatagramSize = checkDatagramSize(
    options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE,
  );
  signal?.throwIfAborted();
  const resolved = await resolveAll(
    hostname,
    familyFor(options.source, family),
  );
  signal?.throwIfAborted();

  // Filled in once the client exists; nothing is sent before.
  const made: { client?: UdpEchoClient } = {};
  const { targets, sockets } = await openTargets(
    resolved,
    port,
    (msg, rinfo) => {
      if (made.client !== undefined) receive(made.client, msg, rinfo);
    },
    options.source,
  );
  if (signal?.aborted) {
    await closeSockets(sockets);
    signal.throwIfAborted();
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

/** The family to resolve for: the source's, checked against `family`. */
function familyFor(
  source: UdpClientOptions["source"],
  family: IPFamily | undefined,
): IPFamily | undefined {
  return source === undefined ? family : sourceFamily(source, family);
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
