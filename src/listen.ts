// Copyright the deno-echo authors. MIT license.

import { resolveAll, type ResolvedAddress } from "./resolve.ts";

/** How many times a port-0 bind over several addresses is retried. */
const PORT_ZERO_ATTEMPTS = 8;

/**
 * Opens a TCP listener on every address a hostname names, all on one port.
 *
 * - A name (including `localhost`) means every address it resolves to;
 *   `localhost` also means both `127.0.0.1` and `::1` where the host has them.
 * - `::` means every interface on both stacks: `::` is bound, then `0.0.0.0`
 *   unless the system made `::` dual-stack already (then it is in use).
 * - Port 0 picks a free port on the first address and uses it for the rest,
 *   trying again with a new port if another program holds it elsewhere.
 *
 * @param hostname A name or an IP literal.
 * @param port 0 to 65535.
 * @returns The listeners, at least one.
 * @throws The first required bind's error (`Deno.errors.AddrInUse`, ...), or
 * {@linkcode UnknownHostError}.
 */
export async function listenAll(
  hostname: string,
  port: number,
): Promise<Deno.TcpListener[]> {
  const addresses: ResolvedAddress[] = hostname === "::"
    ? [{ address: "::", optional: false }, {
      address: "0.0.0.0",
      optional: true,
    }]
    : await resolveAll(hostname);
  for (let attempt = 1;; attempt++) {
    try {
      return bindAll(addresses, port);
    } catch (error) {
      if (
        port === 0 && error instanceof PortTakenElsewhere &&
        attempt < PORT_ZERO_ATTEMPTS
      ) continue;
      throw error instanceof PortTakenElsewhere ? error.cause : error;
    }
  }
}

class PortTakenElsewhere extends Error {}

function bindAll(
  addresses: ResolvedAddress[],
  requestedPort: number,
): Deno.TcpListener[] {
  const listeners: Deno.TcpListener[] = [];
  let port = requestedPort;
  try {
    for (const { address, optional } of addresses) {
      let listener: Deno.TcpListener;
      try {
        listener = Deno.listen({ hostname: address, port });
      } catch (error) {
        // An optional address is skipped (`0.0.0.0` after a dual-stack `::`,
        // a loopback the host lacks) unless a port-0 retry can win it.
        const retry = error instanceof Deno.errors.AddrInUse &&
          requestedPort === 0 && address !== "0.0.0.0";
        if (optional && !retry) continue;
        if (
          error instanceof Deno.errors.AddrInUse && requestedPort === 0 &&
          listeners.length > 0
        ) {
          throw new PortTakenElsewhere("port taken", { cause: error });
        }
        throw error;
      }
      listeners.push(listener);
      port = listener.addr.port;
    }
  } catch (error) {
    for (const listener of listeners) listener.close();
    throw error;
  }
  return listeners;
}
