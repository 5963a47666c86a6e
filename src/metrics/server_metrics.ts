// Copyright the deno-echo authors. MIT license.

import {
  declareProcessMetrics,
  type ProcessMetricsOptions,
} from "./process_metrics.ts";
import { Registry, type Series } from "./registry.ts";
import {
  declareServerFamilies,
  DROP_REASON_LIST,
  END_REASON_LIST,
  REJECT_REASON_LIST,
  type ServerFamilies,
} from "./server_families.ts";
import type { EchoEndReason } from "../echo/echo.ts";
import type { EchoServer, RejectReason, ServerEvent } from "../server/types.ts";
import type { UdpDropReason, UdpEchoStats } from "../udp/udp_server.ts";

/** How many listeners get series of their own unless told otherwise. */
export const DEFAULT_MAX_LISTENERS = 256;

/** The `listener` (and `transport`) value of events past the bound. */
const OTHER = "other";

type StreamTransport = "tcp" | "tls" | "unix";

/** Options for {@linkcode ServerMetrics}. */
export interface ServerMetricsOptions extends ProcessMetricsOptions {
  /**
   * How many listeners get series of their own; events of any further one
   * are counted under `listener="other"`, so that the number of series stays
   * bounded whatever the events say.
   *
   * @default {256}
   */
  maxListeners?: number;
}

/** One stream listener's series, made once. */
interface StreamSeries {
  accepted: Series;
  open: Series;
  bytes: Series;
  closed: Record<EchoEndReason, Series>;
  rejected: Record<RejectReason, Series>;
  /** Only `tls://` listeners have it. */
  handshakeFailures: Series | undefined;
  proxyFailures: Series;
}

/** One `udp://` listener's series, set from its stats at each scrape. */
interface UdpSeries {
  echoed: Series;
  bytes: Series;
  dropped: Record<UdpDropReason, Series>;
}

/** What {@linkcode ServerMetrics.attach} reads of a server. */
export type MetricsServerView = Pick<EchoServer, "listeners" | "udpStats">;

/**
 * An echo server's metrics, fed by its events: pass
 * {@linkcode ServerMetrics.observe} as (or call it from) `serve()`'s
 * `onEvent`, then {@linkcode ServerMetrics.attach} the server it returns.
 *
 * With `workers`, every worker's events reach `onEvent` in the isolate that
 * called `serve()`, so the figures are the whole server's, not one
 * isolate's; `udp://` listeners are served by that isolate alone, and their
 * figures come from the server's `udpStats`.
 *
 * The metrics (`listener` is the listener's URL, `transport` one of `tcp`,
 * `tls`, `unix`, `udp`, `reason` one of the server's closed sets of reasons):
 * - `echo_connections_accepted_total{listener,transport}`: connections
 *   opened (accepted, and on `tls://` past the handshake); rejected ones and
 *   failed handshakes are counted apart.
 * - `echo_connections_open{listener,transport}`: open now (accepted minus
 *   closed).
 * - `echo_connections_closed_total{listener,transport,reason}`, `reason` an
 *   `EchoEndReason`.
 * - `echo_connections_rejected_total{listener,transport,reason}`, `reason` a
 *   `RejectReason`.
 * - `echo_bytes_echoed_total{listener,transport}`: a connection's bytes are
 *   added when it closes; a UDP listener's are read at each scrape.
 * - `echo_tls_handshake_failures_total{listener}` (`tls://` listeners).
 * - `echo_proxy_header_failures_total{listener}`: connections closed on a
 *   PROXY protocol listener for a missing, invalid or late header (they
 *   are neither accepted nor rejected).
 * - `echo_accept_errors_total`.
 * - `echo_udp_datagrams_echoed_total{listener}`,
 *   `echo_udp_datagrams_dropped_total{listener,reason}`, `reason` a
 *   `UdpDropReason`.
 * - `echo_log_lines_dropped_total`, `echo_build_info{version}` (always 1),
 *   `process_start_time_seconds`, `process_resident_memory_bytes`.
 *
 * Cardinality is bounded: one set of series per listener (at most
 * `maxListeners`, the rest counted together as `listener="other"`) times the
 * fixed reasons; no label comes from a peer.
 *
 * Observing an event costs one `Map` lookup by the listener URL the event
 * carries (a string the server made once per listener, not per event) and
 * one or two additions to series made in advance; no text is built until a
 * scrape.
 *
 * @example Count a server's connections
 * ```ts
 * import { ServerMetrics } from "./server_metrics.ts";
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertStringIncludes } from "@std/assert";
 *
 * const metrics = new ServerMetrics({ version: "1.0.0" });
 * const closed = Promise.withResolvers<void>();
 * await using server = await serve({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   onEvent: (event) => {
 *     metrics.observe(event);
 *     if (event.type === "close") closed.resolve();
 *   },
 * });
 * metrics.attach(server);
 * {
 *   await using client = await connect(server.addrs[0]!);
 *   await client.send("hello");
 * }
 * await closed.promise;
 * const url = server.listeners[0]!.url;
 * assertStringIncludes(
 *   metrics.expose(),
 *   `echo_connections_accepted_total{listener="${url}",transport="tcp"} 1\n`,
 * );
 * ```
 */
export class ServerMetrics {
  /** The metrics, to expose or to add others to. */
  readonly registry: Registry = new Registry();
  readonly #maxListeners: number;
  readonly #stream = new Map<string, StreamSeries>();
  readonly #udp = new Map<string, UdpSeries>();
  #other: StreamSeries | undefined;
  #server: MetricsServerView | undefined;
  readonly #families: ServerFamilies;
  readonly #acceptErrors: Series;

  /**
   * Declares every metric.
   *
   * @param options The version and the program's own figures.
   * @throws {RangeError} When `maxListeners` is not a positive integer.
   */
  constructor(options: ServerMetricsOptions) {
    const { maxListeners = DEFAULT_MAX_LISTENERS } = options;
    if (!Number.isInteger(maxListeners) || maxListeners < 1) {
      throw new RangeError(
        `Invalid listener limit "${maxListeners}": must be a positive integer`,
      );
    }
    this.#maxListeners = maxListeners;
    this.#families = declareServerFamilies(this.registry, maxListeners + 1);
    this.#acceptErrors = this.#families.acceptErrors.series({});
    declareProcessMetrics(this.registry, options);
    this.registry.onCollect(() => this.#collectUdp());
  }

  /**
   * Counts one server event: pass it as `onEvent`, or call it from there.
   * `udp-drop` and `stale-socket` events are not counted: UDP figures are
   * read from the attached server's `udpStats` when scraped.
   *
   * @param event What the server reported.
   */
  readonly observe: (event: ServerEvent) => void = (event) => {
    switch (event.type) {
      case "open": {
        const s = this.#streamSeries(event.conn.listener);
        s.accepted.value++;
        s.open.value++;
        return;
      }
      case "close": {
        const s = this.#streamSeries(event.conn.listener);
        s.open.value--;
        s.bytes.value += event.result.bytes;
        const closed = s.closed[event.result.reason];
        if (closed !== undefined) closed.value++;
        return;
      }
      case "reject": {
        const rejected = this.#streamSeries(event.conn.listener)
          .rejected[event.reason];
        if (rejected !== undefined) rejected.value++;
        return;
      }
      case "handshake-error": {
        const failures = this.#streamSeries(event.conn.listener)
          .handshakeFailures;
        if (failures !== undefined) failures.value++;
        return;
      }
      case "proxy-error":
        this.#streamSeries(event.conn.listener).proxyFailures.value++;
        return;
      case "accept-error":
        this.#acceptErrors.value++;
        return;
    }
  };

  /**
   * Makes every listener's series (at 0, so that they show before the first
   * event) and reads the server's UDP figures at each scrape from then on
   * (a `udp://` listener past `maxListeners` is left out).
   *
   * @param server What `serve()` returned (its listeners and `udpStats`).
   */
  attach(server: MetricsServerView): void {
    this.#server = server;
    for (const { url, transport } of server.listeners) {
      if (transport !== "udp") this.#streamSeries(url);
    }
    this.#collectUdp();
  }

  /**
   * Every metric, in the Prometheus text format 0.0.4.
   *
   * @returns The exposition, for `/metrics`.
   */
  expose(): string {
    return this.registry.expose();
  }

  #streamSeries(url: string): StreamSeries {
    const known = this.#stream.get(url);
    if (known !== undefined) return known;
    const transport = streamTransport(url);
    if (transport === undefined || this.#listenerCount >= this.#maxListeners) {
      return this.#other ??= this.#makeStream(OTHER, OTHER);
    }
    const made = this.#makeStream(url, transport);
    this.#stream.set(url, made);
    return made;
  }

  get #listenerCount(): number {
    return this.#stream.size + this.#udp.size;
  }

  #makeStream(listener: string, transport: string): StreamSeries {
    const f = this.#families;
    const labels = { listener, transport };
    const closed = {} as Record<EchoEndReason, Series>;
    for (const reason of END_REASON_LIST) {
      closed[reason] = f.closed.series({ ...labels, reason });
    }
    const rejected = {} as Record<RejectReason, Series>;
    for (const reason of REJECT_REASON_LIST) {
      rejected[reason] = f.rejected.series({ ...labels, reason });
    }
    return {
      accepted: f.accepted.series(labels),
      open: f.open.series(labels),
      bytes: f.bytes.series(labels),
      closed,
      rejected,
      handshakeFailures: transport === "tls" || transport === OTHER
        ? f.handshakes.series({ listener })
        : undefined,
      proxyFailures: f.proxy.series({ listener }),
    };
  }

  #collectUdp(): void {
    const stats = this.#server?.udpStats;
    if (stats === undefined) return;
    for (const [url, figures] of stats) {
      const s = this.#udpSeries(url);
      if (s !== undefined) setUdp(s, figures);
    }
  }

  #udpSeries(url: string): UdpSeries | undefined {
    const known = this.#udp.get(url);
    if (known !== undefined || this.#listenerCount >= this.#maxListeners) {
      return known;
    }
    const f = this.#families;
    const dropped = {} as Record<UdpDropReason, Series>;
    for (const reason of DROP_REASON_LIST) {
      dropped[reason] = f.udpDropped.series({ listener: url, reason });
    }
    const made: UdpSeries = {
      echoed: f.udpEchoed.series({ listener: url }),
      bytes: f.bytes.series({ listener: url, transport: "udp" }),
      dropped,
    };
    this.#udp.set(url, made);
    return made;
  }
}

/** Sets a UDP listener's series from its stats (totals, so they only grow). */
function setUdp(s: UdpSeries, figures: UdpEchoStats): void {
  s.echoed.value = figures.echoedDatagrams;
  s.bytes.value = figures.echoedBytes;
  for (const reason of DROP_REASON_LIST) {
    s.dropped[reason].value = figures.dropped[reason] ?? 0;
  }
}

/** The transport a stream listener's URL names, if it is one. */
function streamTransport(url: string): StreamTransport | undefined {
  if (url.startsWith("tcp://")) return "tcp";
  if (url.startsWith("tls://")) return "tls";
  if (url.startsWith("unix:")) return "unix";
  return undefined;
}
