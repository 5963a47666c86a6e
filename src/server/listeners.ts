// Copyright the deno-echo authors. MIT license.

import { listenAll, listenUnix, removeUnixSocket } from "../net/listen.ts";
import { formatListener, type ListenerSpec } from "../net/listen_url.ts";
import { serveUdp, type UdpEchoServer } from "../udp/udp_server.ts";
import { callHook } from "../net/hook.ts";
import { loadTls, tlsSetup } from "./tls.ts";
import type { ListenerInfo, ServeOptions, ServerEvent } from "./types.ts";

/**
 * How a server's TCP and TLS listeners treat their port:
 * - `none`: theirs alone (no `SO_REUSEPORT`);
 * - `first`: the first of several isolates sharing it: each address is
 *   bound alone first, so a port already in use is still an error, then
 *   again with `SO_REUSEPORT`;
 * - `join`: bound with `SO_REUSEPORT` to addresses the first one holds.
 */
export type PortSharing = "none" | "first" | "join";

/** A listener the server has opened. */
export interface OpenListener {
  /** A stream listener, or a UDP server (which needs no accept loop). */
  readonly listener: Deno.Listener | UdpEchoServer;
  /** What the server's handle shows of it. */
  readonly info: ListenerInfo;
  /** Removes what the listener left behind (a Unix socket file). */
  readonly cleanup?: () => Promise<void>;
}

/**
 * Tells a UDP server from a stream listener.
 *
 * @param listener Either.
 * @returns Whether it is a UDP server.
 */
export function isUdp(
  listener: Deno.Listener | UdpEchoServer,
): listener is UdpEchoServer {
  return "stats" in listener;
}

/** Which listener each failure of `serve()` came from. */
const failures = new WeakMap<object, ListenerSpec>();

/**
 * Tells which listener could not be opened, for an error thrown by
 * `serve()`.
 *
 * @param error What `serve()` threw.
 * @returns The listener it was opening, if the error came from one.
 */
export function failedListener(error: unknown): ListenerSpec | undefined {
  return typeof error === "object" && error !== null
    ? failures.get(error)
    : undefined;
}

/**
 * Opens every listener, or none: on a failure the ones opened are closed.
 *
 * @param specs What to open.
 * @param options TLS and UDP settings, and where events go.
 * @param share How TCP and TLS listeners bind their ports.
 * @returns The listeners, one per bound address.
 */
export async function openListeners(
  specs: readonly ListenerSpec[],
  options: ServeOptions,
  share: PortSharing,
): Promise<OpenListener[]> {
  const opened: OpenListener[] = [];
  try {
    for (const spec of specs) {
      try {
        opened.push(...await openOne(spec, options, share));
      } catch (error) {
        if (typeof error === "object" && error !== null) {
          failures.set(error, spec);
        }
        throw error;
      }
    }
  } catch (error) {
    await closeListeners(opened);
    throw error;
  }
  return opened;
}

/**
 * Closes listeners that no server will use, and removes what they left
 * behind (Unix socket files).
 *
 * @param listeners The listeners, none of them closed yet.
 */
export async function closeListeners(
  listeners: readonly OpenListener[],
): Promise<void> {
  for (const { listener, cleanup } of listeners) {
    await listener.close();
    await cleanup?.();
  }
}

function opened(
  transport: ListenerSpec["transport"],
  listener: Deno.Listener | UdpEchoServer,
  addr: Deno.NetAddr | Deno.UnixAddr,
  cleanup?: () => Promise<void>,
): OpenListener {
  const info = { transport, addr, url: formatListener(transport, addr) };
  return cleanup ? { listener, info, cleanup } : { listener, info };
}

async function openOne(
  spec: ListenerSpec,
  options: ServeOptions,
  share: PortSharing,
): Promise<OpenListener[]> {
  const { onEvent } = options;
  const emit = (event: ServerEvent): void => callHook(onEvent, event);
  if (spec.transport === "unix") {
    const listener = await listenUnix(
      spec.path,
      onEvent && ((path) => emit({ type: "stale-socket", path })),
    );
    const cleanup = (): Promise<void> => removeUnixSocket(listener);
    return [opened("unix", listener, listener.addr, cleanup)];
  }
  if (spec.transport === "udp") {
    const udp = await serveUdp({
      hostname: spec.hostname,
      port: spec.port,
      ...options.udp,
      ...(onEvent
        ? {
          onDrop: (drop) => emit({ type: "udp-drop", drop }),
          onActivity: (activity) => emit({ type: "udp-activity", activity }),
        }
        : {}),
    });
    // One UDP server may have several sockets (both loopbacks).
    return udp.addrs.map((addr) => opened("udp", udp, addr));
  }
  // tls:// accepts TCP too: TLS runs over each accepted connection (see
  // tls.ts), where the PROXY header, the timeout and the limits can get at
  // the socket before and during the handshake.
  // Checks the certificate and key, once; the server uses what it parsed.
  if (spec.transport === "tls") {
    await loadTls();
    tlsSetup(options.tls!);
  }
  const listeners = await bindSpec(spec, share, sharing(share, tcpOpener));
  const proxyProtocol = spec.proxyProtocol ?? options.proxyProtocol ?? false;
  return listeners.map((l) => {
    const listener = opened(spec.transport, l, l.addr);
    return proxyProtocol
      ? { ...listener, info: { ...listener.info, proxyProtocol } }
      : listener;
  });
}

type Opener<L> = (hostname: string, port: number, reusePort: boolean) => L;

const tcpOpener: Opener<Deno.TcpListener> = (hostname, port, reusePort) =>
  Deno.listen({ hostname, port, ...(reusePort ? { reusePort } : {}) });

/**
 * Binds a `tcp://` or `tls://` spec: every address its host names, or, when
 * joining a first isolate's listeners, exactly the address given (`::` is
 * then `::` alone: the first isolate's `::` is dual-stack, and a worker's own
 * `0.0.0.0` would take every IPv4 client from the first isolate).
 */
async function bindSpec<L extends Deno.Listener & { addr: Deno.NetAddr }>(
  spec: { hostname: string; port: number },
  share: PortSharing,
  bind: (hostname: string, port: number) => L,
): Promise<L[]> {
  if (share === "join") return [bind(spec.hostname, spec.port)];
  return await listenAll(spec.hostname, spec.port, bind);
}

/**
 * A bind function for {@linkcode listenAll} that shares ports as asked.
 * `first` binds each address without `SO_REUSEPORT` before binding it with
 * it: with the option alone, a port another sharing program holds would be
 * joined (its clients split with ours) instead of reported in use.
 */
function sharing<L extends Deno.Listener & { addr: Deno.NetAddr }>(
  share: PortSharing,
  open: Opener<L>,
): (hostname: string, port: number) => L {
  if (share === "none") return (hostname, port) => open(hostname, port, false);
  if (share === "join") return (hostname, port) => open(hostname, port, true);
  return (hostname, port) => {
    const alone = Deno.listen({ hostname, port });
    const chosen = alone.addr.port;
    alone.close();
    return open(hostname, chosen, true);
  };
}
