// Copyright the deno-echo authors. MIT license.

// UDP sockets for the echo server and client, as promises. They are
// `node:dgram` sockets: `Deno.listenDatagram` still needs `--unstable-net` in
// Deno 2.9, while `node:dgram` is stable and needs only `--allow-net`.

import type { Socket } from "node:dgram";
import { ipFamily } from "../net/address.ts";
import { listenAll } from "../net/listen.ts";

/**
 * The largest UDP payload: 65535 bytes less the IPv4 and UDP headers.
 *
 * @example Check a size
 * ```ts
 * import { MAX_DATAGRAM_SIZE } from "./udp_socket.ts";
 * import { assert } from "@std/assert";
 *
 * assert(new TextEncoder().encode("hello").length <= MAX_DATAGRAM_SIZE);
 * ```
 */
export const MAX_DATAGRAM_SIZE = 65507;

/**
 * How large a datagram the UDP server echoes and the client sends, in bytes:
 * enough for any line typed or pasted, small enough to keep what one spoofed
 * datagram can make the server send modest.
 *
 * @example Split a payload into datagrams
 * ```ts
 * import { DEFAULT_MAX_DATAGRAM_SIZE } from "./udp_socket.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(Math.ceil(20_000 / DEFAULT_MAX_DATAGRAM_SIZE), 3);
 * ```
 */
export const DEFAULT_MAX_DATAGRAM_SIZE = 8192;

/**
 * Checks a `maxDatagramSize` option.
 *
 * @example Accept and refuse sizes
 * ```ts
 * import { checkDatagramSize } from "./udp_socket.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(checkDatagramSize(512), 512);
 * assertThrows(() => checkDatagramSize(0), RangeError);
 * ```
 *
 * @param size The option's value.
 * @returns The size.
 * @throws {RangeError} If it is not a whole number from 1 to
 * {@linkcode MAX_DATAGRAM_SIZE}.
 */
export function checkDatagramSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_DATAGRAM_SIZE) {
    throw new RangeError(
      `Invalid maxDatagramSize ${size}: expected 1 to ${MAX_DATAGRAM_SIZE}`,
    );
  }
  return size;
}

/** A bound socket and the address it is bound to. */
export interface BoundSocket {
  /** The socket, with the caller's listeners attached. */
  socket: Socket;
  /** What the socket is bound to (the real port when 0 was asked). */
  addr: Deno.NetAddr;
}

/**
 * Attaches listeners to a new socket before it is bound, so that no event
 * (an `error` above all, which would otherwise be thrown) goes unheard.
 */
export type SocketSetup = (socket: Socket) => void;

/**
 * Binds a new UDP socket of the address's family. `::` is bound dual-stack
 * (IPv4 peers arrive as `::ffff:a.b.c.d`).
 *
 * @example Bind a socket on a free loopback port
 * ```ts
 * import { bindUdp, closeUdp } from "./udp_socket.ts";
 * import { assert } from "@std/assert";
 *
 * const { socket, addr } = await bindUdp("127.0.0.1", 0, (s) => s.on("error", () => {}));
 * assert(addr.port > 0 && addr.transport === "udp");
 * await closeUdp(socket);
 * ```
 *
 * @param address An IP literal.
 * @param port 0 to 65535; 0 picks a free port.
 * @param setup Attaches listeners before the bind.
 * @returns The bound socket.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {Deno.errors.PermissionDenied} If the system refuses the port.
 * @throws {Deno.errors.AddrNotAvailable} If the address is not this host's.
 */
export async function bindUdp(
  address: string,
  port: number,
  setup: SocketSetup,
): Promise<BoundSocket> {
  const family = ipFamily(address);
  if (family === 0) {
    throw new TypeError(`Invalid address "${address}": expected an IP`);
  }
  // node:dgram checks the permission where no caller can catch it (the
  // process dies): check first, asking as Deno would (on a terminal only).
  const host = family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
  if (Deno.permissions.requestSync({ name: "net", host }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Requires net access to "${host}", run again with the --allow-net flag`,
    );
  }
  // Loaded on first use: node:dgram costs a TCP-only server ~7 ms at start.
  const { createSocket } = await import("node:dgram");
  const socket = family === 6
    ? createSocket({ type: "udp6", ipv6Only: address !== "::" })
    : createSocket({ type: "udp4" });
  setup(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address, port }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await closeUdp(socket);
    throw toDenoError(error, `udp ${address} port ${port}`);
  }
  const bound = socket.address();
  return {
    socket,
    addr: { transport: "udp", hostname: bound.address, port: bound.port },
  };
}

/**
 * Closes a socket and waits until it is closed; a closed socket is left
 * alone.
 *
 * @example Close twice
 * ```ts
 * import { bindUdp, closeUdp } from "./udp_socket.ts";
 *
 * const { socket } = await bindUdp("127.0.0.1", 0, (s) => s.on("error", () => {}));
 * await closeUdp(socket);
 * await closeUdp(socket);
 * ```
 *
 * @param socket The socket.
 * @returns Once the socket is closed.
 */
export function closeUdp(socket: Socket): Promise<void> {
  let closing = closings.get(socket);
  if (closing === undefined) {
    closing = new Promise((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // Closed already (ERR_SOCKET_DGRAM_NOT_RUNNING).
      }
    });
    closings.set(socket, closing);
  }
  return closing;
}

/**
 * Each socket's closing, for closing twice: Deno's `node:dgram` neither
 * throws nor calls back when a closed socket is closed again.
 */
const closings = new WeakMap<Socket, Promise<void>>();

/**
 * Binds a UDP socket on every address a hostname names, all on one port,
 * the way the TCP server listens:
 *
 * - A name (including `localhost`) means every address it resolves to;
 *   `localhost` also means both `127.0.0.1` and `::1` where the host has them.
 * - `::` means every interface on both stacks: `::` is bound dual-stack, then
 *   `0.0.0.0` unless that port is then in use (the usual case: the system
 *   made `::` dual-stack).
 * - Port 0 picks a free port on the first address and uses it for the rest,
 *   trying again with a new port if another program holds it elsewhere.
 *
 * @example Bind both loopbacks
 * ```ts
 * import { bindAllUdp, closeUdp } from "./udp_socket.ts";
 * import { assert } from "@std/assert";
 *
 * const bound = await bindAllUdp("localhost", 0, (s) => s.on("error", () => {}));
 * assert(bound.every((b) => b.addr.port === bound[0]!.addr.port));
 * for (const { socket } of bound) await closeUdp(socket);
 * ```
 *
 * @param hostname A name or an IP literal.
 * @param port 0 to 65535.
 * @param setup Attaches listeners to each socket before it is bound.
 * @returns The bound sockets, at least one.
 * @throws The first required bind's error (`Deno.errors.AddrInUse`, ...), or
 * {@linkcode UnknownHostError}.
 */
export function bindAllUdp(
  hostname: string,
  port: number,
  setup: SocketSetup,
): Promise<BoundSocket[]> {
  // The same addresses, port-0 retries and dual-stack rules as TCP.
  return listenAll(hostname, port, async (address, port) => {
    const bound = await bindUdp(address, port, setup);
    return { ...bound, close: () => closeUdp(bound.socket) };
  });
}

/**
 * Turns a `node:dgram` bind error into the `Deno.errors` class the TCP
 * listeners raise for the same cause, keeping the original as `cause`.
 */
function toDenoError(error: unknown, where: string): unknown {
  const code = (error as { code?: unknown }).code;
  const type = code === "EADDRINUSE"
    ? Deno.errors.AddrInUse
    : code === "EACCES" || code === "EPERM"
    ? Deno.errors.PermissionDenied
    : code === "EADDRNOTAVAIL"
    ? Deno.errors.AddrNotAvailable
    : undefined;
  if (type === undefined) return error;
  const what = code === "EADDRINUSE"
    ? "address already in use"
    : code === "EADDRNOTAVAIL"
    ? "address not available"
    : "permission denied";
  return new type(`Cannot bind ${where}: ${what}`, { cause: error });
}
