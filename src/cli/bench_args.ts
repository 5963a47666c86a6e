// Copyright the deno-echo authors. MIT license.

// The `echo-client bench` command line: its usage text and its parser.

import { type FlagSpec, type FlagValues, parseFlags } from "./args.ts";
import { errorText, parseCount, parseDuration, UsageError } from "./cli.ts";
import { parseHostPort, parsePort } from "../net/address.ts";
import { DEFAULT_PORT } from "../net/defaults.ts";
import type { IPFamily } from "../net/resolve.ts";
import {
  BENCH_DEFAULTS,
  MAX_DATAGRAM_PAYLOAD,
  MAX_IN_FLIGHT,
} from "../bench/options.ts";
import type { BenchTransport } from "../bench/result.ts";
import { DEFAULT_WARMUP } from "./bench_usage.ts";
import { type ClientRoute, parseRoute, ROUTE_FLAGS } from "./route_args.ts";

export { BENCH_USAGE } from "./bench_usage.ts";

/** The options of `echo-client bench`. */
const BENCH_FLAGS = {
  connections: { type: "string", short: "c" },
  size: { type: "string", short: "s" },
  duration: { type: "string", short: "d" },
  messages: { type: "string", short: "n" },
  // No -p: that is the port in echo-client.
  pipeline: { type: "string" },
  rate: { type: "string", short: "r" },
  warmup: { type: "string" },
  json: { type: "boolean" },
  report: { type: "string" },
  "4": { type: "boolean" },
  "6": { type: "boolean" },
  timeout: { type: "string", short: "t" },
  "read-timeout": { type: "string" },
  "loss-timeout": { type: "string" },
  ca: { type: "string", multiple: true },
  insecure: { type: "boolean" },
  cert: { type: "string" },
  key: { type: "string" },
  ...ROUTE_FLAGS,
  help: { type: "boolean", short: "h" },
} as const satisfies Record<string, FlagSpec>;

type Values = FlagValues<typeof BENCH_FLAGS>;

/** A parsed `echo-client bench` command line. */
export interface BenchArgs extends ClientRoute {
  /** How to reach the server. */
  transport: BenchTransport;
  hostname: string;
  port: number;
  /** `unix:`: the socket's path; otherwise empty. */
  path: string;
  family: IPFamily | undefined;
  /** `--timeout`: how long a connection attempt may take, in ms. */
  connectTimeout: number;
  /** `--read-timeout`: how long echoes may stall, in ms. */
  readTimeout: number;
  connections: number;
  size: number;
  duration: number;
  messages: number;
  pipeline: number;
  rate: number;
  warmup: number;
  /** `--loss-timeout` (UDP), in ms. */
  lossTimeout: number;
  json: boolean;
  /** `--report FILE`: where to write the HTML report. */
  report: string | undefined;
  /** `--ca`: CA certificate files to trust (TLS). */
  caFiles: string[];
  /** `--insecure` (TLS). */
  insecure: boolean;
  /** `--cert` and `--key` (TLS). */
  certFile: string | undefined;
  keyFile: string | undefined;
}

/** How much load: the options that size the run. */
type Load = Pick<
  BenchArgs,
  "connections" | "duration" | "messages" | "pipeline" | "rate"
>;

/**
 * Parses the arguments after `bench`.
 *
 * @throws {UsageError} For anything unknown, missing or out of range.
 */
export function parseBenchArgs(args: string[]): BenchArgs | "help" {
  const { values, positionals } = parseFlags({
    args,
    options: BENCH_FLAGS,
    allowPositionals: true,
  });
  if (values.help) return "help";
  if (positionals.length > 2) {
    throw new UsageError(
      `Too many arguments: expected HOST[:PORT] or HOST PORT, got ${positionals.length}`,
    );
  }
  if (values["4"] && values["6"]) {
    throw new UsageError("Use -4 or -6, not both");
  }
  if (values.duration !== undefined && values.messages !== undefined) {
    throw new UsageError("Use --duration or --messages, not both");
  }
  const load = parseLoad(values);
  const target = parseTarget(positionals);
  checkTransportOptions(target.transport, values);
  const size = positive(values.size, "--size", BENCH_DEFAULTS.size, true);
  if (target.transport === "udp" && size > MAX_DATAGRAM_PAYLOAD) {
    throw new UsageError(
      `Invalid --size "${values.size}": a datagram holds at most ${MAX_DATAGRAM_PAYLOAD} bytes`,
    );
  }
  return {
    ...target,
    family: values["4"] ? 4 : values["6"] ? 6 : undefined,
    connectTimeout: duration(values.timeout, "--timeout") ??
      BENCH_DEFAULTS.connectTimeout,
    readTimeout: duration(values["read-timeout"], "--read-timeout") ??
      BENCH_DEFAULTS.readTimeout,
    lossTimeout: parseLossTimeout(values["loss-timeout"]),
    ...load,
    size,
    warmup: duration(values.warmup, "--warmup") ??
      (load.messages > 0 ? 0 : DEFAULT_WARMUP),
    json: values.json ?? false,
    report: values.report,
    caFiles: values.ca ?? [],
    insecure: values.insecure ?? false,
    certFile: values.cert,
    keyFile: values.key,
    ...benchRoute(values, target.transport, load.connections),
  };
}

/** `--proxy` and `--source`, which a fixed source port limits to one connection. */
function benchRoute(
  values: Values,
  transport: BenchTransport,
  connections: number,
): ClientRoute {
  const family = values["4"] ? 4 : values["6"] ? 6 : undefined;
  const route = parseRoute(values, transport, family);
  if (route.source?.port && connections > 1) {
    throw new UsageError(
      `--source ${values.source} names a port, which serves one connection: give -c 1, or no port`,
    );
  }
  return route;
}

/** A duration option, or `undefined` when it is not given. */
function duration(
  text: string | undefined,
  option: string,
): number | undefined {
  return text === undefined ? undefined : parseDuration(text, option);
}

function parseLossTimeout(text: string | undefined): number {
  const ms = duration(text, "--loss-timeout") ?? BENCH_DEFAULTS.lossTimeout;
  if (ms < 1) {
    throw new UsageError(
      `Invalid --loss-timeout "${text}": expected 1ms or more`,
    );
  }
  return ms;
}

/** The options that only some transports take. */
function checkTransportOptions(
  transport: BenchTransport,
  values: Values,
): void {
  const tlsOnly = ["ca", "insecure", "cert", "key"] as const;
  const usedTls = tlsOnly.find((name) => values[name] !== undefined);
  if (transport !== "tls" && usedTls !== undefined) {
    throw new UsageError(`--${usedTls} goes with tls://`);
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("Give --cert and --key together");
  }
  if (transport !== "udp" && values["loss-timeout"] !== undefined) {
    throw new UsageError("--loss-timeout goes with udp://");
  }
  if (transport === "udp" && values["read-timeout"] !== undefined) {
    throw new UsageError(
      "--read-timeout is for stream transports; udp:// counts each datagram lost after --loss-timeout",
    );
  }
}

/** A count of 1 or more, or `fallback` when the option is not given. */
function positive(
  text: string | undefined,
  option: string,
  fallback: number,
  sizes = false,
): number {
  if (text === undefined) return fallback;
  const value = parseCount(text, option, sizes);
  if (value < 1) {
    throw new UsageError(`Invalid ${option} "${text}": expected 1 or more`);
  }
  return value;
}

/** `--duration`, `--messages`, `--rate`, `--connections`, `--pipeline`. */
function parseLoad(values: {
  duration?: string;
  messages?: string;
  rate?: string;
  connections?: string;
  pipeline?: string;
}): Load {
  const duration = values.duration === undefined
    ? BENCH_DEFAULTS.duration
    : parseDuration(values.duration, "--duration");
  if (duration <= 0) {
    throw new UsageError(
      `Invalid --duration "${values.duration}": expected more than 0`,
    );
  }
  const messages = positive(values.messages, "--messages", 0);
  const rate = positive(values.rate, "--rate", 0);
  const connections = positive(
    values.connections,
    "--connections",
    BENCH_DEFAULTS.connections,
  );
  if (messages > 0 && messages < connections) {
    throw new UsageError(
      `Invalid --messages "${values.messages}": fewer than the ${connections} connections`,
    );
  }
  const pipeline = positive(
    values.pipeline,
    "--pipeline",
    rate > 0 ? BENCH_DEFAULTS.maxInFlight : BENCH_DEFAULTS.pipeline,
  );
  if (pipeline > MAX_IN_FLIGHT) {
    throw new UsageError(
      `Invalid --pipeline "${values.pipeline}": at most ${MAX_IN_FLIGHT}`,
    );
  }
  return { connections, duration, messages, pipeline, rate };
}

/** What the positionals say: where, and over which transport. */
type Target = Pick<BenchArgs, "transport" | "hostname" | "port" | "path">;

/**
 * `HOST[:PORT]` or `HOST PORT` as for echo-client, or a URL:
 * `tcp://`, `tls://`, `udp://HOST[:PORT]` (then PORT may follow), `unix:PATH`.
 */
function parseTarget(positionals: string[]): Target {
  const first = positionals[0] ?? "localhost";
  const second = positionals[1];
  if (first.startsWith("unix:")) {
    const path = first.slice("unix:".length);
    if (path === "") throw new UsageError("Expected unix:PATH");
    if (second !== undefined) {
      throw new UsageError("A unix: socket takes no port");
    }
    return { transport: "unix", hostname: "localhost", port: 0, path };
  }
  const url = /^(tcp|tls|udp):\/\/(.*)$/.exec(first);
  const transport = (url?.[1] ?? "tcp") as BenchTransport;
  let target;
  try {
    target = parseHostPort(url ? url[2]!.replace(/\/$/, "") : first, 1);
    if (second !== undefined && target.port !== undefined) {
      throw new UsageError(
        "Give the port once: as HOST:PORT or as a second argument",
      );
    }
    if (second !== undefined) target.port = parsePort(second, 1);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(errorText(error));
  }
  const port = target.port ?? DEFAULT_PORT;
  return { transport, hostname: target.hostname, port, path: "" };
}
