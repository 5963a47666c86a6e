// Copyright the deno-echo authors. MIT license.

// Opening a load run's connections over its transport: TCP, TLS and Unix
// streams, or UDP sockets.

import { dial, dialTls, dialUnix } from "../client/dial.ts";
import { dialRoute } from "../client/proxy_dial.ts";
import { ipFamily } from "../net/address.ts";
import type { IPFamily } from "../net/resolve.ts";
import { openUdpClient, type UdpEchoClient } from "../udp/udp_client.ts";
import type { Settings } from "./options.ts";

/** Connection attempts in flight at once. */
const DIAL_CONCURRENCY = 64;

/** A run's open connections, by kind. */
export type Endpoints =
  | { kind: "stream"; conns: Deno.Conn[] }
  | { kind: "udp"; clients: UdpEchoClient[] };

/**
 * Opens every connection (UDP: binds every socket) the settings ask for.
 * The first tries each address of the name; the rest go to the address it
 * reached (TLS: to its family, still checking the name). Any failure closes
 * the others.
 */
export async function openEndpoints(
  settings: Settings,
  signal: AbortSignal | undefined,
): Promise<Endpoints> {
  const { transport, hostname, port, family, connectTimeout, tls } = settings;
  const common = {
    port,
    timeout: connectTimeout,
    ...(signal === undefined ? {} : { signal }),
  };
  const byFamily = (f: IPFamily | undefined): { family?: IPFamily } =>
    f === undefined ? {} : { family: f };
  const routed = settings.proxy !== undefined || settings.source !== undefined;
  if (routed && (transport === "tcp" || transport === "tls")) {
    return { kind: "stream", conns: await openRouted(settings, signal) };
  }
  switch (transport) {
    case "tcp":
      return {
        kind: "stream",
        conns: await openAll<Deno.TcpConn>(
          settings.connections,
          () => dial({ hostname, ...byFamily(family), ...common }),
          (first) => dial({ hostname: first.remoteAddr.hostname, ...common }),
          (conn) => conn.close(),
        ),
      };
    case "tls":
      return {
        kind: "stream",
        conns: await openAll<Deno.TlsConn>(
          settings.connections,
          () => dialTls({ hostname, ...byFamily(family), ...common, ...tls }),
          (first) =>
            dialTls({
              hostname,
              ...byFamily(familyOf(first.remoteAddr.hostname) ?? family),
              ...common,
              ...tls,
            }),
          (conn) => conn.close(),
        ),
      };
    case "unix":
      return {
        kind: "stream",
        conns: await openAll<Deno.UnixConn>(
          settings.connections,
          () => dialUnix(settings.path),
          () => dialUnix(settings.path),
          (conn) => conn.close(),
        ),
      };
    case "udp": {
      const open = (): Promise<UdpEchoClient> =>
        openUdpClient({
          hostname,
          port,
          ...byFamily(family),
          timeout: settings.lossTimeout,
          retries: 0,
          maxDatagramSize: Math.max(settings.size, 1),
          ...(settings.source === undefined ? {} : { source: settings.source }),
        });
      return {
        kind: "udp",
        clients: await openAll<UdpEchoClient>(
          settings.connections,
          open,
          open,
          (client) => client.close(),
        ),
      };
    }
  }
}

/** TCP or TLS through a proxy or from a source address: each on its own. */
function openRouted(
  settings: Settings,
  signal: AbortSignal | undefined,
): Promise<Deno.Conn[]> {
  const { hostname, port, family, proxy, source } = settings;
  const open = async (): Promise<Deno.Conn> => {
    const { conn } = await dialRoute({
      hostname,
      port,
      ...(family === undefined ? {} : { family }),
      timeout: settings.connectTimeout,
      ...(signal === undefined ? {} : { signal }),
      tls: settings.transport === "tls",
      ...settings.tls,
      ...(proxy === undefined ? {} : { proxy }),
      ...(source === undefined ? {} : { source }),
    });
    return conn;
  };
  return openAll<Deno.Conn>(
    settings.connections,
    open,
    open,
    (conn) => conn.close(),
  );
}

function familyOf(address: string): IPFamily | undefined {
  const family = ipFamily(address);
  return family === 0 ? undefined : family;
}

/**
 * Opens `count` endpoints: the first alone, then the rest from it,
 * {@linkcode DIAL_CONCURRENCY} at a time. Any failure closes every one
 * opened and rethrows the first error.
 */
async function openAll<T>(
  count: number,
  openFirst: () => Promise<T>,
  openNext: (first: T) => Promise<T>,
  close: (endpoint: T) => void | Promise<void>,
): Promise<T[]> {
  const first = await openFirst();
  const opened: T[] = [first];
  let next = 1;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < count) {
      const index = next++;
      try {
        opened[index] = await openNext(first);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(DIAL_CONCURRENCY, count - 1) }, worker),
  );
  if (failure !== undefined) {
    await Promise.all(
      opened.filter((endpoint) => endpoint !== undefined).map(close),
    );
    throw failure.error;
  }
  return opened;
}
