// Copyright the deno-echo authors. MIT license.

// TLS for `tls://` listeners: `node:tls` over the accepted TCP connection
// (see conn_duplex.ts for why not `Deno.listenTls`), the handshake in the
// connection's own task, within a timeout, stoppable; client certificates
// checked against `tls.clientCa` (see client_ca.ts), and the client's
// proof that it holds their key (see tls12_proof.ts).

import { createPrivateKey, X509Certificate } from "node:crypto";
import tls from "node:tls";
import { ClientCa } from "./client_ca.ts";
import { ConnDuplex } from "./conn_duplex.ts";
import { ClientKeyProof } from "./tls12_proof.ts";
import { TlsSocketConn } from "./tls_conn.ts";
import type { ServeTlsOptions } from "./types.ts";

/**
 * How a connection's task is told to stop: `stopped` once asked, and `stop`
 * while something can be stopped (set during the handshake, then by the
 * echo). Not an `AbortController`: see `EchoStopper` in the echo core.
 */
export interface Stoppable {
  /** Set once the connection was told to stop. */
  stopped: boolean;
  /** Ends what the connection is doing now, if anything. */
  stop?: ((reason: unknown) => void) | undefined;
}

/** What every TLS connection of a server is made with, made once. */
export interface TlsSetup {
  /** The certificate and key, parsed once. */
  context: tls.SecureContext;
  /** ALPN protocols to announce. */
  alpnProtocols: string[];
  /** The CAs client certificates must chain to, with mutual TLS. */
  clientCa: ClientCa | undefined;
}

const setups = new WeakMap<ServeTlsOptions, TlsSetup>();

/**
 * Parses a server's TLS options, once for all its listeners and
 * connections, and checks them (`node:tls` itself would only fail each
 * handshake).
 *
 * @param options The `tls` option of `serve()`.
 * @returns What {@linkcode startTls} needs.
 * @throws {Deno.errors.InvalidData} If the certificate or key cannot be
 * parsed, they do not match, or `clientCa` holds no CA certificate.
 */
export function tlsSetup(options: ServeTlsOptions): TlsSetup {
  const known = setups.get(options);
  if (known !== undefined) return known;
  const { cert, key, alpnProtocols = ["echo"], clientCa } = options;
  const certificate = parsed("certificate", () => new X509Certificate(cert));
  const privateKey = parsed("private key", () => createPrivateKey(key));
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new Deno.errors.InvalidData(
      "The private key does not match the certificate",
    );
  }
  const setup = {
    // Mutual TLS in TLS 1.2, where the client's proof is in clear and
    // checked here: `node:tls` does not check it.
    context: tls.createSecureContext(
      clientCa === undefined ? { cert, key } : {
        cert,
        key,
        maxVersion: "TLSv1.2",
      },
    ),
    alpnProtocols,
    clientCa: clientCa === undefined
      ? undefined
      : parsed("client CA", () => new ClientCa(clientCa)),
  };
  setups.set(options, setup);
  return setup;
}

function parsed<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new Deno.errors.InvalidData(
      `Cannot use the ${what}: ${(error as Error).message}`,
    );
  }
}

/** A finished handshake. */
export interface TlsSession {
  /** The connection, for the echo. */
  conn: TlsSocketConn;
  /** The subject of the client's certificate, with mutual TLS. */
  clientSubject?: string;
}

/**
 * Runs the server side of a TLS handshake over an accepted connection,
 * within `timeout` ms, in the connection's own task. On failure, a timeout
 * or a stop, the connection is destroyed at once (its descriptor freed).
 *
 * @param conn The accepted TCP connection; owned by the TLS session now.
 * @param first Bytes already read from it (after a PROXY header).
 * @param setup From {@linkcode tlsSetup}.
 * @param timeout Milliseconds the client has.
 * @param live Where a stop comes from while the handshake runs.
 * @returns The session.
 * @throws {Deno.errors.TimedOut} If the client took longer than `timeout`.
 * @throws {Deno.errors.PermissionDenied} If its certificate is refused.
 */
export async function startTls(
  conn: Deno.Conn,
  first: Uint8Array | undefined,
  setup: TlsSetup,
  timeout: number,
  live: Stoppable,
): Promise<TlsSession> {
  const duplex = new ConnDuplex(conn, first);
  const mutual = setup.clientCa !== undefined;
  const proof = mutual ? new ClientKeyProof() : undefined;
  duplex.tap = proof;
  const socket = new tls.TLSSocket(duplex as never, {
    isServer: true,
    secureContext: setup.context,
    ALPNProtocols: setup.alpnProtocols,
    requestCert: mutual,
    rejectUnauthorized: mutual,
    allowHalfOpen: true,
  } as tls.TLSSocketOptions);
  // Errors also end the handshake or the echo as a close; unheard, they
  // would be uncaught.
  socket.on("error", () => {});
  const destroy = (): void => {
    socket.destroy();
    duplex.destroy();
  };
  try {
    await handshake(socket, duplex, timeout, live, destroy);
    duplex.tap = undefined;
    const session: TlsSession = { conn: new TlsSocketConn(socket, duplex) };
    if (setup.clientCa !== undefined) {
      const der = socket.getPeerCertificate()?.raw;
      if (!der?.length) {
        throw new Deno.errors.PermissionDenied("No client certificate");
      }
      session.clientSubject = setup.clientCa.verify(der);
      proof!.check(der);
    }
    return session;
  } catch (error) {
    destroy();
    throw error;
  }
}

function handshake(
  socket: tls.TLSSocket,
  duplex: ConnDuplex,
  timeout: number,
  live: Stoppable,
  destroy: () => void,
): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const fail = (error: unknown): void => {
    destroy();
    reject(error);
  };
  const timer = setTimeout(
    () =>
      fail(new Deno.errors.TimedOut(`TLS handshake not done in ${timeout} ms`)),
    timeout,
  );
  const onError = (error: Error): void => fail(error);
  const onClose = (): void =>
    fail(
      new Deno.errors.UnexpectedEof("Connection closed during the handshake"),
    );
  socket.once("error", onError);
  socket.once("close", onClose);
  // TLS does not notice the TCP stream ending before its handshake is done.
  duplex.once("end", onClose);
  duplex.once("close", onClose);
  socket.once("secure", resolve);
  live.stop = () =>
    fail(new Deno.errors.Interrupted("The server closed the connection"));
  if (live.stopped) live.stop(undefined);
  return promise.finally(() => {
    clearTimeout(timer);
    live.stop = undefined;
    socket.off("error", onError);
    socket.off("close", onClose);
    duplex.off("end", onClose);
    duplex.off("close", onClose);
  });
}
