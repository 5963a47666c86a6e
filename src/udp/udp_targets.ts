// Copyright the deno-echo authors. MIT license.

// The addresses a UDP echo client sends to, and the sockets it sends from.

import type { RemoteInfo, Socket } from "node:dgram";
import { ipFamily, unmapIPv4 } from "../net/address.ts";
import type { ResolvedAddress } from "../net/resolve.ts";
import { bindUdp, closeUdp } from "./udp_socket.ts";

/** One address the client sends to. */
export interface UdpTarget {
  address: string;
  port: number;
  family: 4 | 6;
  /** The address in canonical form and the port, to match replies. */
  key: string;
}

/** The client's targets and its sockets, one per family. */
export interface UdpTargets {
  targets: UdpTarget[];
  sockets: Map<4 | 6, Socket>;
}

/**
 * Binds one socket per family of the resolved addresses, on the family's
 * wildcard address and a free port (as a socket that sends without binding
 * would get), and makes a target of each address. An optional address (a
 * loopback the host lacks) whose family cannot be bound is left out.
 *
 * @param resolved What the server's name resolved to.
 * @param port The server's port.
 * @param onMessage Hears every datagram the sockets receive.
 * @param source Bind this address and port instead (the resolved
 * addresses must be of its family).
 * @returns The targets and the sockets; on failure no socket is left open.
 */
export async function openTargets(
  resolved: readonly ResolvedAddress[],
  port: number,
  onMessage: (msg: Uint8Array, rinfo: RemoteInfo) => void,
  source?: { hostname: string; port?: number },
): Promise<UdpTargets> {
  const sockets = new Map<4 | 6, Socket>();
  const targets: UdpTarget[] = [];
  try {
    for (const { address, optional } of resolved) {
      const family = ipFamily(address) as 4 | 6;
      if (!sockets.has(family)) {
        try {
          const { socket } = await bindUdp(
            source?.hostname ?? (family === 4 ? "0.0.0.0" : "::"),
            source?.port ?? 0,
            (socket) => {
              socket.on("message", onMessage);
              // Send failures reach the send callbacks; nothing else is
              // expected, and an unheard `error` event would throw.
              socket.on("error", () => {});
            },
          );
          sockets.set(family, socket);
        } catch (error) {
          if (optional) continue; // A loopback the host lacks.
          throw error;
        }
      }
      targets.push({ address, port, family, key: addressKey(address, port) });
    }
  } catch (error) {
    await closeSockets(sockets);
    throw error;
  }
  return { targets, sockets };
}

/**
 * Closes every socket of a client.
 *
 * @param sockets The sockets.
 * @returns Once all are closed.
 */
export async function closeSockets(
  sockets: ReadonlyMap<4 | 6, Socket>,
): Promise<void> {
  await Promise.all([...sockets.values()].map(closeUdp));
}

/**
 * An address (IPv4-mapped shown as IPv4, IPv6 in canonical form) and port,
 * as one string that is equal for the same endpoint however it is written.
 *
 * @param address An IP literal.
 * @param port The port.
 * @returns The key.
 */
export function addressKey(address: string, port: number): string {
  let host = unmapIPv4(address).toLowerCase();
  if (ipFamily(host) === 6) {
    try {
      host = new URL(`http://[${host}]/`).hostname;
    } catch {
      // A zone index (`fe80::1%eth0`): compare as written.
    }
    // The URL form of an IPv4-mapped address is hex (`[::ffff:7f00:1]`),
    // while replies come from the dotted form: both are the IPv4 address.
    const mapped = MAPPED_HEX.exec(host);
    if (mapped !== null) {
      const high = parseInt(mapped[1]!, 16);
      const low = parseInt(mapped[2]!, 16);
      host = `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
    }
  }
  return `${host} ${port}`;
}

const MAPPED_HEX = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/;
