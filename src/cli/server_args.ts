// Copyright the deno-echo authors. MIT license.

// Reading echo-server's command line into what the program runs with.

import { type FlagValues, parseFlags } from "./args.ts";
import { errorText, parseCount, parseDuration, UsageError } from "./cli.ts";
import {
  type NumberReader,
  SERVER_FLAGS,
  type ServerFlag,
} from "./server_flags.ts";
import { parseHostname, parseHostPort, parsePort } from "../net/address.ts";
import { type ListenerSpec, parseListenUrl } from "../net/listen_url.ts";
import { parseCidr } from "../proxy/cidr.ts";
import { validateQuitWord } from "../echo/quit_word.ts";
import { MAX_ISOLATES } from "../server/admission.ts";
import {
  assertDistinct,
  type LimitKey,
  SERVE_DEFAULTS,
  type ServeDefaults,
  type Settings,
} from "../server/options.ts";
import { workersUnsupported } from "../workers/serve.ts";
import { metricsAddress } from "./server_metrics_args.ts";
import { LOG_FORMATS, type LogFormat } from "./server_log_output.ts";
import { DEFAULT_UDP_RATE_PER_SOURCE } from "../udp/udp_server.ts";
import {
  DEFAULT_MAX_DATAGRAM_SIZE,
  MAX_DATAGRAM_SIZE,
} from "../udp/udp_socket.ts";

/** What `echo-server` runs with: every option, defaults applied. */
export type ServerArgs = ServeDefaults & {
  /** `--listen` URLs, parsed; empty for the --hostname/--port form. */
  listen: ListenerSpec[];
  /** `--cert`, given exactly when a listener is `tls://`. */
  certFile: string | undefined;
  /** `--key`, as `certFile`. */
  keyFile: string | undefined;
  /** `--client-ca`: require client certificates from this CA file. */
  clientCaFile: string | undefined;
  /** `--proxy-protocol`: every tcp:// and tls:// listener takes PROXY. */
  proxyProtocol: boolean;
  /** `--proxy-from`, checked CIDR ranges; empty: every peer trusted. */
  proxyFrom: string[];
  /** `--udp-rate`. */
  udpRate: number;
  /** `--max-datagram`. */
  maxDatagram: number;
  /** `--quiet`. */
  quiet: boolean;
  /** `--log-format`. */
  logFormat: LogFormat;
  /** `--metrics HOST:PORT`, if given. */
  metrics: { hostname: string; port: number } | undefined;
};

type Values = FlagValues<typeof SERVER_FLAGS>;

/**
 * Reads `echo-server`'s command line.
 *
 * @param args The arguments, without the program name.
 * @returns What to run with, or which of `--help` and `--version` was asked.
 * @throws {UsageError} With one line saying what is wrong.
 */
export function parseServerArgs(
  args: readonly string[],
): ServerArgs | "help" | "version" {
  const { values } = parseFlags({
    args,
    options: SERVER_FLAGS,
    allowPositionals: false,
  });
  if (values.help) return "help";
  if (values.version) return "version";
  const where = whereToListen(values);
  const quitWord = quitWordOf(values);
  return {
    ...where,
    ...proxyAndClientCa(values, where),
    quitWord,
    handshakeTimeout: checkRange(
      duration(values["handshake-timeout"], "handshake-timeout") ??
        SERVE_DEFAULTS.handshakeTimeout,
      "--handshake-timeout",
      1,
      Infinity,
    ),
    udpRate: count(values["udp-rate"], "udp-rate") ??
      DEFAULT_UDP_RATE_PER_SOURCE,
    maxDatagram: checkRange(
      count(values["max-datagram"], "max-datagram", true) ??
        DEFAULT_MAX_DATAGRAM_SIZE,
      "--max-datagram",
      1,
      MAX_DATAGRAM_SIZE,
    ),
    ...limitsOf(values),
    workers: parseWorkers(values.workers),
    quiet: values.quiet ?? false,
    logFormat: logFormatOf(values["log-format"]),
    metrics: metricsAddress(values.metrics, where),
  };
}

function logFormatOf(text: string | undefined): LogFormat {
  if (text === undefined) return "text";
  const format = LOG_FORMATS.find((f) => f === text);
  if (format === undefined) {
    throw new UsageError(
      `Invalid --log-format "${text}": expected ${LOG_FORMATS.join(" or ")}`,
    );
  }
  return format;
}

type Where = Pick<
  ServerArgs,
  "hostname" | "port" | "listen" | "certFile" | "keyFile"
>;

/** `--listen`, or `--hostname` and `--port`; and the TLS files they need. */
function whereToListen(values: Values): Where {
  let where: Where;
  try {
    where = {
      listen: assertDistinct(
        (values.listen ?? []).map((url) => parseListenUrl(url)),
      ),
      hostname: values.hostname === undefined
        ? SERVE_DEFAULTS.hostname
        : hostnameOf(values.hostname),
      port: values.port === undefined
        ? SERVE_DEFAULTS.port
        : parsePort(values.port),
      certFile: values.cert,
      keyFile: values.key,
    };
  } catch (error) {
    throw new UsageError(errorText(error));
  }
  const { listen, certFile, keyFile } = where;
  if (
    listen.length > 0 &&
    (values.hostname !== undefined || values.port !== undefined)
  ) {
    throw new UsageError("Use --listen, or --hostname and --port, not both");
  }
  const tls = listen.some((spec) => spec.transport === "tls");
  if (tls && (certFile === undefined || keyFile === undefined)) {
    throw new UsageError("A tls:// listener needs --cert FILE and --key FILE");
  }
  if (!tls && (certFile !== undefined || keyFile !== undefined)) {
    throw new UsageError("--cert and --key go with a tls:// listener");
  }
  return where;
}

/**
 * `--hostname`, which takes no port: `127.0.0.1:2990` and `[::1]:2990` are
 * told to give it with `--port`. (`::1:2990` is an IPv6 address.)
 */
function hostnameOf(text: string): string {
  try {
    return parseHostname(text);
  } catch (error) {
    const empty = /^:([0-9]+)$/.exec(text);
    if (empty !== null) {
      throw new UsageError(
        `Empty host in "${text}": give a name or address, like localhost, and the port separately with --port: --hostname localhost --port ${
          empty[1]
        }`,
      );
    }
    let split;
    try {
      split = parseHostPort(text);
    } catch {
      throw error;
    }
    if (split.port === undefined) throw error;
    throw new UsageError(
      `Invalid host "${text}": --hostname takes no port; give the port separately with --port: --hostname ${split.hostname} --port ${split.port}`,
    );
  }
}

/** `--proxy-protocol`, `--proxy-from` and `--client-ca`, checked. */
function proxyAndClientCa(
  values: Values,
  where: Where,
): Pick<ServerArgs, "proxyProtocol" | "proxyFrom" | "clientCaFile"> {
  const proxyProtocol = values["proxy-protocol"] ?? false;
  const proxyFrom = values["proxy-from"] ?? [];
  for (const range of proxyFrom) {
    try {
      parseCidr(range);
    } catch (error) {
      throw new UsageError(`--proxy-from: ${errorText(error)}`);
    }
  }
  const streams = where.listen.filter((spec) =>
    spec.transport === "tcp" || spec.transport === "tls"
  );
  if (proxyProtocol && where.listen.length > 0 && streams.length === 0) {
    throw new UsageError(
      "--proxy-protocol goes with tcp:// or tls:// listeners",
    );
  }
  const anyProxy = proxyProtocol ||
    streams.some((spec) => "proxyProtocol" in spec && spec.proxyProtocol);
  if (proxyFrom.length > 0 && !anyProxy) {
    throw new UsageError(
      "--proxy-from goes with --proxy-protocol or a ?proxy-protocol listener",
    );
  }
  const clientCaFile = values["client-ca"];
  if (clientCaFile !== undefined && where.certFile === undefined) {
    throw new UsageError("--client-ca goes with a tls:// listener");
  }
  return { proxyProtocol, proxyFrom, clientCaFile };
}

function quitWordOf(values: Values): string | null {
  const word = values["quit-word"];
  let checked: string | undefined;
  try {
    if (word !== undefined) checked = validateQuitWord(word);
  } catch (error) {
    throw new UsageError(errorText(error));
  }
  if (values["no-quit"]) {
    if (word !== undefined) {
      throw new UsageError("Use --quit-word or --no-quit, not both");
    }
    return null;
  }
  return checked ?? SERVE_DEFAULTS.quitWord;
}

/** The options that set a limit of `serve()`, as the table says. */
function limitsOf(values: Values): Pick<Settings, LimitKey> {
  const limits = {} as Pick<Settings, LimitKey>;
  const flags: Record<string, ServerFlag> = SERVER_FLAGS;
  for (const [name, flag] of Object.entries(flags)) {
    if (flag.sets === undefined) continue;
    const [key, reader] = flag.sets;
    const text = values[name as keyof Values] as string | undefined;
    limits[key] = text === undefined
      ? SERVE_DEFAULTS[key]
      : readNumber(text, `--${name}`, reader);
  }
  return limits;
}

function readNumber(
  text: string,
  option: string,
  reader: NumberReader,
): number {
  if (reader === "duration") return parseDuration(text, option);
  return parseCount(text, option, reader === "size");
}

function duration(text: string | undefined, name: string): number | undefined {
  return text === undefined ? undefined : parseDuration(text, `--${name}`);
}

function count(
  text: string | undefined,
  name: string,
  sizes = false,
): number | undefined {
  return text === undefined ? undefined : parseCount(text, `--${name}`, sizes);
}

function parseWorkers(text: string | undefined): number {
  if (text === undefined) return SERVE_DEFAULTS.workers;
  if (text === "auto") {
    // As many as there are cores, where workers can run at all.
    if (workersUnsupported() !== undefined) return 1;
    return Math.min(Math.max(1, navigator.hardwareConcurrency), MAX_ISOLATES);
  }
  const also = ', or "auto" for one a core';
  // Not parseCount: its "0 or more" would name a value that is refused.
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new UsageError(
      `Invalid --workers "${text}": expected 1 to ${MAX_ISOLATES}${also}`,
    );
  }
  const workers = checkRange(Number(text), "--workers", 1, MAX_ISOLATES, also);
  if (workers > 1) {
    const unsupported = workersUnsupported();
    if (unsupported !== undefined) {
      throw new UsageError(
        `--workers ${text}: ${unsupported}; or give --workers 1`,
      );
    }
  }
  return workers;
}

/** `value` if it is from `min` to `max`; `also` ends the error's text. */
function checkRange(
  value: number,
  option: string,
  min: number,
  max: number,
  also = "",
): number {
  if (value < min || value > max) {
    throw new UsageError(
      `Invalid ${option} ${value}: expected ${
        max === Infinity ? `more than ${min - 1}` : `${min} to ${max}`
      }${also}`,
    );
  }
  return value;
}
