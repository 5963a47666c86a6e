// Copyright the deno-echo authors. MIT license.

// Shared by the runPing() tests: a recorder of what a run reports, and a
// TCP server scripted to misbehave.

import type { PingLinkEvent, PingProbe } from "../../src/client/ping.ts";

/** The probes and link events of a run, as they came. */
export function recorder(): {
  probes: PingProbe[];
  links: PingLinkEvent[];
  hooks: {
    onProbe: (probe: PingProbe) => void;
    onLink: (event: PingLinkEvent) => void;
  };
} {
  const probes: PingProbe[] = [];
  const links: PingLinkEvent[] = [];
  return {
    probes,
    links,
    hooks: {
      onProbe: (probe) => void probes.push(probe),
      onLink: (event) => void links.push(event),
    },
  };
}

/**
 * A TCP server that hands each connection to `handle` and awaits every
 * handler when disposed.
 */
export function scriptedServer(
  handle: (conn: Deno.TcpConn) => Promise<void>,
): { port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers: Promise<void>[] = [];
  const conns = new Set<Deno.TcpConn>();
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      handlers.push(
        handle(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // Closed by the handler.
          }
        }),
      );
    }
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose](): Promise<void> {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      await Promise.all(handlers);
    },
  };
}

export async function writeAll(
  conn: Deno.Conn,
  data: Uint8Array,
): Promise<void> {
  for (let off = 0; off < data.length;) {
    off += await conn.write(data.subarray(off));
  }
}
