// Copyright the deno-echo authors. MIT license.

// The `echo-client ping` command line: its option table and the checks
// that turn it into the options of one run.

import { MAX_STREAM_PING_SIZE, PING_DEFAULTS } from "../client/ping.ts";
import { MAX_PING_SEQ, MIN_PING_SIZE } from "../client/ping_payload.ts";
import { MAX_DATAGRAM_SIZE } from "../udp/udp_socket.ts";
import type { IPFamily } from "../net/resolve.ts";
import { type FlagSpec, parseFlags } from "./args.ts";
import { errorText, parseCount, parseDuration, UsageError } from "./cli.ts";
import {
  checkFamily,
  type ClientTarget,
  type ClientTlsFiles,
  parseTarget,
} from "./client_args.ts";
import {
  type ClientRoute,
  parseProxyHeader,
  parseRoute,
  PROXY_HEADER_FLAGS,
  type ProxyHeaderArgs,
  ROUTE_FLAGS,
} from "./route_args.ts";

/** The options of `echo-client ping`. */
export const PING_FLAGS = {
  count: { type: "string", short: "c" },
  interval: { type: "string", short: "i" },
  size: { type: "string", short: "s" },
  wait: { type: "string", short: "W" },
  timeout: { type: "string", short: "t" },
  "new-connection": { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  port: { type: "string", short: "p" },
  "4": { type: "boolean" },
  "6": { type: "boolean" },
  tls: { type: "boolean" },
  ca: { type: "string", multiple: true },
  insecure: { type: "boolean" },
  cert: { type: "string" },
  key: { type: "string" },
  ...ROUTE_FLAGS,
  ...PROXY_HEADER_FLAGS,
  help: { type: "boolean", short: "h" },
} as const satisfies Record<string, FlagSpec>;

/** A parsed `echo-client ping` command line. */
export interface PingArgs
  extends ClientTarget, ClientTlsFiles, ClientRoute, ProxyHeaderArgs {
  family: IPFamily | undefined;
  /** `-c`: probes to send; 0 until Ctrl-C. */
  count: number;
  /** `-i`, in ms. */
  interval: number;
  /** `-s`, in bytes. */
  size: number;
  /** `-W`, in ms. */
  wait: number;
  /** `-t`, in ms. */
  connectTimeout: number;
  newConnection: boolean;
  json: boolean;
  /** `-q`: the summary only. */
  quiet: boolean;
}

/**
 * Parses the arguments after `ping`.
 *
 * @param args The arguments.
 * @returns The settings, or `"help"`.
 * @throws {UsageError} For anything unknown, missing, out of range or
 * contradictory.
 */
export function parsePingArgs(args: readonly string[]): PingArgs | "help" {
  const { values, positionals } = parseFlags({
    args,
    options: PING_FLAGS,
    allowPositionals: true,
  });
  if (values.help) return "help";
  if (positionals.length === 0) {
    throw new UsageError("Expected a TARGET: HOST[:PORT] or a URL");
  }
  if (positionals.length > 2) {
    throw new UsageError(
      `Too many arguments: expected TARGET or HOST PORT, got ${positionals.length}`,
    );
  }
  if (values["4"] && values["6"]) {
    throw new UsageError("Use -4 or -6, not both");
  }
  try {
    const target = parseTarget(values, positionals);
    const family = values["4"] ? 4 : values["6"] ? 6 : undefined;
    checkFamily(family, target.hostname);
    if (target.transport === "udp" && values["new-connection"]) {
      throw new UsageError("--new-connection is for streams; UDP has none");
    }
    const probes = probeSettings(values);
    const maxSize = target.transport === "udp"
      ? MAX_DATAGRAM_SIZE
      : MAX_STREAM_PING_SIZE;
    if (probes.size < MIN_PING_SIZE || probes.size > maxSize) {
      throw new UsageError(
        `Invalid --size "${values.size}": expected ${MIN_PING_SIZE} to ${maxSize} bytes${
          target.transport === "udp" ? " over UDP" : ""
        }`,
      );
    }
    return {
      ...target,
      family,
      caFiles: values.ca ?? [],
      insecure: values.insecure ?? false,
      certFile: values.cert,
      keyFile: values.key,
      ...parseRoute(values, target.transport, family),
      ...parseProxyHeader(values, target.transport),
      ...probes,
      newConnection: values["new-connection"] ?? false,
      json: values.json ?? false,
      quiet: values.quiet ?? false,
    };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(errorText(error));
  }
}

/** `-c`, `-i`, `-s`, `-W` and `-t`. */
function probeSettings(
  values: {
    count?: string;
    interval?: string;
    size?: string;
    wait?: string;
    timeout?: string;
  },
): Pick<PingArgs, "count" | "interval" | "size" | "wait" | "connectTimeout"> {
  const count = values.count === undefined
    ? 0
    : parseCount(values.count, "--count");
  if (values.count !== undefined && (count < 1 || count > MAX_PING_SEQ)) {
    throw new UsageError(
      `Invalid --count "${values.count}": expected 1 to ${MAX_PING_SEQ} (leave it out to ping until Ctrl-C)`,
    );
  }
  const duration = (
    text: string | undefined,
    option: string,
    fallback: number,
  ): number => {
    if (text === undefined) return fallback;
    const ms = parseDuration(text, option);
    if (ms < 1) {
      throw new UsageError(`Invalid ${option} "${text}": at least 1ms`);
    }
    return ms;
  };
  return {
    count,
    interval: duration(values.interval, "--interval", PING_DEFAULTS.interval),
    size: values.size === undefined
      ? PING_DEFAULTS.size
      : parseCount(values.size, "--size", true),
    wait: duration(values.wait, "--wait", PING_DEFAULTS.wait),
    connectTimeout: values.timeout === undefined
      ? PING_DEFAULTS.connectTimeout
      : parseDuration(values.timeout, "--timeout"),
  };
}
