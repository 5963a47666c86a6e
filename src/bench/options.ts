// Copyright the deno-echo authors. MIT license.

// The options of a load run, their defaults, and the settings a run uses.

import type { IPFamily } from "../net/resolve.ts";
import { parseProxyUrl, type ProxyConfig } from "../client/proxy_url.ts";
import type { SourceAddress } from "../client/source_dial.ts";
import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import type { BenchProgress, BenchTransport } from "./result.ts";

/** What a TLS load run trusts and presents. */
export interface BenchTlsOptions {
  /** Extra trusted CA certificates, PEM (a private CA, say). */
  caCerts?: string[];
  /**
   * Skip checking the server's name against its certificate (the chain is
   * still verified).
   *
   * @default {false}
   */
  unsafelyDisableHostnameVerification?: boolean;
  /** A client certificate chain and key (PEM), for servers that ask. */
  clientCert?: { cert: string; key: string };
}

/** Options for {@linkcode runBench}. */
export interface BenchOptions {
  /**
   * How to reach the server: `"tcp"`, `"tls"` (see `tls`), `"unix"` (see
   * `path`) or `"udp"` (datagram ping-pong: each message one datagram, an
   * echo not back within `lossTimeout` counted as lost, never sent again).
   *
   * @default {"tcp"}
   */
  transport?: BenchTransport;
  /** `"unix"`: the socket's path (required then). */
  path?: string;
  /** `"tls"`: what to trust and present. */
  tls?: BenchTlsOptions;
  /**
   * `"tcp"` and `"tls"`: open every connection through this HTTP CONNECT or
   * SOCKS5 proxy (a URL as `parseProxyUrl` reads it, or one it read).
   *
   * @default {undefined}
   */
  proxy?: ProxyConfig | string;
  /**
   * Connect (UDP: send) from this local address; a port here allows one
   * connection only.
   *
   * @default {undefined}
   */
  source?: SourceAddress;
  /**
   * The server: a name or an IP literal (IPv6 without brackets). The first
   * connection tries every address of a name; the others go where it went.
   *
   * @default {"localhost"}
   */
  hostname?: string;
  /**
   * The server's port.
   *
   * @default {2000}
   */
  port?: number;
  /** Use only IPv4 (4) or only IPv6 (6) addresses. */
  family?: IPFamily;
  /**
   * Give up on a connection attempt after this many milliseconds (0: as long
   * as the system takes).
   *
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * How many connections to open and keep busy.
   *
   * @default {10}
   */
  connections?: number;
  /**
   * Bytes per message.
   *
   * @default {64}
   */
  size?: number;
  /**
   * Measure for this many milliseconds (after the warm-up), then stop
   * sending and wait for the echoes in flight. Ignored when `messages` is
   * set.
   *
   * @default {5000}
   */
  duration?: number;
  /**
   * Measure this many round trips in all (shared out evenly among the
   * connections, so no fewer than `connections`), then stop. 0 measures for
   * `duration` instead.
   *
   * @default {0}
   */
  messages?: number;
  /**
   * Closed loop (no `rate`): messages kept in flight on each connection; each
   * echo received lets the next message go. At most 2^20.
   *
   * @default {1}
   */
  pipeline?: number;
  /**
   * Open loop: send this many messages a second in all, each at its scheduled
   * time whether or not earlier echoes are back, and measure every round trip
   * from the time the message was due (so a server that falls behind shows
   * it in the latency, instead of slowing the sender down). 0 is closed loop.
   *
   * @default {0}
   */
  rate?: number;
  /**
   * Open loop: the most messages one connection may have in flight. A message
   * due when that many are unanswered waits for a slot (its latency still
   * counts from when it was due) and is counted in `errors.overruns`. At most
   * 2^20.
   *
   * @default {1024}
   */
  maxInFlight?: number;
  /**
   * Run for this many milliseconds before measuring (not counted).
   *
   * @default {0}
   */
  warmup?: number;
  /**
   * Give up on a connection when echoes are due and nothing has moved for
   * this many milliseconds (counted in `errors.timeouts`); 0 waits forever.
   * (`connectTimeout` bounds the connection attempts.)
   *
   * @default {10000}
   */
  readTimeout?: number;
  /**
   * `"udp"`: a datagram whose echo has not come back this many milliseconds
   * after it was sent is counted lost (in `errors.lost`); its echo, should
   * it come later, is ignored. 1 to 2147483647.
   *
   * @default {1000}
   */
  lossTimeout?: number;
  /**
   * Seeds the payload bytes.
   *
   * @default {1}
   */
  seed?: number;
  /** Closes every connection and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called about once a second while the run lasts. */
  onProgress?: (progress: BenchProgress) => void;
}

/** The most `pipeline` or `maxInFlight` may be (a send time is kept for each). */
export const MAX_IN_FLIGHT = 1 << 20;

/** The largest UDP payload (65,535 less the IPv4 and UDP headers). */
export const MAX_DATAGRAM_PAYLOAD = 65_507;

const TRANSPORTS: readonly BenchTransport[] = ["tcp", "tls", "unix", "udp"];

/** The defaults of {@linkcode BenchOptions}, declared once. */
export const BENCH_DEFAULTS = {
  connectTimeout: 10_000,
  connections: 10,
  size: 64,
  duration: 5000,
  messages: 0,
  pipeline: 1,
  rate: 0,
  maxInFlight: 1024,
  warmup: 0,
  readTimeout: 10_000,
  lossTimeout: 1000,
  seed: 1,
} as const;

/** Options with their defaults applied and checked. */
export interface Settings {
  transport: BenchTransport;
  path: string;
  tls: BenchTlsOptions;
  proxy: ProxyConfig | undefined;
  source: SourceAddress | undefined;
  hostname: string;
  port: number;
  family: IPFamily | undefined;
  connectTimeout: number;
  connections: number;
  size: number;
  duration: number;
  messages: number;
  pipeline: number;
  rate: number;
  maxInFlight: number;
  warmup: number;
  readTimeout: number;
  lossTimeout: number;
  seed: number;
}

/**
 * Applies the defaults and checks every option.
 *
 * @throws {RangeError} If an option is out of range.
 * @throws {TypeError} If the transport is unknown, or `"unix"` has no path.
 */
export function settle(options: BenchOptions): Settings {
  const rate = time("rate", options.rate ?? BENCH_DEFAULTS.rate);
  const connections = whole(
    "connections",
    options.connections ?? BENCH_DEFAULTS.connections,
    1,
  );
  const messages = whole(
    "messages",
    options.messages ?? BENCH_DEFAULTS.messages,
    0,
  );
  if (messages > 0 && messages < connections) {
    throw new RangeError(
      `Invalid messages ${messages}: fewer than the ${connections} connections`,
    );
  }
  const size = whole("size", options.size ?? BENCH_DEFAULTS.size, 1);
  return {
    ...settleTarget(options, size),
    ...settleRoute(options, connections),
    hostname: options.hostname ?? DEFAULT_HOSTNAME,
    port: options.port ?? DEFAULT_PORT,
    family: options.family,
    connectTimeout: time(
      "connectTimeout",
      options.connectTimeout ?? BENCH_DEFAULTS.connectTimeout,
    ),
    connections,
    size,
    duration: time("duration", options.duration ?? BENCH_DEFAULTS.duration),
    messages,
    pipeline: whole(
      "pipeline",
      options.pipeline ?? BENCH_DEFAULTS.pipeline,
      1,
      MAX_IN_FLIGHT,
    ),
    rate,
    maxInFlight: whole(
      "maxInFlight",
      options.maxInFlight ?? BENCH_DEFAULTS.maxInFlight,
      1,
      MAX_IN_FLIGHT,
    ),
    warmup: time("warmup", options.warmup ?? BENCH_DEFAULTS.warmup),
    readTimeout: time(
      "readTimeout",
      options.readTimeout ?? BENCH_DEFAULTS.readTimeout,
    ),
    seed: options.seed ?? BENCH_DEFAULTS.seed,
  };
}

/** A whole number from `min` to `max`. */
function whole(
  name: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Invalid ${name} ${value}: expected a whole number from ${min} to ${max}`,
    );
  }
  return value;
}

/** A time (or a rate): a finite number, 0 or more. */
function time(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Invalid ${name} ${value}: expected 0 or more`);
  }
  return value;
}

/** The transport and what goes with it: unix's path, TLS, UDP's timeout. */
/** `proxy` and `source`, checked against the transport and the load. */
function settleRoute(
  options: BenchOptions,
  connections: number,
): Pick<Settings, "proxy" | "source"> {
  const transport = options.transport ?? "tcp";
  const proxy = typeof options.proxy === "string"
    ? parseProxyUrl(options.proxy)
    : options.proxy;
  if (proxy !== undefined && transport !== "tcp" && transport !== "tls") {
    throw new TypeError(
      `A proxy carries TCP streams; the ${transport} transport cannot go through it`,
    );
  }
  const { source } = options;
  if (source !== undefined && transport === "unix") {
    throw new TypeError("The unix transport has no source address");
  }
  if (source?.port && connections > 1) {
    throw new RangeError(
      `Invalid source port ${source.port}: one port serves one connection, not ${connections}`,
    );
  }
  return { proxy, source };
}

function settleTarget(
  options: BenchOptions,
  size: number,
): Pick<Settings, "transport" | "path" | "tls" | "lossTimeout"> {
  const transport = options.transport ?? "tcp";
  if (!TRANSPORTS.includes(transport)) {
    throw new TypeError(
      `Invalid transport "${transport}": expected "tcp", "tls", "unix" or "udp"`,
    );
  }
  const path = options.path ?? "";
  if (transport === "unix" && path === "") {
    throw new TypeError("The unix transport needs a path");
  }
  if (transport === "udp" && size > MAX_DATAGRAM_PAYLOAD) {
    throw new RangeError(
      `Invalid size ${size}: a datagram holds at most ${MAX_DATAGRAM_PAYLOAD} bytes`,
    );
  }
  const lossTimeout = time(
    "lossTimeout",
    options.lossTimeout ?? BENCH_DEFAULTS.lossTimeout,
  );
  if (lossTimeout < 1 || lossTimeout > 2 ** 31 - 1) {
    throw new RangeError(
      `Invalid lossTimeout ${lossTimeout}: expected 1 to 2147483647`,
    );
  }
  return { transport, path, tls: options.tls ?? {}, lossTimeout };
}
