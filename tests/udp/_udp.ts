// Copyright the deno-echo authors. MIT license.

// Sockets and servers for the UDP tests: raw sockets that play client or
// fake server, and a server whose hooks can be awaited.

import type { RemoteInfo, Socket } from "node:dgram";
import {
  REFLECTOR_PORTS,
  serveUdp,
  type UdpDatagramInfo,
  type UdpDropInfo,
  type UdpEchoServer,
  type UdpServeOptions,
} from "../../src/udp/udp_server.ts";
import { bindUdp, closeUdp } from "../../src/udp/udp_socket.ts";
import { skip } from "../_helpers/util.ts";

const decoder = new TextDecoder();
/** A datagram's bytes as text. */
export const text = (data: Uint8Array): string => decoder.decode(data);

/** A plain socket for playing client or fake server; closed on dispose. */
export interface RawSocket extends AsyncDisposable {
  socket: Socket;
  addr: Deno.NetAddr;
  /** Every datagram received, in order. */
  received: { data: Uint8Array; from: RemoteInfo }[];
  /** Resolves once `count` datagrams in all have been received. */
  receivedCount(count: number): Promise<void>;
  send(data: Uint8Array, to: { hostname: string; port: number }): Promise<void>;
}

export async function rawSocket(
  hostname: string,
  port = 0,
  onMessage?: (raw: RawSocket, data: Uint8Array, from: RemoteInfo) => void,
): Promise<RawSocket> {
  const waiters: { count: number; resolve: () => void }[] = [];
  const received: RawSocket["received"] = [];
  // Set once the socket is bound, for onMessage.
  const self: { raw?: RawSocket } = {};
  const { socket, addr } = await bindUdp(hostname, port, (s) => {
    s.on("error", () => {});
    s.on("message", (msg, from) => {
      const data = new Uint8Array(msg);
      received.push({ data, from });
      for (const w of waiters) if (received.length >= w.count) w.resolve();
      if (self.raw !== undefined) onMessage?.(self.raw, data, from);
    });
  });
  const raw: RawSocket = {
    socket,
    addr,
    received,
    receivedCount: (count) => {
      if (received.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    send: (data, to) =>
      new Promise((resolve, reject) =>
        socket.send(
          data,
          to.port,
          to.hostname,
          (error) => error ? reject(error) : resolve(),
        )
      ),
    [Symbol.asyncDispose]: () => closeUdp(socket),
  };
  self.raw = raw;
  return raw;
}

/**
 * Binds a raw socket on a fixed loopback port, or says visibly why not (no
 * permission for a privileged port, or the port is taken).
 */
export async function rawSocketOnPort(
  port: number,
): Promise<RawSocket | undefined> {
  try {
    return await rawSocket("127.0.0.1", port);
  } catch (error) {
    if (
      error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.AddrInUse
    ) {
      skip(`cannot bind 127.0.0.1:${port} (${error.name})`);
      return undefined;
    }
    throw error;
  }
}

/** Binds the first free privileged port below 1024 that is no reflector. */
export async function privilegedSocket(): Promise<RawSocket | undefined> {
  for (let port = 1023; port > 1013; port--) {
    if (REFLECTOR_PORTS.has(port)) continue;
    try {
      return await rawSocket("127.0.0.1", port);
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) continue;
      if (error instanceof Deno.errors.PermissionDenied) break;
      throw error;
    }
  }
  skip("cannot bind a privileged port (not root?)");
  return undefined;
}

/**
 * A server whose hooks count datagrams, to wait for them without sleeping;
 * closed on dispose.
 */
export interface Watched extends AsyncDisposable {
  server: UdpEchoServer;
  echoes: UdpDatagramInfo[];
  drops: UdpDropInfo[];
  /** Resolves once `count` datagrams in all were echoed or dropped. */
  handled(count: number): Promise<void>;
}

export async function watchedServer(
  options: UdpServeOptions,
): Promise<Watched> {
  const echoes: UdpDatagramInfo[] = [];
  const drops: UdpDropInfo[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of waiters) {
      if (echoes.length + drops.length >= w.count) w.resolve();
    }
  };
  const server = await serveUdp({
    ...options,
    onEcho: (info) => {
      echoes.push(info);
      check();
    },
    onDrop: (info) => {
      drops.push(info);
      check();
    },
  });
  return {
    server,
    echoes,
    drops,
    handled: (count) => {
      if (echoes.length + drops.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** The server's drop counts before any drop. */
export const NO_DROPS = {
  "privileged-port": 0,
  "reflector-port": 0,
  "oversize": 0,
  "rate-limit": 0,
  "overload": 0,
};

/** A fake server that hands each datagram to `reply` (echo, ignore, ...). */
export function fakeServer(
  reply: (raw: RawSocket, data: Uint8Array, from: RemoteInfo) => void,
): Promise<RawSocket> {
  return rawSocket("127.0.0.1", 0, reply);
}
