#!/usr/bin/env -S deno run --allow-net
// Copyright the deno-echo authors. MIT license.

/**
 * `echo-client`: talks to a TCP echo server. On a terminal it is the
 * textbook conversation (prompt, send a line, print its echo, stop after
 * `BYE`); with pipes it is a scriptable tool that streams stdin through the
 * server to stdout.
 *
 * Run it with `deno task client HOST [PORT]` (or
 * `deno run --allow-net client.ts`); `--help` lists the options. As a module
 * it exports {@linkcode connect}, {@linkcode EchoClient},
 * {@linkcode runSession} and the load generator behind `echo-client bench`,
 * {@linkcode runBench}.
 *
 * @example Dial a server from a program
 * ```ts
 * import { connect } from "@deno-echo/echo/client";
 * import { serve } from "@deno-echo/echo/server";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * await using client = await connect(server.addrs[0]!);
 * assertEquals(await client.send("hi"), "hi");
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatAddress, parseHostPort, parsePort } from "./src/net/address.ts";
import type { BenchErrors } from "./src/bench/bench.ts";
import {
  BENCH_USAGE,
  parseBenchArgs,
  runBenchCommand,
  worstError,
} from "./src/cli/bench_main.ts";
import {
  errorText,
  parseDuration,
  UsageError,
  usageErrorFrom,
  VERSION,
  writeText,
} from "./src/cli/cli.ts";
import {
  ConnectTimeoutError,
  dial,
  dialTls,
  dialUnix,
} from "./src/client/dial.ts";
import { runUdpSession } from "./src/client/udp_session.ts";
import { DEFAULT_QUIT_WORD, validateQuitWord } from "./src/echo/quit_word.ts";
import { type IPFamily, UnknownHostError } from "./src/net/resolve.ts";
import { DEFAULT_PORT } from "./src/net/defaults.ts";
import {
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
  runSession,
} from "./src/client/session.ts";

export {
  type BenchErrors,
  type BenchOptions,
  type BenchProgress,
  type BenchResult,
  runBench,
} from "./src/bench/bench.ts";
export { type DialOptions } from "./src/client/dial.ts";
export {
  connect,
  type ConnectOptions,
  EchoClient,
} from "./src/client/echo_client.ts";
export { Histogram } from "./src/bench/histogram.ts";
export { type IPFamily } from "./src/net/resolve.ts";
export {
  runUdpSession,
  type UdpLostLine,
  type UdpSessionOptions,
  type UdpSessionResult,
} from "./src/client/udp_session.ts";
export {
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
  runSession,
  type SessionOptions,
  type SessionResult,
} from "./src/client/session.ts";

/** Exit codes of `echo-client`, as documented in the README. */
export const ClientExitCode = {
  /** Everything sent was echoed. */
  Ok: 0,
  /** An unexpected failure. */
  Failure: 1,
  /** Bad command line. */
  Usage: 2,
  /** Nothing listens at that address and port. */
  Refused: 3,
  /** The host name does not resolve. */
  UnknownHost: 4,
  /** No route to the network or host. */
  Unreachable: 5,
  /** The connection attempt timed out. */
  Timeout: 6,
  /** The server reset the connection. */
  ConnectionReset: 7,
  /** The server closed the connection before echoing everything. */
  ClosedEarly: 8,
  /** `--verify` or `bench`: an echoed byte differs from the byte sent. */
  Mismatch: 9,
  /** `bench --rate`: the server fell too far behind the rate. */
  Overrun: 10,
  /** UDP: some lines got no echo, even after retries. */
  DatagramsLost: 11,
  /** TLS: the handshake failed (untrusted or mismatched certificate). */
  TlsFailure: 12,
} as const;

/** The exit code of `echo-client bench` for its worst kind of failure. */
const BENCH_EXIT_CODES: Record<keyof BenchErrors, number> = {
  mismatches: ClientExitCode.Mismatch,
  closedEarly: ClientExitCode.ClosedEarly,
  resets: ClientExitCode.ConnectionReset,
  timeouts: ClientExitCode.Timeout,
  overruns: ClientExitCode.Overrun,
  other: ClientExitCode.Failure,
};

/** Read timeout unless `--read-timeout` says otherwise, in ms. */
const DEFAULT_READ_TIMEOUT = 30_000;

/** Connect timeout unless `--timeout` says otherwise, in ms. */
const DEFAULT_CONNECT_TIMEOUT = 10_000;

const USAGE = `Usage: echo-client [OPTIONS] [HOST [PORT]]
       echo-client [OPTIONS] tls://HOST[:PORT] | udp://HOST[:PORT] | unix:PATH
       echo-client bench [OPTIONS] [HOST[:PORT] | HOST PORT]

Talks to a TCP echo server. On a terminal: type a line, see its echo; BYE
ends the session. With piped input: sends every line, writes the echoes to
stdout, and exits once everything is echoed.

HOST is a name, an IPv4 address or an IPv6 address (::1), optionally with a
port: HOST:PORT or [IPV6]:PORT (default: localhost; PORT default: ${DEFAULT_PORT}).
A URL picks the transport: tls:// (or --tls), udp:// (each line one
datagram, retried when its echo does not come back), unix:PATH.

Options:
  -p, --port PORT       Port to connect to (default: ${DEFAULT_PORT})
  -4                    Use IPv4 addresses only
  -6                    Use IPv6 addresses only
  -t, --timeout TIME    Give up connecting after TIME (500ms, 5s, 2m; 0 = no
                        limit; default: ${DEFAULT_CONNECT_TIMEOUT / 1000}s)
      --read-timeout TIME
                        Give up when echoes are due and nothing has arrived
                        for TIME (0 = wait forever; default: ${
  DEFAULT_READ_TIMEOUT / 1000
}s)
      --verify          Check every echoed byte against what was sent
      --tls             Connect with TLS (as tls://HOST:PORT does)
      --ca FILE         Trust this CA certificate (PEM) too; repeatable
      --insecure        Do not check the server's name against its
                        certificate (the chain is still checked)
      --cert FILE       Client certificate chain (PEM), for servers that ask
      --key FILE        Its private key (PEM)
      --raw             Send stdin's bytes untouched and write the echo as it
                        comes (binary-safe, like nc); no quit word
  -i, --interactive     Prompt and wait for each echo even when stdin is not
                        a terminal
      --quit-word WORD  Stop after sending a line that says WORD (default: ${DEFAULT_QUIT_WORD})
      --no-quit         Send every line, whatever it says
  -q, --quiet           No "Connected to" line on a terminal
  -h, --help            Show this help and exit
  -V, --version         Show the version and exit

echo-client bench loads a server from many connections and measures round
trips a second, throughput, latency and fairness ('echo-client bench --help').

Exit codes: 0 everything echoed, 1 unexpected failure, 2 bad command line,
3 connection refused, 4 unknown host, 5 network unreachable, 6 timed out
(connecting, or waiting for echoes), 7 connection reset, 8 closed before
everything was echoed, 9 echo differs from what was sent (--verify),
11 UDP lines lost, 12 TLS handshake failed.
`;

interface ClientArgs {
  transport: "tcp" | "tls" | "udp" | "unix";
  hostname: string;
  port: number;
  /** For unix: the socket's path. */
  path: string;
  caFiles: string[];
  insecure: boolean;
  certFile: string | undefined;
  keyFile: string | undefined;
  family: IPFamily | undefined;
  timeout: number;
  readTimeout: number;
  verify: boolean;
  raw: boolean;
  interactive: boolean;
  quitWord: string | null;
  quiet: boolean;
}

function parseClientArgs(
  args: string[],
  stdinIsTerminal: boolean,
): ClientArgs | "help" | "version" {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
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
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    throw usageErrorFrom(error);
  }
  if (values.help) return "help";
  if (values.version) return "version";
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
  try {
    const first = positionals[0] ?? "localhost";
    const url = /^(tcp|tls|udp):\/\/(.*)$/.exec(first);
    let transport: ClientArgs["transport"] = url
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
    const common = {
      transport,
      path: "",
      caFiles: values.ca ?? [],
      insecure: values.insecure ?? false,
      certFile: values.cert,
      keyFile: values.key,
    };
    if (transport === "unix") {
      const path = first.slice("unix:".length);
      if (path === "") throw new UsageError("Expected unix:PATH");
      if (positionals.length > 1 || values.port !== undefined) {
        throw new UsageError("A unix: socket takes no port");
      }
      Object.assign(common, { path });
    }
    const target = transport === "unix"
      ? { hostname: "localhost", port: DEFAULT_PORT }
      : parseHostPort(url ? url[2]!.replace(/\/$/, "") : first);
    const ports = [
      target.port,
      positionals[1] === undefined ? undefined : parsePort(positionals[1]),
      values.port === undefined ? undefined : parsePort(values.port),
    ].filter((p) => p !== undefined);
    if (ports.length > 1) {
      throw new UsageError(
        "Give the port once: as HOST:PORT, as a second argument, or with --port",
      );
    }
    const port = ports[0] ?? DEFAULT_PORT;
    if (port === 0) throw new UsageError("Port 0 cannot be dialed");
    return {
      ...common,
      hostname: target.hostname,
      port,
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
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(errorText(error));
  }
}

/** Turns a failure into a one-line message and an exit code. */
function failure(
  error: unknown,
  args: { hostname: string; port: number; transport?: string; path?: string },
): { message: string; code: number } {
  const where = args.transport === "unix"
    ? `unix:${args.path}`
    : `${args.transport === "tls" ? "tls://" : ""}${
      formatAddress({ hostname: args.hostname, port: args.port })
    }`;
  if (args.transport === "unix" && error instanceof Deno.errors.NotFound) {
    return {
      code: ClientExitCode.Refused,
      message:
        `No socket at ${where}: the server may not be running, or the path is wrong`,
    };
  }
  if (error instanceof Deno.errors.InvalidData && args.transport === "tls") {
    return {
      code: ClientExitCode.TlsFailure,
      message: `TLS handshake with ${where} failed: ${errorText(error)}. ` +
        `For a private CA give --ca FILE; check the name you dial is in the certificate`,
    };
  }
  if (error instanceof Deno.errors.ConnectionRefused) {
    return {
      code: ClientExitCode.Refused,
      message:
        `Connection to ${where} refused: the server may not be running, or the port is wrong`,
    };
  }
  if (error instanceof UnknownHostError) {
    return {
      code: ClientExitCode.UnknownHost,
      message: `${error.message}. Check the spelling, or use an IP address`,
    };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (
    error instanceof Deno.errors.NetworkUnreachable ||
    code === "EHOSTUNREACH" || code === "ENETUNREACH" ||
    /unreachable|no route to host/i.test(errorText(error))
  ) {
    return {
      code: ClientExitCode.Unreachable,
      message: `Cannot reach ${where}: ${
        errorText(error)
      }. Check the address and your network`,
    };
  }
  if (error instanceof EchoTimeoutError) {
    return {
      code: ClientExitCode.Timeout,
      message: `${error.message}. Raise --read-timeout to wait longer`,
    };
  }
  if (error instanceof EchoMismatchError) {
    return { code: ClientExitCode.Mismatch, message: error.message };
  }
  if (
    error instanceof ConnectTimeoutError ||
    error instanceof Deno.errors.TimedOut
  ) {
    return {
      code: ClientExitCode.Timeout,
      message:
        `${
          errorText(error)
        }: a firewall may be dropping packets, or the host is down. ` +
        `Raise --timeout to wait longer`,
    };
  }
  if (error instanceof IncompleteEchoError) {
    return { code: ClientExitCode.ClosedEarly, message: error.message };
  }
  if (
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe
  ) {
    return {
      code: ClientExitCode.ConnectionReset,
      message: `Connection to ${where} lost: ${errorText(error)}`,
    };
  }
  if (error instanceof Deno.errors.NotCapable) {
    return {
      code: ClientExitCode.Failure,
      message: `Deno denied network access to ${where}. Run with --allow-net`,
    };
  }
  return { code: ClientExitCode.Failure, message: errorText(error) };
}

/** Opens the stream connection the options ask for: TCP, TLS or Unix. */
async function open(options: ClientArgs): Promise<Deno.Conn> {
  if (options.transport === "unix") return await dialUnix(options.path);
  const target = {
    hostname: options.hostname,
    port: options.port,
    timeout: options.timeout,
    ...(options.family === undefined ? {} : { family: options.family }),
  };
  if (options.transport === "tcp") return await dial(target);
  const readFile = async (file: string, what: string): Promise<string> => {
    try {
      return await Deno.readTextFile(file);
    } catch (error) {
      throw new UsageError(
        `Cannot read the ${what} ${file}: ${errorText(error)}`,
      );
    }
  };
  const caCerts = await Promise.all(
    options.caFiles.map((file) => readFile(file, "CA certificate")),
  );
  if (options.insecure) {
    writeText(
      Deno.stderr,
      "echo-client: WARNING: --insecure: the server's name is not checked " +
        "against its certificate, so any server holding a certificate from a " +
        "trusted CA can pose as this one\n",
    );
  }
  return await dialTls({
    ...target,
    ...(caCerts.length > 0 ? { caCerts } : {}),
    unsafelyDisableHostnameVerification: options.insecure,
    ...(options.certFile !== undefined && options.keyFile !== undefined
      ? {
        clientCert: {
          cert: await readFile(options.certFile, "client certificate"),
          key: await readFile(options.keyFile, "client key"),
        },
      }
      : {}),
  });
}

/** `udp://`: each line one datagram, echoed lines to stdout. */
async function udpMain(options: ClientArgs): Promise<number> {
  const result = await runUdpSession(
    {
      hostname: options.hostname,
      port: options.port,
      quitWord: options.quitWord,
      ...(options.family === undefined ? {} : { family: options.family }),
      ...(options.readTimeout > 0 ? { timeout: options.readTimeout } : {}),
    },
    Deno.stdin.readable,
    Deno.stdout.writable,
  );
  if (result.lost === 0) return ClientExitCode.Ok;
  writeText(
    Deno.stderr,
    `echo-client: ${result.lost} of ${result.sent} lines got no echo ` +
      `(datagrams lost, even after retries)\n`,
  );
  return ClientExitCode.DatagramsLost;
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "bench") return await benchMain(args.slice(1));
  let options: ClientArgs;
  try {
    const parsed = parseClientArgs(args, Deno.stdin.isTerminal());
    if (parsed === "help") {
      writeText(Deno.stdout, USAGE);
      return ClientExitCode.Ok;
    }
    if (parsed === "version") {
      writeText(Deno.stdout, `echo-client ${VERSION}\n`);
      return ClientExitCode.Ok;
    }
    options = parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    writeText(
      Deno.stderr,
      `echo-client: ${error.message}\nTry 'echo-client --help' for usage.\n`,
    );
    return ClientExitCode.Usage;
  }

  try {
    if (options.transport === "udp") return await udpMain(options);
    using conn = await open(options);
    if (options.interactive && !options.quiet) {
      const quit = options.quitWord === null
        ? "Ctrl-D to end"
        : `type ${options.quitWord} to quit`;
      writeText(
        Deno.stderr,
        `Connected to ${formatAddress(conn.remoteAddr)} (${quit})\n`,
      );
    }
    await runSession(conn, Deno.stdin.readable, Deno.stdout.writable, {
      mode: options.raw ? "raw" : "lines",
      interactive: options.interactive,
      quitWord: options.quitWord,
      verify: options.verify,
      readTimeout: options.readTimeout,
    });
    return ClientExitCode.Ok;
  } catch (error) {
    if (error instanceof UsageError) {
      writeText(Deno.stderr, `echo-client: ${error.message}\n`);
      return ClientExitCode.Usage;
    }
    const { message, code } = failure(error, options);
    writeText(Deno.stderr, `echo-client: ${message}\n`);
    return code;
  }
}

/** `echo-client bench ...`: the load generator (see src/cli/bench_main.ts). */
async function benchMain(args: string[]): Promise<number> {
  let options;
  try {
    options = parseBenchArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    writeText(
      Deno.stderr,
      `echo-client bench: ${error.message}\n` +
        `Try 'echo-client bench --help' for usage.\n`,
    );
    return ClientExitCode.Usage;
  }
  if (options === "help") {
    writeText(Deno.stdout, BENCH_USAGE);
    return ClientExitCode.Ok;
  }
  try {
    const result = await runBenchCommand(options);
    const worst = worstError(result.errors);
    if (worst === undefined) return ClientExitCode.Ok;
    writeText(Deno.stderr, `echo-client bench: ${result.firstError}\n`);
    return BENCH_EXIT_CODES[worst];
  } catch (error) {
    const { message, code } = failure(error, options);
    writeText(Deno.stderr, `echo-client bench: ${message}\n`);
    return code;
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    writeText(
      Deno.stderr,
      `echo-client: unexpected error: ${errorText(error)}\n`,
    );
    code = ClientExitCode.Failure;
  }
  // Exit now: a read of standard input may still be pending, and it would
  // keep the process alive until the user typed another line.
  Deno.exit(code);
}
