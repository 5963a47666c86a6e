// Copyright the deno-echo authors. MIT license.

import type { IPFamily } from "../net/resolve.ts";
import type { PingMismatch } from "./ping_payload.ts";
import type { RouteOptions, RouteTimings } from "./proxy_dial.ts";

export type { PingMismatch } from "./ping_payload.ts";

/** How a ping reaches the server. */
export type PingTransport = "tcp" | "tls" | "unix" | "udp";

/** Options for `runPing`. */
export interface PingOptions
  extends Omit<RouteOptions, "tls" | "timeout" | "signal"> {
  /**
   * `"tcp"`, `"tls"` (with the trust options), `"unix"` (see `path`) or
   * `"udp"` (each probe one datagram).
   *
   * @default {"tcp"}
   */
  transport?: PingTransport;
  /** `"unix"`: the socket's path. */
  path?: string;
  /** Use only IPv4 (4) or only IPv6 (6) addresses. */
  family?: IPFamily;
  /**
   * How many probes to send; 0 sends until `signal` aborts.
   *
   * @default {0}
   */
  count?: number;
  /**
   * Milliseconds from one probe to the next (1 to 2147483647).
   *
   * @default {1000}
   */
  interval?: number;
  /**
   * Bytes per probe, 12 or more (65507 at most over UDP, 1 MiB otherwise).
   *
   * @default {64}
   */
  size?: number;
  /**
   * How long to wait for each echo, in milliseconds; a later echo counts as
   * lost (and is reported as late).
   *
   * @default {1000}
   */
  wait?: number;
  /**
   * How long each connection attempt may take, in milliseconds (proxy and
   * TLS handshakes included); 0 waits as long as the system does.
   *
   * @default {5000}
   */
  connectTimeout?: number;
  /**
   * Open a new connection for each probe (and time connect, proxy and TLS
   * handshakes apart from the echo) instead of probing over one connection.
   * Not for UDP.
   *
   * @default {false}
   */
  newConnection?: boolean;
  /** Ends the run: probes still in flight are not counted. */
  signal?: AbortSignal;
}

/** What became of one probe. */
export interface PingProbe {
  /** Its sequence number, from 1. */
  seq: number;
  /**
   * `"echoed"`: its echo came back intact within `wait`. `"lost"`: it did
   * not (see `reason`). `"wrong"`: an echo came back that differs from the
   * payload (see `mismatch`). `"late"`: the echo of a probe already
   * reported lost came after all (not counted again).
   */
  status: "echoed" | "lost" | "wrong" | "late";
  /** The payload's size in bytes. */
  bytes: number;
  /** The server's address, as `HOST:PORT` or `unix:PATH`. */
  from: string;
  /** Milliseconds from sending the probe to the last byte of its echo. */
  time?: number;
  /**
   * Why a probe was lost: `"timeout"` (no echo within `wait`),
   * `"connection lost"` (the connection went away while it was in flight),
   * `"disconnected"` (it fell due while reconnecting), or `"connect failed"`
   * (`newConnection`: no connection; see `error`).
   */
  reason?: "timeout" | "connection lost" | "disconnected" | "connect failed";
  /** What went wrong, in words, for a lost probe. */
  error?: string;
  /** For a wrong echo: where it first differs. */
  mismatch?: PingMismatch;
  /** With `newConnection`: how long connecting took, step by step. */
  timings?: RouteTimings;
}

/** A change of the connection a ping runs over. */
export type PingLinkEvent =
  /** The first connection is open (UDP: the socket is bound). */
  | { type: "connected"; remote: string; local: string }
  /** The connection is gone; reconnecting begins. */
  | { type: "lost"; reason: string }
  /** Connected again after `after` ms; `lost` probes fell due meanwhile. */
  | { type: "reconnected"; after: number; lost: number; remote: string };

/** Round-trip times of the echoed probes, in milliseconds. */
export interface PingRtt {
  /** The shortest. */
  min: number;
  /** The mean. */
  avg: number;
  /** The longest. */
  max: number;
  /** The standard deviation (`ping`'s mdev). */
  mdev: number;
}

/** What a ping run measured. */
export interface PingSummary {
  /** The target as given, `HOST:PORT` or `unix:PATH`. */
  target: string;
  /** Probes whose outcome is known (echoed, lost or wrong). */
  sent: number;
  /** Probes echoed intact in time. */
  echoed: number;
  /** Probes with no echo in time. */
  lost: number;
  /** Probes whose echo differed from the payload. */
  wrong: number;
  /** Echoes that came after their probe was counted lost. */
  late: number;
  /** Times the connection was lost and made again. */
  reconnects: number;
  /** Milliseconds from the start to the end of the run. */
  time: number;
  /** Round-trip times, or `null` when nothing was echoed. */
  rtt: PingRtt | null;
}

/** Hears what a ping run sees, as it happens. */
export interface PingHooks {
  /** Called once for each probe's outcome (and for each late echo). */
  onProbe?: (probe: PingProbe) => void;
  /** Called when the connection opens, is lost, or is made again. */
  onLink?: (event: PingLinkEvent) => void;
}
