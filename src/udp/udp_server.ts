// Copyright the deno-echo authors. MIT license.

import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import { checkDuration } from "../net/duration.ts";
import { callHook, closeOnAbort } from "../net/hook.ts";
import type { RemoteInfo, Socket } from "node:dgram";
import { unmapIPv4 } from "../net/address.ts";
import { DropPolicy, type UdpDropReason } from "./drop_policy.ts";
import { SourceLimiter } from "./source_limiter.ts";
import { UdpActivity, type UdpActivityInfo } from "./udp_activity.ts";
import {
  bindAllUdp,
  checkDatagramSize,
  closeUdp,
  DEFAULT_MAX_DATAGRAM_SIZE,
} from "./udp_socket.ts";

// The sockets are `node:dgram` ones: `Deno.listenDatagram` still needs
// `--unstable-net` in Deno 2.9, while `node:dgram` is stable and needs only
// `--allow-net` (see udp_socket.ts).

export { REFLECTOR_PORTS, type UdpDropReason } from "./drop_policy.ts";
export type { UdpActivityInfo } from "./udp_activity.ts";

/** Datagrams per second one source address may have echoed in the long run. */
export const DEFAULT_UDP_RATE_PER_SOURCE = 100;
/** Datagrams one source address may have echoed at once after a quiet spell. */
export const DEFAULT_UDP_BURST = 200;
/** How many source addresses the rate limiter remembers. */
export const DEFAULT_UDP_MAX_SOURCES = 10_000;
/** At most one `onActivity` report per source in this many ms. */
export const DEFAULT_UDP_ACTIVITY_INTERVAL = 10_000;
/** How many sources `onActivity` tracks at once; more go unreported. */
const ACTIVITY_SOURCES = 1024;

/**
 * Echoes handed to the system and not yet sent. Each received datagram holds
 * a 64 KiB buffer until its echo is sent (the way Deno's `node:dgram`
 * receives), so this bounds memory when sending falls behind.
 */
const MAX_PENDING_ECHOES = 256;

/** A datagram as the server's hooks see it. */
export interface UdpDatagramInfo {
  /** The sender; IPv4-mapped IPv6 addresses are shown as IPv4. */
  remoteAddr: Deno.NetAddr;
  /** The server address the datagram reached. */
  localAddr: Deno.NetAddr;
  /** The payload's size in bytes. */
  size: number;
}

/** A datagram that was not echoed, and why. */
export interface UdpDropInfo extends UdpDatagramInfo {
  /** Why it was dropped. */
  reason: UdpDropReason;
}

/** What a UDP echo server has done so far. */
export interface UdpEchoStats {
  /** Datagrams echoed (handed to the system to send back). */
  echoedDatagrams: number;
  /** Payload bytes echoed. */
  echoedBytes: number;
  /** Datagrams dropped, by reason. */
  dropped: Record<UdpDropReason, number>;
  /** Echoes the system failed to send (also reported to `onError`). */
  sendErrors: number;
}

/** Options for {@linkcode serveUdp}. */
export interface UdpServeOptions {
  /**
   * Where to listen: a name (every address it resolves to; `localhost` means
   * both `127.0.0.1` and `::1`), an IP literal, or `::` for every interface
   * on both stacks.
   *
   * @default {"localhost"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one (the same on every address).
   *
   * @default {2000}
   */
  port?: number;
  /**
   * Larger datagrams are dropped, not echoed; 1 to 65507 bytes.
   *
   * @default {8192}
   */
  maxDatagramSize?: number;
  /**
   * Datagrams per second echoed to one source address in the long run
   * (a token bucket per address); 0 means no limit. Bounds what a spoofed
   * source address can make the server send to its real owner.
   *
   * @default {100}
   */
  ratePerSource?: number;
  /**
   * Datagrams one source address may have echoed at once after a quiet
   * spell (the bucket's size); 1 or more.
   *
   * @default {200}
   */
  burst?: number;
  /**
   * How many source addresses the rate limiter remembers; when full, the
   * one heard from least recently is forgotten, so a flood from spoofed
   * addresses cannot exhaust memory.
   *
   * @default {10000}
   */
  maxSources?: number;
  /**
   * Echo datagrams from source ports below 1024 (system services, never a
   * client program). Ports in {@linkcode REFLECTOR_PORTS} and port 0 are
   * dropped all the same.
   *
   * @default {false}
   */
  allowPrivilegedSourcePorts?: boolean;
  /** Aborting closes the server. */
  signal?: AbortSignal;
  /** Called once, with every bound address, when the server is listening. */
  onListen?: (addrs: readonly Deno.NetAddr[]) => void;
  /** Called for each datagram dropped; see {@linkcode UdpDropReason}. */
  onDrop?: (info: UdpDropInfo) => void;
  /**
   * Called for each datagram echoed. Runs once per datagram: keep it cheap.
   */
  onEcho?: (info: UdpDatagramInfo) => void;
  /**
   * Called with what a source address had echoed: at once for its first
   * datagram, then at most once per `activityInterval` for the ones since
   * (and for those left when the server closes). A source quiet for a whole
   * interval is forgotten, so its next datagram is reported at once. Up to
   * 1024 sources are tracked at once; beyond that new ones go unreported.
   */
  onActivity?: (info: UdpActivityInfo) => void;
  /**
   * At most one `onActivity` report per source in this many ms.
   *
   * @default {10000}
   */
  activityInterval?: number;
  /** Called when a socket reports an error or an echo cannot be sent. */
  onError?: (error: Error) => void;
}

/**
 * A running UDP echo server, shaped like the TCP server's handle. With no
 * connections to drain, `shutdown()` and `close()` do the same.
 */
export interface UdpEchoServer extends AsyncDisposable {
  /** The bound addresses (transport `"udp"`, the real port when 0 was asked). */
  readonly addrs: readonly Deno.NetAddr[];
  /** Resolves once every socket is closed. */
  readonly finished: Promise<void>;
  /** A snapshot of what the server has done so far. */
  readonly stats: UdpEchoStats;
  /**
   * Closes every socket.
   *
   * @returns {@linkcode UdpEchoServer.finished}.
   */
  shutdown(): Promise<void>;
  /**
   * Closes every socket.
   *
   * @returns {@linkcode UdpEchoServer.finished}.
   */
  close(): Promise<void>;
}

/**
 * Starts a UDP echo server (RFC 862): each datagram is sent back unchanged
 * to its sender, from the socket it reached. It refuses to take part in
 * reflection and loop attacks: datagrams from privileged and
 * {@linkcode REFLECTOR_PORTS} source ports are dropped, oversized ones too,
 * and each source address is rate-limited. A socket error never stops it.
 *
 * @example Echo one datagram on a free port
 * ```ts
 * import { serveUdp } from "./udp_server.ts";
 * import { udpEcho } from "./udp_client.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
 * const reply = await udpEcho("hello", server.addrs[0]!);
 * assertEquals(new TextDecoder().decode(reply.data), "hello");
 * assertEquals(server.stats.echoedDatagrams, 1);
 * ```
 *
 * @param options Where to listen, limits, hooks and cancellation.
 * @returns The running server.
 * @throws {RangeError} If an option is out of range.
 * @throws The `signal`'s reason if it is aborted before the server listens
 * (`onListen` is then not called).
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {Deno.errors.PermissionDenied} If the system refuses the port.
 * @throws {Deno.errors.AddrNotAvailable} If the address is not this host's.
 * @throws {UnknownHostError} If the hostname names no address.
 */
export async function serveUdp(
  options: UdpServeOptions = {},
): Promise<UdpEchoServer> {
  const { hostname = DEFAULT_HOSTNAME, port = DEFAULT_PORT, signal } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid port ${port}: expected 0 to 65535`);
  }
  const rate = options.ratePerSource ?? DEFAULT_UDP_RATE_PER_SOURCE;
  if (!Number.isFinite(rate) || rate < 0) {
    throw new RangeError(`Invalid ratePerSource ${rate}: expected 0 or more`);
  }
  const burst = options.burst ?? DEFAULT_UDP_BURST;
  if (!Number.isInteger(burst) || burst < 1) {
    throw new RangeError(`Invalid burst ${burst}: expected 1 or more`);
  }
  const maxSources = options.maxSources ?? DEFAULT_UDP_MAX_SOURCES;
  if (!Number.isInteger(maxSources) || maxSources < 1) {
    throw new RangeError(
      `Invalid maxSources ${maxSources}: expected 1 or more`,
    );
  }
  const interval = checkDuration(
    "activityInterval",
    options.activityInterval ?? DEFAULT_UDP_ACTIVITY_INTERVAL,
    1,
  );
  const policy = new DropPolicy(
    checkDatagramSize(options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE),
    options.allowPrivilegedSourcePorts ?? false,
    rate > 0 ? new SourceLimiter({ rate, burst, maxSources }) : undefined,
  );
  signal?.throwIfAborted();

  const server = new UdpServer(options, policy, interval);
  await server.bind(hostname, port);
  if (signal?.aborted) {
    // Aborted while the sockets were being bound: none stays open.
    await server.close();
    throw signal.reason;
  }
  closeOnAbort(signal, server);
  callHook(options.onListen, server.addrs);
  return server;
}

class UdpServer implements UdpEchoServer {
  addrs: readonly Deno.NetAddr[] = [];
  readonly finished: Promise<void>;
  readonly #options: UdpServeOptions;
  readonly #policy: DropPolicy;
  readonly #activity: UdpActivity | undefined;
  #sockets: Socket[] = [];
  /** The bound address of each socket, for the hooks. */
  readonly #localAddrs = new Map<Socket, Deno.NetAddr>();
  #closing = false;
  #closed!: () => void;
  #pending = 0;
  #echoedDatagrams = 0;
  #echoedBytes = 0;
  #sendErrors = 0;
  readonly #dropped: Record<UdpDropReason, number> = {
    "privileged-port": 0,
    "reflector-port": 0,
    "oversize": 0,
    "rate-limit": 0,
    "overload": 0,
  };

  constructor(options: UdpServeOptions, policy: DropPolicy, interval: number) {
    this.#options = options;
    this.#policy = policy;
    const { onActivity } = options;
    this.#activity = onActivity && new UdpActivity({
      interval,
      maxSources: ACTIVITY_SOURCES,
      report: (info) => callHook(onActivity, info),
    });
    this.finished = new Promise((resolve) => this.#closed = resolve);
  }

  async bind(hostname: string, port: number): Promise<void> {
    const bound = await bindAllUdp(hostname, port, (socket) => {
      // Listeners go on before the bind: an unheard `error` event throws.
      socket.on("error", (error) => this.#onError(error));
      socket.on("message", (msg, rinfo) => this.#onMessage(socket, msg, rinfo));
    });
    this.#sockets = bound.map((b) => b.socket);
    for (const { socket, addr } of bound) this.#localAddrs.set(socket, addr);
    this.addrs = bound.map((b) => b.addr);
  }

  get stats(): UdpEchoStats {
    return {
      echoedDatagrams: this.#echoedDatagrams,
      echoedBytes: this.#echoedBytes,
      dropped: { ...this.#dropped },
      sendErrors: this.#sendErrors,
    };
  }

  #onMessage(socket: Socket, msg: Uint8Array, rinfo: RemoteInfo): void {
    if (this.#closing) return;
    const { port, address } = rinfo;
    const size = msg.length;
    const reason = this.#policy.check(port, address, size) ??
      (this.#pending >= MAX_PENDING_ECHOES ? "overload" : undefined);
    if (reason !== undefined) {
      this.#dropped[reason]++;
      const { onDrop } = this.#options;
      if (onDrop !== undefined) {
        callHook(onDrop, { ...this.#info(socket, rinfo, size), reason });
      }
      return;
    }
    try {
      // The reply goes back to the address as received (IPv4-mapped on a
      // dual-stack socket), from the socket it reached.
      socket.send(msg, port, address, (error) => {
        this.#pending--;
        if (error) {
          this.#sendErrors++;
          this.#onError(error);
        }
      });
    } catch (error) {
      this.#sendErrors++;
      this.#onError(error as Error);
      return;
    }
    this.#pending++;
    this.#echoedDatagrams++;
    this.#echoedBytes += size;
    const { onEcho } = this.#options;
    if (onEcho === undefined && this.#activity === undefined) return;
    const info = this.#info(socket, rinfo, size);
    this.#activity?.echoed(info);
    if (onEcho !== undefined) callHook(onEcho, info);
  }

  #info(socket: Socket, rinfo: RemoteInfo, size: number): UdpDatagramInfo {
    return {
      remoteAddr: {
        transport: "udp",
        hostname: unmapIPv4(rinfo.address),
        port: rinfo.port,
      },
      localAddr: this.#localAddrs.get(socket) ?? localAddr(socket),
      size,
    };
  }

  #onError(error: Error): void {
    if (this.#closing) return;
    callHook(this.#options.onError, error);
  }

  async #closeAll(): Promise<void> {
    this.#activity?.close();
    await Promise.all(this.#sockets.map(closeUdp));
    this.#closed();
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      void this.#closeAll();
    }
    return this.finished;
  }

  shutdown(): Promise<void> {
    return this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function localAddr(socket: Socket): Deno.NetAddr {
  const { address, port } = socket.address();
  return { transport: "udp", hostname: address, port };
}
