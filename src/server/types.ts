// Copyright the deno-echo authors. MIT license.

import type { EchoResult } from "../echo/echo.ts";
import type { ListenerSpec } from "../net/listen_url.ts";
import type {
  UdpActivityInfo,
  UdpDropInfo,
  UdpEchoStats,
  UdpServeOptions,
} from "../udp/udp_server.ts";

/** Why a connection was closed as soon as it was accepted. */
export type RejectReason =
  /** `maxConnections` were open. */
  | "max-connections"
  /** `maxPerIp` connections from the same address were open. */
  | "max-per-ip"
  /**
   * The peer is not one of `proxyFrom`, the proxies trusted to connect to
   * a PROXY protocol listener.
   */
  | "proxy-untrusted";

/** Certificate and key for `tls://` listeners. */
export interface ServeTlsOptions {
  /** The certificate chain, PEM: the server's certificate first. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /**
   * ALPN protocols to announce.
   *
   * @default {["echo"]}
   */
  alpnProtocols?: string[];
  /**
   * How long a client has to complete the handshake, in ms: 1 to
   * 2147483647 (2^31 - 1, about 24.8 days). The handshake runs in the
   * connection's own task, never in the accept loop, so a client that stalls
   * it delays nobody else.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
  /**
   * CA certificates (PEM), for mutual TLS: every client must present a
   * certificate signed by one of them, and sign the handshake with its key,
   * or it is refused (a `handshake-error` event). The listener then speaks
   * TLS 1.2, where the server itself can check that signature; the subject of an accepted one is in the
   * connection's {@linkcode ConnectionInfo.clientSubject}. Intermediate
   * CAs count only when they are in this list themselves.
   *
   * @default {undefined}
   */
  clientCa?: string;
}

/** One open listener. */
export interface ListenerInfo {
  /** How it listens. */
  transport: ListenerSpec["transport"];
  /** The bound address (the real port when 0 was asked). */
  addr: Deno.NetAddr | Deno.UnixAddr;
  /** The listener as a URL, e.g. `tls://127.0.0.1:2443`: logs name it. */
  url: string;
  /** Whether connections must begin with a PROXY header. */
  proxyProtocol?: boolean;
}

/** A connection as the server's events describe it. */
export interface ConnectionInfo {
  /** Counts up from 1 for each connection accepted by this server. */
  id: number;
  /**
   * The peer; IPv4-mapped IPv6 addresses are shown as IPv4. On a PROXY
   * protocol listener, the client the header names (the proxy's own address
   * is then in `proxy`); until the header has been read, and for headers
   * that name none (v1 `UNKNOWN`, v2 `LOCAL`), the proxy. The header's
   * transport is kept: `udp` for a v2 `DGRAM` header, a Unix address for an
   * `AF_UNIX` one, though the connection is TCP. Often the
   * connection's own `remoteAddr` object, not a copy: read it, do not
   * change it.
   */
  remoteAddr: Deno.NetAddr | Deno.UnixAddr;
  /**
   * The listener's address the peer reached; like `remoteAddr`, often the
   * connection's own object.
   */
  localAddr: Deno.NetAddr | Deno.UnixAddr;
  /** The listener it came through, as a URL (see {@linkcode ListenerInfo}). */
  listener: string;
  /**
   * Which isolate serves it: 0 for the one that called `serve()`, 1 and up
   * for its workers (see {@linkcode ServeOptions.workers}).
   */
  worker: number;
  /**
   * On a PROXY protocol listener, once the header is read: the proxy that
   * connected (the TCP peer).
   */
  proxy?: Deno.NetAddr;
  /** Set for a PROXY v2 `LOCAL` header: the proxy's own health check. */
  proxyLocal?: true;
  /** The ALPN protocol a PROXY v2 header reports (its `PP2_TYPE_ALPN`). */
  proxyAlpn?: string;
  /** The host a PROXY v2 header reports (`PP2_TYPE_AUTHORITY`, the SNI). */
  proxyAuthority?: string;
  /**
   * With mutual TLS (`tls.clientCa`), the subject of the client's
   * certificate, e.g. `CN=alice, O=Example`.
   */
  clientSubject?: string;
}

/** How a connection ended: how much was echoed, for how long, and why. */
export interface ConnectionResult extends EchoResult {
  /** Milliseconds from accept to close. */
  durationMs: number;
}

/**
 * Something that happened in a server, for {@linkcode ServeOptions.onEvent}:
 * one hook for every change of a connection's state (like Go's
 * `http.Server.ConnState`) and for the server's own troubles. Tell them
 * apart by `type`.
 */
export type ServerEvent =
  /** A connection was accepted (and, on `tls://`, its handshake done). */
  | { type: "open"; conn: ConnectionInfo }
  /** A connection that was opened has been closed. */
  | { type: "close"; conn: ConnectionInfo; result: ConnectionResult }
  /**
   * A connection was closed as soon as it was accepted because of a limit;
   * it is neither opened nor closed.
   */
  | { type: "reject"; conn: ConnectionInfo; reason: RejectReason }
  /**
   * A TLS handshake failed or timed out; the connection is neither opened
   * nor closed.
   */
  | { type: "handshake-error"; conn: ConnectionInfo; error: unknown }
  /**
   * On a PROXY protocol listener, a connection did not begin with a valid
   * PROXY header within the handshake timeout; it was closed, neither
   * opened nor closed.
   */
  | { type: "proxy-error"; conn: ConnectionInfo; error: unknown }
  /**
   * `accept()` failed (a client that reset before it was accepted, or no
   * file descriptors left). The server goes on; when out of descriptors it
   * backs off (5 ms doubling to 1 s) until one frees up.
   */
  | { type: "accept-error"; error: Error }
  /** A stale Unix socket file (nothing listening) was replaced. */
  | { type: "stale-socket"; path: string }
  /** A `udp://` listener dropped a datagram, and says why. */
  | { type: "udp-drop"; drop: UdpDropInfo }
  /**
   * What a source had echoed by a `udp://` listener: its first datagram at
   * once, then at most one event per source per `udp.activityInterval`.
   */
  | { type: "udp-activity"; activity: UdpActivityInfo };

/** Options for `serve()`. */
export interface ServeOptions {
  /**
   * Listeners, as URLs (`tcp://[::]:2000`, `tls://localhost:2443`,
   * `unix:/run/echo.sock`, `udp://[::1]:2000`) or objects; instead of
   * `hostname` and `port`, which are the short form of one `tcp://`
   * listener.
   */
  listen?: readonly (string | ListenerSpec)[];
  /** Certificate and key, needed by `tls://` listeners. */
  tls?: ServeTlsOptions;
  /**
   * Every `tcp://` and `tls://` listener speaks the PROXY protocol (v1 and
   * v2), as if each were given with `proxyProtocol`: every connection must
   * begin with a PROXY header, whose client address is then the
   * connection's address everywhere (events, `maxPerIp`). A connection
   * without a valid header within the handshake timeout is closed (a
   * `proxy-error` event).
   *
   * @default {false}
   */
  proxyProtocol?: boolean;
  /**
   * The peers allowed to connect to PROXY protocol listeners, as CIDR
   * ranges (`10.0.0.0/8`, `2001:db8::/32`, or one address): your load
   * balancers. Others are refused (a `reject` event, `proxy-untrusted`).
   * Without it every peer is trusted to state any client address it
   * likes.
   *
   * @default {undefined}
   */
  proxyFrom?: readonly string[];
  /**
   * How long a peer of a PROXY protocol listener has to send its whole
   * header, in ms (on `tls://`, before the handshake, which then has its
   * own `tls.handshakeTimeout`).
   *
   * @default {10000}
   */
  proxyHeaderTimeout?: number;
  /** Limits for `udp://` listeners (see `serveUdp()`). */
  udp?: Pick<
    UdpServeOptions,
    | "maxDatagramSize"
    | "ratePerSource"
    | "burst"
    | "maxSources"
    | "allowPrivilegedSourcePorts"
    | "activityInterval"
  >;
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
   * Close a connection after echoing a line that says this word; `null` for
   * a pure RFC 862 echo.
   *
   * @default {"BYE"}
   */
  quitWord?: string | null;
  /**
   * How long {@linkcode EchoServer.shutdown} waits for connections to finish
   * before closing them, in milliseconds; at most 2147483647 (2^31 - 1,
   * about 24.8 days), as for every duration.
   *
   * @default {5000}
   */
  drainTimeout?: number;
  /**
   * Close a connection when nothing has been read or written for this many
   * milliseconds (a client that trickles bytes is slow, not idle); 0 never.
   *
   * @default {300000}
   */
  idleTimeout?: number;
  /**
   * How many connections may be open at once; a connection beyond that is
   * closed as soon as it is accepted (never left unserved in the backlog) and
   * reported as a `reject` event. 0 means no limit.
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * How many connections one client address may have open at once; beyond
   * that as for `maxConnections`. IPv6 clients count per /64 network (what
   * one host is usually given), and all Unix socket peers as one client.
   * The default keeps one address from holding every slot (a client that
   * trickles a byte now and then is never idle); raise it, or give 0 for no
   * limit, when many clients share one address (a NAT, or a load balancer
   * in front that does not pass the client's address on).
   *
   * @default {256}
   */
  maxPerIp?: number;
  /**
   * Close a connection after echoing this many bytes. 0 means no limit.
   *
   * @default {0}
   */
  maxBytes?: number;
  /**
   * How many isolates accept connections, to use more than one CPU core:
   * this one plus `workers - 1` web workers, each with its own listeners on
   * the same TCP and TLS addresses (`SO_REUSEPORT`: the kernel spreads new
   * connections over them). Connection limits and ids are shared by all, and
   * `onEvent` is called in this isolate for every connection. `unix:` and
   * `udp://` listeners are served by this isolate only. More than 1 needs
   * Linux and Deno's `--unstable-net` flag; at most 256.
   *
   * @default {1}
   */
  workers?: number;
  /**
   * Aborting closes the listeners and every connection at once; aborted
   * before `serve()` has resolved, it rejects with the signal's reason and
   * `onListen` is not called.
   */
  signal?: AbortSignal;
  /** Called once, with every bound address, when the server is listening. */
  onListen?: (addrs: readonly Deno.NetAddr[]) => void;
  /**
   * Called for everything that happens to a connection and for the
   * server's own troubles (see {@linkcode ServerEvent}), in the order it
   * happens; with `workers`, the workers' events arrive batched, a few
   * milliseconds late. A hook that throws does not stop the server: its
   * errors are its own to report.
   */
  onEvent?: (event: ServerEvent) => void;
}

/** What {@linkcode EchoServer.shutdown} did. */
export interface ShutdownResult {
  /** Whether every connection ended by itself within `drainTimeout`. */
  drained: boolean;
  /**
   * How many connections the server closed before they ended: those left
   * when `drainTimeout` ran out, or when `close()` cut the drain short.
   */
  closed: number;
}

/** A running echo server, shaped like `Deno.HttpServer`. */
export interface EchoServer extends AsyncDisposable {
  /**
   * The first bound address (the real port when 0 was asked): of the first
   * listener, so with `hostname` and `port` a TCP address.
   */
  readonly addr: Deno.NetAddr | Deno.UnixAddr;
  /**
   * The bound network addresses (the real port when 0 was asked), of every
   * TCP and TLS listener; `listeners` has them all, Unix sockets included.
   */
  readonly addrs: readonly Deno.NetAddr[];
  /** Every listener, with its kind and URL. */
  readonly listeners: readonly ListenerInfo[];
  /** What the `udp://` listeners have echoed and dropped, by listener URL. */
  readonly udpStats: ReadonlyMap<string, UdpEchoStats>;
  /** Resolves once the listeners are closed and every connection has ended. */
  readonly finished: Promise<void>;
  /** Connections open right now. */
  readonly connections: number;
  /**
   * Graceful, like Go's `Shutdown`: stops accepting at once, lets live
   * connections finish for up to `drainTimeout` ms, then closes the rest.
   * Called again, or once the server has finished, it resolves with the
   * same account.
   *
   * @returns Once {@linkcode EchoServer.finished}: whether the drain
   * finished and how many connections were cut.
   */
  shutdown(): Promise<ShutdownResult>;
  /**
   * Abrupt: closes the listeners and every connection now.
   *
   * @returns {@linkcode EchoServer.finished}.
   */
  close(): Promise<void>;
}
