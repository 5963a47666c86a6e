// Copyright the deno-echo authors. MIT license.

import { DEFAULT_PORT } from "../net/defaults.ts";
import { parseHostPort } from "../net/address.ts";
import {
  dial,
  type DialOptions,
  dialTls,
  type DialTlsOptions,
} from "./dial.ts";
import {
  checkMaxLineLength,
  EchoClient,
  type EchoClientOptions,
} from "./echo_client.ts";

/** Options for {@linkcode connect} given where to connect as an object. */
export interface ConnectOptions extends DialOptions, EchoClientOptions {}

/**
 * Options for {@linkcode connect} given an address: how to connect, and,
 * for `tls://`, what to trust. `family` and `timeout` apply to TCP and TLS.
 */
export interface ConnectAddressOptions
  extends Omit<DialTlsOptions, "hostname" | "port">, EchoClientOptions {}

/** Where an address says to connect. */
export type ConnectTarget =
  /** TCP or TLS on every address `hostname` names. */
  | { transport: "tcp" | "tls"; hostname: string; port: number }
  /** A Unix domain socket. */
  | { transport: "unix"; path: string };

const TLS_OPTIONS = [
  "caCerts",
  "alpnProtocols",
  "unsafelyDisableHostnameVerification",
  "clientCert",
] as const;

/**
 * Connects to an echo server over TCP.
 *
 * @example Send lines and read their echoes
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "::1", port: 0 });
 * await using client = await connect({ hostname: "::1", port: server.addrs[0]!.port });
 * assertEquals(await client.send("ping"), "ping");
 * assertEquals(await client.send("BYE"), "BYE");
 * assertEquals(await client.readLine(), null); // The server closed after BYE.
 * ```
 *
 * @param options Where to connect (default `localhost:2000`), family,
 * timeout, cancellation and the longest line to accept.
 * @returns A client for the new connection.
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 * @throws {UnknownHostError} If the name resolves to nothing usable.
 * @throws {ConnectTimeoutError} If `timeout` ran out.
 */
export function connect(
  options?: ConnectOptions,
): Promise<EchoClient<Deno.TcpConn>>;
/**
 * Connects to an echo server at an address: `HOST:PORT` (`[V6]:PORT`; the
 * port defaults to 2000), or a listener URL as the server takes them:
 * `tcp://HOST:PORT`, `tls://HOST:PORT` or `unix:PATH`.
 *
 * @example Connect by HOST:PORT, or by URL
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "::1", port: 0 });
 * const { port } = server.addrs[0]!;
 * for (const address of [`[::1]:${port}`, `tcp://[::1]:${port}`]) {
 *   await using client = await connect(address, { timeout: 1000 });
 *   assertEquals(await client.send("ping"), "ping");
 * }
 * ```
 *
 * @example Connect over TLS, trusting a private CA
 * ```ts ignore
 * import { connect } from "@deno-echo/echo";
 *
 * await using client = await connect("tls://localhost:2443", {
 *   caCerts: [await Deno.readTextFile("ca.pem")],
 * });
 * ```
 *
 * @example Connect to a Unix socket
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   await using server = await serve({ listen: [`unix:${dir}/echo.sock`] });
 *   await using client = await connect(`unix:${dir}/echo.sock`);
 *   assertEquals(await client.send("hi"), "hi");
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param address Where to connect.
 * @param options Family, timeout, cancellation, the longest line to accept
 * and, for `tls://`, trust and ALPN.
 * @returns A client for the new connection.
 * @throws {RangeError} If the address is not one of those forms.
 * @throws {TypeError} If it is `udp://` (see `openUdpClient`), or TLS
 * options come with an address that is not `tls://`.
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 * @throws {Deno.errors.NotFound} If no socket is at a `unix:` path.
 * @throws {Deno.errors.InvalidData} If the TLS handshake fails.
 */
export function connect(
  address: string,
  options?: ConnectAddressOptions,
): Promise<EchoClient>;
/**
 * Connects to a server's bound address as its handle reports it
 * (`server.addr`, an entry of `server.listeners`): TCP for a network
 * address, the socket for a Unix one.
 *
 * @example Connect to where a server really listens
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * await using client = await connect(server.addr);
 * assertEquals(await client.send("hi"), "hi");
 * ```
 *
 * @param addr The address.
 * @param options Family, timeout, cancellation and the longest line to
 * accept.
 * @returns A client for the new connection.
 * @throws {TypeError} If it is a UDP address (see `openUdpClient`).
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 */
export function connect(
  addr: Deno.NetAddr,
  options?: ConnectAddressOptions,
): Promise<EchoClient<Deno.TcpConn>>;
/**
 * Connects to a server's bound address, network or Unix, as its handle
 * reports it (`server.addr`).
 *
 * @example Connect to a server's first listener, whatever its kind
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * const addr: Deno.NetAddr | Deno.UnixAddr = server.addr;
 * await using client = await connect(addr);
 * assertEquals(await client.send("hi"), "hi");
 * ```
 *
 * @param addr The address.
 * @param options Family, timeout, cancellation and the longest line to
 * accept.
 * @returns A client for the new connection.
 * @throws {TypeError} If it is a UDP address (see `openUdpClient`).
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 */
export function connect(
  addr: Deno.NetAddr | Deno.UnixAddr,
  options?: ConnectAddressOptions,
): Promise<EchoClient>;
export async function connect(
  target: string | ConnectOptions | Deno.NetAddr | Deno.UnixAddr = {},
  options: ConnectAddressOptions = {},
): Promise<EchoClient> {
  if (typeof target !== "string") {
    if ("transport" in target && target.transport === "udp") {
      throw new TypeError("A UDP address takes openUdpClient(), not connect()");
    }
    if ("path" in target) {
      const maxLineLength = checkMaxLineLength(options.maxLineLength);
      const unix: ConnectTarget = { transport: "unix", path: target.path };
      return new EchoClient(await open(unix, options), { maxLineLength });
    }
    // Options, or a network address with options beside it.
    const merged: ConnectOptions = { ...options, ...target };
    const maxLineLength = checkMaxLineLength(merged.maxLineLength);
    return new EchoClient(await dial(merged), { maxLineLength });
  }
  const maxLineLength = checkMaxLineLength(options.maxLineLength);
  const parsed = parseConnectAddress(target);
  const tlsOption = TLS_OPTIONS.find((name) => options[name] !== undefined);
  if (parsed.transport !== "tls" && tlsOption !== undefined) {
    throw new TypeError(
      `Option "${tlsOption}" goes with a tls:// address, not "${target}"`,
    );
  }
  return new EchoClient(await open(parsed, options), { maxLineLength });
}

function open(
  target: ConnectTarget,
  options: ConnectAddressOptions,
): Promise<Deno.Conn> {
  const { maxLineLength: _, ...dialOptions } = options;
  if (target.transport === "unix") {
    options.signal?.throwIfAborted();
    return Deno.connect({ transport: "unix", path: target.path });
  }
  const where = { ...dialOptions, ...target };
  return target.transport === "tls" ? dialTls(where) : dial(where);
}

/**
 * Parses where {@linkcode connect} is to go: `HOST`, `HOST:PORT`,
 * `[V6]:PORT`, a bare IPv6 literal (a host, never host and port),
 * `tcp://HOST[:PORT]`, `tls://HOST[:PORT]` or `unix:PATH`. The port defaults
 * to 2000.
 *
 * @param address The address as written.
 * @returns The transport and where.
 * @throws {RangeError} If the address is none of those forms.
 * @throws {TypeError} If it is `udp://`, which is no stream transport.
 */
export function parseConnectAddress(address: string): ConnectTarget {
  if (address.startsWith("unix:")) {
    const path = address.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "") {
      throw new RangeError(`Invalid address "${address}": expected unix:PATH`);
    }
    return { transport: "unix", path };
  }
  const url = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(address);
  const scheme = url?.[1]?.toLowerCase();
  if (scheme === "udp") {
    throw new TypeError(
      `Cannot connect to "${address}": udp:// carries datagrams, not a stream; use openUdpClient()`,
    );
  }
  if (url && scheme !== "tcp" && scheme !== "tls") {
    throw new RangeError(
      `Invalid address "${address}": expected HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or unix:PATH`,
    );
  }
  let hostPort;
  try {
    hostPort = parseHostPort(url ? url[2]!.replace(/\/$/, "") : address);
  } catch (error) {
    if (!url) throw error;
    throw new RangeError(
      `Invalid address "${address}": ${(error as Error).message}`,
    );
  }
  const { hostname, port } = hostPort;
  const transport = scheme === "tls" ? "tls" : "tcp";
  return { transport, hostname, port: port ?? DEFAULT_PORT };
}
