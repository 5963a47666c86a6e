// Copyright the deno-echo authors. MIT license.

// The metrics of an echo server's connections and datagrams, declared once,
// and the closed sets of reasons their `reason` label takes.

import type { MetricFamily, Registry } from "./registry.ts";
import type { EchoEndReason } from "../echo/echo.ts";
import type { RejectReason } from "../server/types.ts";
import type { UdpDropReason } from "../udp/udp_server.ts";

// Spelt out as records: the compiler checks that each lists every member of
// its type, and no more.
const END_REASONS: Record<EchoEndReason, true> = {
  eof: true,
  quit: true,
  idle: true,
  limit: true,
  aborted: true,
  error: true,
};
const REJECT_REASONS: Record<RejectReason, true> = {
  "max-connections": true,
  "max-per-ip": true,
  "proxy-untrusted": true,
};
const DROP_REASONS: Record<UdpDropReason, true> = {
  "privileged-port": true,
  "reflector-port": true,
  oversize: true,
  "rate-limit": true,
  overload: true,
};

/** Why a connection ended: every `EchoEndReason`. */
export const END_REASON_LIST = Object.keys(END_REASONS) as EchoEndReason[];
/** Why a connection was refused: every `RejectReason`. */
export const REJECT_REASON_LIST = Object.keys(
  REJECT_REASONS,
) as RejectReason[];
/** Why a datagram was dropped: every `UdpDropReason`. */
export const DROP_REASON_LIST = Object.keys(DROP_REASONS) as UdpDropReason[];

/** The labels of per-listener metrics. */
export type ByListener = "listener" | "transport";
/** The labels of per-listener metrics counted by reason. */
export type ByReason = ByListener | "reason";

/** The server's metrics, to make each listener's series from. */
export interface ServerFamilies {
  /** `echo_connections_accepted_total` */
  accepted: MetricFamily<ByListener>;
  /** `echo_connections_open` */
  open: MetricFamily<ByListener>;
  /** `echo_connections_closed_total` */
  closed: MetricFamily<ByReason>;
  /** `echo_connections_rejected_total` */
  rejected: MetricFamily<ByReason>;
  /** `echo_bytes_echoed_total` */
  bytes: MetricFamily<ByListener>;
  /** `echo_tls_handshake_failures_total` */
  handshakes: MetricFamily<"listener">;
  /** `echo_proxy_header_failures_total` */
  proxy: MetricFamily<"listener">;
  /** `echo_accept_errors_total` */
  acceptErrors: MetricFamily;
  /** `echo_udp_datagrams_echoed_total` */
  udpEchoed: MetricFamily<"listener">;
  /** `echo_udp_datagrams_dropped_total` */
  udpDropped: MetricFamily<"listener" | "reason">;
}

/**
 * Declares the server's metrics in `registry`, each bounded to the series
 * that `listeners` listeners can have.
 *
 * @param registry Where to declare them.
 * @param listeners How many listeners (the `other` one included).
 * @returns The metrics.
 */
export function declareServerFamilies(
  registry: Registry,
  listeners: number,
): ServerFamilies {
  const perListener: Labelled<ByListener> = {
    labelNames: ["listener", "transport"],
    maxSeries: listeners,
  };
  const perName: Labelled<"listener"> = {
    labelNames: ["listener"],
    maxSeries: listeners,
  };
  const byReason = (reasons: number): Labelled<ByReason> => ({
    labelNames: ["listener", "transport", "reason"],
    maxSeries: listeners * reasons,
  });
  return {
    accepted: registry.counter({
      name: "echo_connections_accepted_total",
      help: "Connections accepted and opened (on tls://, handshake done).",
      ...perListener,
    }),
    open: registry.gauge({
      name: "echo_connections_open",
      help: "Connections open now.",
      ...perListener,
    }),
    closed: registry.counter({
      name: "echo_connections_closed_total",
      help: "Connections closed, by why they ended.",
      ...byReason(END_REASON_LIST.length),
    }),
    rejected: registry.counter({
      name: "echo_connections_rejected_total",
      help: "Connections closed at once because of a connection limit.",
      ...byReason(REJECT_REASON_LIST.length),
    }),
    bytes: registry.counter({
      name: "echo_bytes_echoed_total",
      help: "Bytes echoed (a connection's added when it closes).",
      ...perListener,
    }),
    handshakes: registry.counter({
      name: "echo_tls_handshake_failures_total",
      help: "TLS handshakes that failed or timed out.",
      ...perName,
    }),
    proxy: registry.counter({
      name: "echo_proxy_header_failures_total",
      help: "Connections closed because of a missing or invalid PROXY header.",
      ...perName,
    }),
    acceptErrors: registry.counter({
      name: "echo_accept_errors_total",
      help:
        "Failed accept() calls, the metrics endpoint's too (a client gone first, no descriptors left).",
    }),
    udpEchoed: registry.counter({
      name: "echo_udp_datagrams_echoed_total",
      help: "UDP datagrams echoed.",
      ...perName,
    }),
    udpDropped: registry.counter({
      name: "echo_udp_datagrams_dropped_total",
      help: "UDP datagrams not echoed, by why.",
      labelNames: ["listener", "reason"],
      maxSeries: listeners * DROP_REASON_LIST.length,
    }),
  };
}

/** Labels and their bound, as the metrics' options take them. */
interface Labelled<L extends string> {
  labelNames: readonly L[];
  maxSeries: number;
}
