// Copyright the deno-echo authors. MIT license.

import { delay } from "@std/async/delay";
import { formatAddress } from "../net/address.ts";
import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import { checkDuration } from "../net/duration.ts";
import { MAX_DATAGRAM_SIZE } from "../udp/udp_socket.ts";
import type { PingSettings, Prober, ProbeSink } from "./ping_conn.ts";
import { OnceProber } from "./ping_once.ts";
import { MAX_PING_SEQ, MIN_PING_SIZE } from "./ping_payload.ts";
import { PingTally } from "./ping_stats.ts";
import { StreamProber } from "./ping_stream.ts";
import type {
  PingHooks,
  PingOptions,
  PingSummary,
  PingTransport,
} from "./ping_types.ts";
import { UdpProber } from "./ping_udp.ts";

export type * from "./ping_types.ts";

/** The defaults of {@linkcode PingOptions}, in milliseconds and bytes. */
export const PING_DEFAULTS: Readonly<{
  interval: number;
  size: number;
  wait: number;
  connectTimeout: number;
}> = { interval: 1000, size: 64, wait: 1000, connectTimeout: 5000 };

/** The largest probe over a stream, in bytes. */
export const MAX_STREAM_PING_SIZE = 1024 * 1024;

/**
 * Pings an echo server: sends a probe every `interval` (each carrying its
 * sequence number), checks each echo byte for byte, and counts what came
 * back in time. Over one connection (made again, with back-off, when it is
 * lost), a new connection per probe (`newConnection`), or UDP. The first
 * connection must succeed; after that, failures are counted and the run
 * goes on. It ends after `count` probes, or when `signal` aborts; it then
 * resolves with the summary (probes still in flight at an abort are not
 * counted).
 *
 * @example Five probes against an in-process server
 * ```ts
 * import { serve } from "@deno-echo/echo";
 * import { runPing } from "./ping.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * const seqs: number[] = [];
 * const summary = await runPing(
 *   { hostname: "127.0.0.1", port: server.addrs[0]!.port, count: 5, interval: 10 },
 *   { onProbe: (probe) => seqs.push(probe.seq) },
 * );
 * assertEquals(seqs, [1, 2, 3, 4, 5]);
 * assertEquals([summary.sent, summary.echoed, summary.lost], [5, 5, 0]);
 * ```
 *
 * @param options The target, the probes, the route and the cancellation.
 * @param hooks Hears each probe and each change of the connection; a hook
 * that throws ends the run with that error.
 * @returns What the run measured.
 * @throws {RangeError} If an option is out of range.
 * @throws {TypeError} If options do not go together (a proxy with UDP).
 * @throws {Deno.errors.ConnectionRefused} If the first connection is
 * refused (and the other errors of `dialRoute`).
 */
export async function runPing(
  options: PingOptions = {},
  hooks: PingHooks = {},
): Promise<PingSummary> {
  options.signal?.throwIfAborted();
  const stop = new AbortController();
  const settings = pingSettings(options, stop.signal);
  const onAbort = (): void => stop.abort(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const tally = new PingTally(
    settings.transport === "unix"
      ? `unix:${settings.path}`
      : formatAddress({ hostname: settings.hostname, port: settings.port }),
  );
  let hookError: { error: unknown } | undefined;
  let open = true;
  const call = (hear: () => void): void => {
    if (!open) return;
    try {
      hear();
    } catch (error) {
      hookError ??= { error };
      stop.abort(error);
    }
  };
  const sink: ProbeSink = {
    probe: (probe) => call(() => (tally.add(probe), hooks.onProbe?.(probe))),
    link: (event) =>
      call(() => {
        if (event.type === "reconnected") tally.reconnected();
        hooks.onLink?.(event);
      }),
  };
  try {
    await using prober = makeProber(settings, options.newConnection, sink);
    await probeAll(
      prober,
      options.count ?? 0,
      options.interval ?? PING_DEFAULTS.interval,
      stop.signal,
    );
  } finally {
    open = false;
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (hookError !== undefined) throw hookError.error;
  return tally.summary();
}

/** The schedule: probe `seq` falls due at `(seq - 1) * interval`. */
async function probeAll(
  prober: Prober,
  count: number,
  interval: number,
  signal: AbortSignal,
): Promise<void> {
  try {
    await prober.start();
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
  const started = performance.now();
  for (let seq = 1; count === 0 || seq <= count; seq++) {
    const left = started + (seq - 1) * interval - performance.now();
    try {
      if (left > 0) await delay(left, { signal });
      if (signal.aborted) return;
      await prober.probe(seq);
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
  }
  const { promise, resolve } = Promise.withResolvers<void>();
  signal.addEventListener("abort", () => resolve(), { once: true });
  await Promise.race([prober.settle(), promise]);
}

function makeProber(
  settings: PingSettings,
  newConnection: boolean | undefined,
  sink: ProbeSink,
): Prober {
  if (settings.transport === "udp") return new UdpProber(settings, sink);
  return newConnection
    ? new OnceProber(settings, sink)
    : new StreamProber(settings, sink);
}

/** Checks the options and fills in the defaults. */
function pingSettings(options: PingOptions, signal: AbortSignal): PingSettings {
  const {
    transport = "tcp" as PingTransport,
    hostname = DEFAULT_HOSTNAME,
    port = DEFAULT_PORT,
    path = "",
    size = PING_DEFAULTS.size,
    wait = PING_DEFAULTS.wait,
    connectTimeout = PING_DEFAULTS.connectTimeout,
    count = 0,
    interval = PING_DEFAULTS.interval,
    newConnection: _newConnection,
    signal: _signal,
    ...route
  } = options;
  if (!["tcp", "tls", "unix", "udp"].includes(transport)) {
    throw new TypeError(`Invalid transport "${transport}"`);
  }
  if (transport === "unix" && path === "") {
    throw new TypeError('Transport "unix" needs a path');
  }
  if (
    (transport === "unix" || transport === "udp") &&
    (route.proxy !== undefined ||
      (transport === "unix" && route.source !== undefined))
  ) {
    throw new TypeError(
      `A ${transport} ping goes ${
        route.proxy !== undefined
          ? "through no proxy"
          : "from no source address"
      }`,
    );
  }
  if (transport === "udp" && options.newConnection) {
    throw new TypeError("UDP has no connections: newConnection is for streams");
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port ${port}: expected 1 to 65535`);
  }
  const maxSize = transport === "udp"
    ? MAX_DATAGRAM_SIZE
    : MAX_STREAM_PING_SIZE;
  if (!Number.isInteger(size) || size < MIN_PING_SIZE || size > maxSize) {
    throw new RangeError(
      `Invalid size ${size}: expected ${MIN_PING_SIZE} to ${maxSize} bytes`,
    );
  }
  if (!Number.isInteger(count) || count < 0 || count > MAX_PING_SEQ) {
    throw new RangeError(
      `Invalid count ${count}: expected 0 (no limit) to ${MAX_PING_SEQ}`,
    );
  }
  checkDuration("interval", interval, 1);
  checkDuration("wait", wait, 1);
  checkDuration("connectTimeout", connectTimeout);
  return {
    transport,
    hostname,
    port,
    path,
    size,
    wait,
    connectTimeout,
    route,
    signal,
  };
}
