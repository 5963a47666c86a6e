// Copyright the deno-echo authors. MIT license.

import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import { closeQuietly } from "../net/close.ts";
import { ipFamily } from "../net/address.ts";
import { type IPFamily, resolveAll } from "../net/resolve.ts";
import { checkDuration } from "../net/duration.ts";

/** Options for {@linkcode dial}. */
export interface DialOptions {
  /**
   * A name or an IP literal (IPv6 without brackets). A name means every
   * address it resolves to, tried until one answers; `localhost` also means
   * both `127.0.0.1` and `::1`.
   *
   * @default {"localhost"}
   */
  hostname?: string;
  /**
   * The port to dial.
   *
   * @default {2000}
   */
  port?: number;
  /** Use only IPv4 (4) or only IPv6 (6) addresses. */
  family?: IPFamily;
  /**
   * Give up connecting after this many milliseconds (0 waits as long as the
   * system does), at most 2147483647 (about 24.8 days). Applies to the
   * connection attempt only.
   *
   * @default {0}
   */
  timeout?: number;
  /** Cancels the connection attempt. */
  signal?: AbortSignal;
}

/**
 * Raised when a connection attempt runs out of time.
 *
 * @example Tell a timeout from a refusal
 * ```ts
 * import { ConnectTimeoutError } from "@deno-echo/echo";
 * import { assert } from "@std/assert";
 *
 * assert(new ConnectTimeoutError("192.0.2.1", 7, 100) instanceof Error);
 * ```
 */
export class ConnectTimeoutError extends Error {
  /**
   * Makes the error for one attempt.
   *
   * @param hostname What was dialed.
   * @param port The port dialed.
   * @param timeout The limit, in milliseconds.
   */
  constructor(hostname: string, port: number, timeout: number) {
    super(
      `Timed out after ${timeout} ms connecting to ${hostname} port ${port}`,
    );
    this.name = "ConnectTimeoutError";
  }
}

/**
 * Opens a TCP connection to an echo server, trying every address the
 * hostname names (Happy Eyeballs for names with several addresses).
 *
 * @example Dial a server and use the raw connection
 * ```ts
 * import { dial, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * using conn = await dial({ hostname: "localhost", port: server.addrs[0]!.port, family: 4, timeout: 1000 });
 * await conn.write(new TextEncoder().encode("hi\n"));
 * const buffer = new Uint8Array(3);
 * assertEquals(await conn.read(buffer), 3);
 * ```
 *
 * @param options Where to connect, family, timeout and cancellation.
 * @returns The connection, with Nagle's algorithm off.
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 * @throws {UnknownHostError} If the name resolves to nothing usable.
 * @throws {ConnectTimeoutError} If `timeout` ran out.
 * @throws {RangeError} If the port or `timeout` is out of range.
 */
export async function dial(options: DialOptions = {}): Promise<Deno.TcpConn> {
  const {
    hostname = DEFAULT_HOSTNAME,
    port = DEFAULT_PORT,
    family,
    timeout = 0,
  } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port ${port}: expected 1 to 65535`);
  }
  checkDuration("timeout", timeout);
  options.signal?.throwIfAborted();
  const signals: AbortSignal[] = [];
  if (options.signal !== undefined) signals.push(options.signal);
  const timer = timeout > 0 ? AbortSignal.timeout(timeout) : undefined;
  if (timer !== undefined) signals.push(timer);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  try {
    const conn = await dialAll(hostname, port, family, signal);
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
    if (timer?.aborted && !options.signal?.aborted) {
      throw new ConnectTimeoutError(hostname, port, timeout);
    }
    throw signal?.aborted ? signal.reason : error;
  }
}

async function dialAll(
  hostname: string,
  port: number,
  family: IPFamily | undefined,
  signal: AbortSignal | undefined,
): Promise<Deno.TcpConn> {
  const connect = (address: string): Promise<Deno.TcpConn> =>
    Deno.connect(
      signal === undefined
        ? { hostname: address, port }
        : { hostname: address, port, signal },
    );
  const isLocalhost = /^localhost\.?$/i.test(hostname);
  if (ipFamily(hostname) === 0 && family === undefined && !isLocalhost) {
    // The runtime races every address the name has (RFC 8305).
    try {
      return await connect(hostname);
    } catch (error) {
      if (isLookupFailure(error)) {
        await resolveAll(hostname); // Throws UnknownHostError with the cause.
      }
      throw error;
    }
  }
  // A literal, a forced family, or localhost (whose second loopback the
  // resolver may not list): try each address in turn.
  const addresses = await resolveAll(hostname, family);
  let first: unknown;
  for (const { address } of addresses) {
    try {
      return await connect(address);
    } catch (error) {
      if (signal?.aborted) throw error;
      first ??= error;
    }
  }
  throw first;
}

function isLookupFailure(error: unknown): boolean {
  return error instanceof Error &&
    error.message.includes("failed to lookup address");
}

/** Options for {@linkcode dialTls}: {@linkcode DialOptions} plus TLS. */
export interface DialTlsOptions extends DialOptions {
  /** Extra trusted CA certificates, PEM (a private CA, say). */
  caCerts?: string[];
  /**
   * ALPN protocols to offer.
   *
   * @default {["echo"]}
   */
  alpnProtocols?: string[];
  /**
   * Skip checking the server's name against its certificate. The chain is
   * still verified (Deno has no per-connection switch to skip that).
   *
   * @default {false}
   */
  unsafelyDisableHostnameVerification?: boolean;
  /** A client certificate chain and key (PEM), for servers that ask. */
  clientCert?: { cert: string; key: string };
}

/**
 * Opens a TLS connection to an echo server and completes the handshake, so
 * that certificate problems surface here, within `timeout`.
 *
 * @example Dial a TLS echo server with a private CA
 * ```ts ignore
 * import { dialTls } from "@deno-echo/echo";
 *
 * using conn = await dialTls({
 *   hostname: "localhost",
 *   port: 2443,
 *   caCerts: [await Deno.readTextFile("ca.pem")],
 * });
 * ```
 *
 * @param options Where to connect, trust, ALPN, timeout and cancellation.
 * @returns The connection, handshake done.
 * @throws {Deno.errors.InvalidData} If the server's certificate is not
 * trusted or does not name the host.
 */
export async function dialTls(options: DialTlsOptions): Promise<Deno.TlsConn> {
  const {
    hostname = DEFAULT_HOSTNAME,
    port = DEFAULT_PORT,
    timeout = 0,
    alpnProtocols = ["echo"],
    caCerts,
    clientCert,
  } = options;
  checkDuration("timeout", timeout);
  const tlsOptions = {
    hostname,
    alpnProtocols,
    ...(caCerts === undefined ? {} : { caCerts }),
    ...(options.unsafelyDisableHostnameVerification
      ? { unsafelyDisableHostnameVerification: true }
      : {}),
  };
  const started = performance.now();
  let conn: Deno.TlsConn;
  if (clientCert !== undefined) {
    // Only connectTls can present a client certificate; it resolves the
    // name itself (both families, Happy Eyeballs).
    conn = await Deno.connectTls({ ...tlsOptions, port, ...clientCert });
  } else {
    conn = await Deno.startTls(await dial(options), tlsOptions);
  }
  const left = timeout > 0 ? timeout - (performance.now() - started) : 0;
  let timedOut = false;
  const timer = left > 0
    ? setTimeout(() => {
      timedOut = true;
      conn.close();
    }, left)
    : undefined;
  try {
    await conn.handshake();
    return conn;
  } catch (error) {
    closeQuietly(conn);
    if (timedOut) throw new ConnectTimeoutError(hostname, port, timeout);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a connection to an echo server on a Unix domain socket.
 *
 * @example Dial a Unix socket
 * ```ts ignore
 * import { dialUnix } from "@deno-echo/echo";
 *
 * using conn = await dialUnix("/run/echo.sock");
 * ```
 *
 * @param path The socket's path.
 * @returns The connection.
 * @throws {Deno.errors.NotFound} If nothing is at `path`.
 * @throws {Deno.errors.ConnectionRefused} If no server listens there.
 */
export function dialUnix(path: string): Promise<Deno.UnixConn> {
  return Deno.connect({ transport: "unix", path });
}
