// Copyright the deno-echo authors. MIT license.

// Whether anything is bound to a UDP port on this machine's loopback. A
// closed UDP port answers "port unreachable", but only a connected socket
// hears it, and Deno has none (node:dgram's connect() is emulated with
// sendto), so a client would wait out every retry. On Linux a socket that
// binds the very address and port tells at once: the bind fails while any
// socket that would receive there (that address, or the wildcard, IPv4 or
// dual-stack) holds it.

import { ipFamily } from "../net/address.ts";
import { bindUdp, closeUdp } from "../udp/udp_socket.ts";

/**
 * Tells whether it is certain that no UDP socket on this machine is bound
 * to `port` on any of `addresses`: the system is Linux, every address is a
 * loopback one (127.0.0.0/8, ::1), net access to each is granted, and a
 * socket could be bound to each address and port (then it is closed at
 * once). Whenever it cannot tell (a port below 1024, say), it says `false`.
 *
 * @param addresses IP literals the client sends to.
 * @param port The server's port.
 * @returns Whether nothing is bound there, for certain.
 *
 * @example A port just freed has nothing bound to it
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { bindUdp, closeUdp } from "../udp/udp_socket.ts";
 * import { loopbackPortUnbound } from "./udp_probe.ts";
 *
 * const { socket, addr } = await bindUdp("127.0.0.1", 0, (s) => s.on("error", () => {}));
 * assertEquals(await loopbackPortUnbound(["127.0.0.1"], addr.port), false);
 * await closeUdp(socket);
 * if (Deno.build.os === "linux") {
 *   assertEquals(await loopbackPortUnbound(["127.0.0.1"], addr.port), true);
 * }
 * ```
 */
export async function loopbackPortUnbound(
  addresses: readonly string[],
  port: number,
): Promise<boolean> {
  if (Deno.build.os !== "linux" || addresses.length === 0) return false;
  if (port < 1024 || !addresses.every(isLoopback)) return false;
  for (const address of addresses) {
    const host = ipFamily(address) === 6 ? `[${address}]` : address;
    const permission = { name: "net", host: `${host}:${port}` } as const;
    if (Deno.permissions.querySync(permission).state !== "granted") {
      return false;
    }
  }
  for (const address of addresses) {
    try {
      const { socket } = await bindUdp(address, port, (socket) => {
        socket.on("error", () => {});
      });
      await closeUdp(socket);
    } catch {
      // In use (someone listens), or the bind is not allowed: either way,
      // not known to be free.
      return false;
    }
  }
  return true;
}

function isLoopback(address: string): boolean {
  const family = ipFamily(address);
  if (family === 4) return address.startsWith("127.");
  if (family !== 6 || address.includes("%")) return false;
  return new URL(`http://[${address}]/`).hostname === "[::1]";
}
