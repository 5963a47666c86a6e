// Copyright the deno-echo authors. MIT license.

// Connecting from a chosen local address and port. `Deno.connect` cannot
// bind before it connects, `node:net` can (`localAddress`, `localPort`);
// its socket is wrapped as a `Deno.Conn`, and TLS over it is `node:tls`.

import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { formatAddress, ipFamily } from "../net/address.ts";
import { denoError, NodeConn } from "../net/node_conn.ts";
import { type IPFamily, resolveAll } from "../net/resolve.ts";
import { type SourceAddress, sourceFamily } from "../net/source.ts";

export { type SourceAddress, sourceFamily } from "../net/source.ts";

/** What TLS over a `node:net` socket trusts and presents. */
export interface NodeTlsOptions {
  /** The name the certificate must show (the target's host). */
  hostname: string;
  /**
   * CA certificates to trust, PEM: given, they are the only ones trusted
   * (unlike `Deno.connectTls`, where they add to the system's roots).
   */
  caCerts?: string[];
  /** ALPN protocols to offer. */
  alpnProtocols: string[];
  /** Skip checking the name (the chain is still checked). */
  unsafelyDisableHostnameVerification?: boolean;
  /** A client certificate chain and key, PEM. */
  clientCert?: { cert: string; key: string };
}

/**
 * Connects from `source` to `to`, trying each address of `to` of the
 * source's family in turn.
 *
 * @param source The local address and port to bind; without one the
 * system picks, as for any connection.
 * @param to Where to connect.
 * @param family The family asked for, if any.
 * @param signal Cancels the attempt (the socket is destroyed).
 * @returns The connection, Nagle's algorithm off.
 * @throws {Deno.errors.AddrInUse} If the source cannot be bound.
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 * @throws {UnknownHostError} If `to` has no address of the source's family.
 */
export async function connectFrom(
  source: SourceAddress | undefined,
  to: { hostname: string; port: number },
  family: IPFamily | undefined,
  signal: AbortSignal | undefined,
): Promise<NodeConn> {
  const addresses = await resolveAll(
    to.hostname,
    source === undefined ? family : sourceFamily(source, family),
  );
  let first: unknown;
  for (const { address } of addresses) {
    signal?.throwIfAborted();
    try {
      return await connectOne(source, address, to.port, signal);
    } catch (error) {
      if (signal?.aborted || error instanceof Deno.errors.AddrInUse) {
        throw error;
      }
      first ??= error;
    }
  }
  throw first;
}

function connectOne(
  source: SourceAddress | undefined,
  host: string,
  port: number,
  signal: AbortSignal | undefined,
): Promise<NodeConn> {
  const socket = netConnect({
    host,
    port,
    ...(source === undefined ? {} : { localAddress: source.hostname }),
    ...(source?.port ? { localPort: source.port } : {}),
  });
  const mapError = (error: unknown): unknown => {
    const code = (error as { code?: unknown }).code;
    if (
      code === "EADDRINUSE" || code === "EINVAL" || code === "EADDRNOTAVAIL"
    ) {
      const hostname = source?.hostname ?? "::";
      const where = source?.port
        ? formatAddress({ hostname, port: source.port })
        : hostname;
      return new Deno.errors.AddrInUse(
        `Cannot connect from ${where}: the address is not this host's, or the port is in use (${code})`,
      );
    }
    return denoError(error);
  };
  return settle(socket, "connect", signal, mapError, () => {
    socket.setNoDelay(true);
    return new NodeConn(socket);
  });
}

/**
 * Runs a TLS handshake over a connection made by {@linkcode connectFrom}
 * (directly, or through a proxy's tunnel).
 *
 * @param conn The connection; it is retired, its socket carries the TLS.
 * @param options What to trust and present.
 * @param signal Cancels the handshake (the socket is destroyed).
 * @returns The TLS connection, handshake done.
 * @throws {Deno.errors.InvalidData} If the certificate is not trusted or
 * does not name the host.
 */
export async function startNodeTls(
  conn: NodeConn,
  options: NodeTlsOptions,
  signal: AbortSignal | undefined,
): Promise<NodeConn> {
  const { hostname, caCerts, clientCert } = options;
  const raw = conn.detach();
  // Its errors reach the TLS socket too; one unheard would throw.
  raw.on("error", () => {});
  const socket = tlsConnect({
    socket: raw,
    host: hostname,
    ...(ipFamily(hostname) === 0 ? { servername: hostname } : {}),
    ALPNProtocols: options.alpnProtocols,
    // Replaces the system's roots: adding to them (tls.rootCertificates)
    // would need --allow-sys.
    ...(caCerts === undefined ? {} : { ca: caCerts }),
    ...(options.unsafelyDisableHostnameVerification
      ? { checkServerIdentity: () => undefined }
      : {}),
    ...(clientCert === undefined ? {} : clientCert),
  });
  return await settle(
    socket,
    "secureConnect",
    signal,
    denoError,
    () => new NodeConn(socket),
  );
}

/**
 * Waits for `event`, then makes the result at once (before any later error
 * event could go unheard); an error or an abort destroys the socket.
 */
function settle<T>(
  socket: Socket,
  event: string,
  signal: AbortSignal | undefined,
  mapError: (error: unknown) => unknown,
  make: () => T,
): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const done = (): void => {
    socket.off("error", onError);
    signal?.removeEventListener("abort", onAbort);
  };
  const onAbort = (): void => {
    done();
    socket.destroy();
    reject(signal!.reason);
  };
  const onError = (error: unknown): void => {
    done();
    socket.destroy();
    reject(mapError(error));
  };
  socket.once(event, () => {
    done();
    resolve(make());
  });
  socket.on("error", onError);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return promise;
}
