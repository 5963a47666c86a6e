// Copyright the deno-echo authors. MIT license.

// What the ping probers share: their settings, how they open a stream
// connection, and how they say why one went away.

import { formatAddress } from "../net/address.ts";
import { ConnectTimeoutError, dialUnix } from "./dial.ts";
import { dialRoute, type RoutedConn, type RouteOptions } from "./proxy_dial.ts";
import type { PingLinkEvent, PingProbe, PingTransport } from "./ping_types.ts";

/** A ping run's checked settings. */
export interface PingSettings {
  transport: PingTransport;
  hostname: string;
  port: number;
  path: string;
  size: number;
  wait: number;
  connectTimeout: number;
  /** How to dial (TLS, proxy, source, family, trust). */
  route: RouteOptions;
  /** Ends the run. */
  signal: AbortSignal;
}

/** Where a prober reports. */
export interface ProbeSink {
  probe(probe: PingProbe): void;
  link(event: PingLinkEvent): void;
}

/** Sends probes one way (one connection, a connection each, or UDP). */
export interface Prober extends AsyncDisposable {
  /** Opens what the probes go over; throws why it cannot. */
  start(): Promise<void>;
  /** Sends probe `seq` (for a connection each: runs it to its end). */
  probe(seq: number): Promise<void>;
  /** Waits until every probe sent has an outcome (at most `wait`). */
  settle(): Promise<void>;
}

/**
 * Opens a stream connection as the settings say.
 *
 * @param settings The run's settings.
 * @param signal Cancels the attempt.
 * @returns The connection and how long each step took.
 */
export async function openStream(
  settings: PingSettings,
  signal: AbortSignal,
): Promise<RoutedConn> {
  if (settings.transport === "unix") {
    signal.throwIfAborted();
    const started = performance.now();
    const conn = await dialUnix(settings.path);
    return { conn, timings: { connect: performance.now() - started } };
  }
  return await dialRoute({
    ...settings.route,
    hostname: settings.hostname,
    port: settings.port,
    tls: settings.transport === "tls",
    timeout: settings.connectTimeout,
    signal,
  });
}

/**
 * The server as the probe lines name it: the connection's peer, or through
 * a proxy (whose address the peer is) the target as given.
 *
 * @param settings The run's settings.
 * @param conn The connection.
 * @returns `HOST:PORT` or `unix:PATH`.
 */
export function peerName(settings: PingSettings, conn: Deno.Conn): string {
  if (settings.route.proxy === undefined) return formatAddress(conn.remoteAddr);
  return formatAddress({ hostname: settings.hostname, port: settings.port });
}

/**
 * Why a connection went away or could not be made, in a few words:
 * `reset by peer`, `closed by peer`, `connection refused`, ...
 *
 * @param error What was thrown, or `null` for an end of stream.
 * @returns The words.
 */
export function lossWords(error: unknown): string {
  if (error === null) return "closed by peer";
  if (error instanceof Deno.errors.ConnectionReset) return "reset by peer";
  if (error instanceof Deno.errors.ConnectionAborted) return "aborted";
  if (error instanceof Deno.errors.BrokenPipe) return "broken pipe";
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused";
  }
  if (error instanceof Deno.errors.NotFound) return "no such socket";
  if (
    error instanceof ConnectTimeoutError ||
    error instanceof Deno.errors.TimedOut
  ) return "timed out";
  return error instanceof Error ? error.message : String(error);
}
