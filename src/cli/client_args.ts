// Copyright the deno-echo authors. MIT license.

// The `echo-client` command line (bench has its own): the option table and
// the checks that turn it into the settings of one run.

import { ipFamily, parseHostPort, parsePort } from "../net/address.ts";
import { DEFAULT_PORT } from "../net/defaults.ts";
import type { IPFamily } from "../net/resolve.ts";
import { DEFAULT_QUIT_WORD, validateQuitWord } from "../echo/quit_word.ts";
import { DEFAULT_UDP_TIMEOUT } from "../udp/udp_client.ts";
import { type FlagSpec, type FlagValues, parseFlags } from "./args.ts";
import { errorText, parseDuration, UsageError } from "./cli.ts";
import {
  type ClientRoute,
  parseProxyHeader,
  parseRoute,
  PROXY_HEADER_FLAGS,
  type ProxyHeaderArgs,
  ROUTE_FLAGS,
} from "./route_args.ts";

/** Read timeout unless `--read-timeout` says otherwise, in ms. */
export const DEFAULT_READ_TIMEOUT = 30_000;

/** `udp://`: the wait for each echo unless `--read-timeout` says, in ms. */
export { DEFAULT_UDP_TIMEOUT };

/** Connect timeout unless `--timeout` says otherwise, in ms. */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;

/** The options of `echo-client`. */
export const CLIENT_FLAGS = {
  port: { type: "string", short: "p" },
  "4": { type: "boolean" },
  "6": { type: "boolean" },
  timeout: { type: "string", short: "t" },
  "read-timeout": { type: "string" },
  verify: { type: "boolean" },
  tls: { type: "boolean" },
  ca: { type: "string", multiple: true },
  insecure: { type: "boolean" },
  cert: { type: "string" },
  key: { type: "string" },
  raw: { type: "boolean" },
  interactive: { type: "boolean", short: "i" },
  "quit-word": { type: "string" },
  "no-quit": { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  ...ROUTE_FLAGS,
  ...PROXY_HEADER_FLAGS,
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const satisfies Record<string, FlagSpec>;

type Values = FlagValues<typeof CLIENT_FLAGS>;

/** A transport `echo-client` speaks. */
export type ClientTransport = "tcp" | "tls" | "udp" | "unix";

/** Where `echo-client` connects. */
export interface ClientTarget {
  transport: ClientTransport;
  hostname: string;
  port: number;
  /** For unix: the socket's path; otherwise empty. */
  path: string;
}

/** What `echo-client` trusts and shows for TLS. */
export interface ClientTlsFiles {
  caFiles: string[];
  insecure: boolean;
  certFile: string | undefined;
  keyFile: string | undefined;
}

/** How an `echo-client` session runs. */
export interface ClientSettings {
  family: IPFamily | undefined;
  timeout: number;
  readTimeout: number;
  verify: boolean;
  raw: boolean;
  interactive: boolean;
  quitWord: string | null;
  quiet: boolean;
}

/** A parsed `echo-client` command line that asks for a session. */
export interface ClientArgs
  extends
    ClientTarget,
    ClientTlsFiles,
    ClientSettings,
    ClientRoute,
    ProxyHeaderArgs {}

/** What a command line asks for: a session, or help, or the version. */
export type ClientCommand = ClientArgs | "help" | "version";

/**
 * Parses an `echo-client` command line (not `bench`).
 *
 * @param args The arguments, without the program name.
 * @param stdinIsTerminal Whether standard input is a terminal (then the
 * session is interactive unless `--raw`).
 * @returns The settings, or `"help"` or `"version"`.
 * @throws {UsageError} For anything unknown, missing, out of range or
 * contradictory.
 */
export function parseClientArgs(
  args: readonly string[],
  stdinIsTerminal: boolean,
): ClientCommand {
  const { values, positionals } = parseFlags({
    args,
    options: CLIENT_FLAGS,
    allowPositionals: true,
  });
  if (values.help) return "help";
  if (values.version) return "version";
  checkCombinations(values, positionals);
  try {
    const target = parseTarget(values, positionals);
    const settings = sessionSettings(values, stdinIsTerminal);
    checkFamily(settings.family, target.hostname);
    if (target.transport === "udp" && values["read-timeout"] === undefined) {
      settings.readTimeout = DEFAULT_UDP_TIMEOUT;
    }
    return {
      ...target,
      caFiles: values.ca ?? [],
      insecure: values.insecure ?? false,
      certFile: values.cert,
      keyFile: values.key,
      ...settings,
      ...parseRoute(values, target.transport, settings.family),
      ...parseProxyHeader(values, target.transport),
    };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(errorText(error));
  }
}

/** Options and argument counts that cannot go together. */
function checkCombinations(values: Values, positionals: string[]): void {
  if (positionals.length > 2) {
    throw new UsageError(
      `Too many arguments: expected HOST [PORT], got ${positionals.length}`,
    );
  }
  if (values["4"] && values["6"]) {
    throw new UsageError("Use -4 or -6, not both");
  }
  if (values["no-quit"] && values["quit-word"] !== undefined) {
    throw new UsageError("Use --quit-word or --no-quit, not both");
  }
  if (values.raw && values.interactive) {
    throw new UsageError("Use --raw or --interactive, not both");
  }
  if (values.raw && values["quit-word"] !== undefined) {
    throw new UsageError(
      "--raw sends every byte and has no quit word: leave out --quit-word",
    );
  }
}

/** `-4` with an IPv6 address, or `-6` with an IPv4 one, cannot connect. */
export function checkFamily(
  family: IPFamily | undefined,
  hostname: string,
): void {
  const literal = ipFamily(hostname);
  if (family === undefined || literal === 0 || literal === family) return;
  throw new UsageError(
    `-${family} conflicts with the IPv${literal} address ${hostname}: drop -${family}, or give an IPv${family} address`,
  );
}

/** The transport, with the options that only some transports take. */
function parseTransport(
  values: Values,
  url: RegExpExecArray | null,
  first: string,
): ClientTransport {
  let transport: ClientTransport = url
    ? url[1] as "tcp" | "tls" | "udp"
    : first.startsWith("unix:")
    ? "unix"
    : "tcp";
  if (values.tls) {
    if (transport !== "tcp" || url) {
      throw new UsageError("--tls goes with HOST [PORT], not with a URL");
    }
    transport = "tls";
  }
  const tlsOnly = ["ca", "insecure", "cert", "key"] as const;
  const usedTls = tlsOnly.filter((name) => values[name] !== undefined);
  if (transport !== "tls" && usedTls.length > 0) {
    throw new UsageError(`--${usedTls[0]} goes with TLS (--tls or tls://)`);
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("Give --cert and --key together");
  }
  if (transport === "udp" && (values.raw || values.verify)) {
    throw new UsageError(
      "udp:// sends lines; --raw and --verify are for stream transports",
    );
  }
  return transport;
}

/** Where to connect: `HOST [PORT]`, `HOST:PORT`, a URL, or `--port`. */
export function parseTarget(
  values: Values,
  positionals: string[],
): ClientTarget {
  const first = positionals[0] ?? "localhost";
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(first)?.[1];
  if (scheme !== undefined && !/^(tcp|tls|udp|unix)$/.test(scheme)) {
    throw new UsageError(
      `Unsupported scheme "${scheme}://" in "${first}": echo-client speaks tcp://, tls://, udp:// and unix:PATH`,
    );
  }
  const url = /^(tcp|tls|udp):\/\/(.*)$/.exec(first);
  const transport = parseTransport(values, url, first);
  let path = "";
  if (transport === "unix") {
    path = first.slice("unix:".length);
    if (path === "") throw new UsageError("Expected unix:PATH");
    if (positionals.length > 1 || values.port !== undefined) {
      throw new UsageError("A unix: socket takes no port");
    }
  }
  const target = transport === "unix"
    ? { hostname: "localhost", port: DEFAULT_PORT }
    : parseHostPort(url ? url[2]!.replace(/\/$/, "") : first, 1);
  const ports = [
    target.port,
    positionals[1] === undefined ? undefined : parsePort(positionals[1], 1),
    values.port === undefined ? undefined : parsePort(values.port, 1),
  ].filter((p) => p !== undefined);
  if (ports.length > 1) {
    throw new UsageError(
      "Give the port once: as HOST:PORT, as a second argument, or with --port",
    );
  }
  const port = ports[0] ?? DEFAULT_PORT;
  return { transport, hostname: target.hostname, port, path };
}

/** How the session runs: family, timeouts, mode and quit word. */
function sessionSettings(
  values: Values,
  stdinIsTerminal: boolean,
): ClientSettings {
  return {
    family: values["4"] ? 4 : values["6"] ? 6 : undefined,
    timeout: values.timeout === undefined
      ? DEFAULT_CONNECT_TIMEOUT
      : parseDuration(values.timeout, "--timeout"),
    readTimeout: values["read-timeout"] === undefined
      ? DEFAULT_READ_TIMEOUT
      : parseDuration(values["read-timeout"], "--read-timeout"),
    verify: values.verify ?? false,
    raw: values.raw ?? false,
    interactive: values.interactive ?? (!values.raw && stdinIsTerminal),
    quitWord: values["no-quit"]
      ? null
      : validateQuitWord(values["quit-word"] ?? DEFAULT_QUIT_WORD),
    quiet: values.quiet ?? false,
  };
}
