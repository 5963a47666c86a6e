#!/usr/bin/env -S deno run --allow-net
// Copyright the deno-echo authors. MIT license.

/**
 * `echo-server`: a TCP echo server. Every byte a client sends comes back
 * unchanged; a line that says `BYE` is echoed and then ends the connection.
 *
 * Run it with `deno task server` (or `deno run --allow-net server.ts`);
 * `--help` lists the options. As a module it exports {@linkcode serve}.
 *
 * @example Embed the server
 * ```ts
 * import { serve } from "@deno-echo/echo/server";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * await server.shutdown();
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { formatAddress, parseHostname, parsePort } from "./src/net/address.ts";
import {
  errorText,
  formatDuration,
  parseCount,
  parseDuration,
  UsageError,
  usageErrorFrom,
  VERSION,
  writeText,
} from "./src/cli/cli.ts";
import { MAX_ISOLATES } from "./src/server/admission.ts";
import { LogLimiter } from "./src/cli/log_limiter.ts";
import { DEFAULT_UDP_RATE_PER_SOURCE } from "./src/udp/udp_server.ts";
import {
  DEFAULT_MAX_DATAGRAM_SIZE,
  MAX_DATAGRAM_SIZE,
} from "./src/udp/udp_socket.ts";
import { UnknownHostError } from "./src/net/resolve.ts";
import { type ListenerSpec, parseListenUrl } from "./src/net/listen_url.ts";
import {
  type ConnectionCloseInfo,
  type ConnectionInfo,
  DEFAULT_DRAIN_TIMEOUT,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_HOSTNAME,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_PORT,
  type EchoServer,
  failedListener,
  type ServeOptions,
  type ServeTlsOptions,
} from "./src/server/serve.ts";
import { serve, workersUnsupported } from "./src/workers/serve.ts";
import { DEFAULT_QUIT_WORD, validateQuitWord } from "./src/echo/quit_word.ts";

export {
  type ConnectionCloseInfo,
  type ConnectionInfo,
  type EchoServer,
  type ServeOptions,
} from "./src/server/serve.ts";
export { serve } from "./src/workers/serve.ts";

/** Exit codes of `echo-server`, as documented in the README. */
export const ServerExitCode = {
  /** Stopped cleanly (signal, drain finished). */
  Ok: 0,
  /** An unexpected failure. */
  Failure: 1,
  /** Bad command line. */
  Usage: 2,
  /** The port is already in use. */
  AddressInUse: 3,
  /** Not allowed to listen (a port below 1024, or Deno's --allow-net). */
  PermissionDenied: 4,
  /** The address cannot be listened on (not this host's, unknown name). */
  AddressUnavailable: 5,
  /** The TLS certificate or key cannot be read or used. */
  TlsSetup: 6,
  /** A second signal closed live connections without waiting (128 + 2). */
  ForcedSigint: 130,
  /** A second SIGTERM closed live connections without waiting (128 + 15). */
  ForcedSigterm: 143,
} as const;

const USAGE = `Usage: echo-server [OPTIONS]

A TCP echo server: every byte a client sends comes back unchanged. A line
that says BYE (surrounding whitespace ignored) is echoed, then the server
closes that connection.

Options:
  -H, --hostname HOST      Where to listen (default: ${DEFAULT_HOSTNAME}, which is
                           127.0.0.1 and ::1). A name means every address it
                           resolves to; :: means every interface, IPv4 and IPv6.
  -p, --port PORT          Port to listen on, 0 for any free port (default: ${DEFAULT_PORT})
  -l, --listen URL         Listen on URL instead; repeat for several listeners:
                           tcp://HOST:PORT, tls://HOST:PORT, unix:PATH,
                           udp://HOST:PORT (HOST as for --hostname, [IPV6] in
                           brackets)
      --cert FILE          TLS certificate chain (PEM), for tls:// listeners
      --key FILE           TLS private key (PEM), for tls:// listeners
      --udp-rate N         Datagrams per second echoed to one source address
                           on udp:// listeners (0 = no limit; default: ${DEFAULT_UDP_RATE_PER_SOURCE})
      --max-datagram SIZE  Larger datagrams are dropped (default: ${DEFAULT_MAX_DATAGRAM_SIZE})
      --handshake-timeout TIME
                           Close a TLS client that has not finished its
                           handshake after TIME (default: ${
  DEFAULT_HANDSHAKE_TIMEOUT / 1000
}s)
      --quit-word WORD     Close a connection after echoing a line that says
                           WORD (default: ${DEFAULT_QUIT_WORD})
      --no-quit            Never close on a word: a pure RFC 862 echo
      --drain-timeout TIME On Ctrl-C or SIGTERM, let connections finish for up
                           to TIME (500ms, 5s, 2m; default: ${
  DEFAULT_DRAIN_TIMEOUT / 1000
}s)
      --idle-timeout TIME  Close a connection after TIME without traffic
                           (0 = never; default: ${
  DEFAULT_IDLE_TIMEOUT / 60_000
}m)
      --max-connections N  Connections open at once; more are closed at once
                           (0 = no limit; default: ${DEFAULT_MAX_CONNECTIONS})
      --max-per-ip N       Connections open at once from one address
                           (0 = no limit; default: 0)
      --max-bytes SIZE     Close a connection after echoing SIZE bytes
                           (64K, 10M, 1G; 0 = no limit; default: 0)
  -w, --workers N          Accept in N isolates sharing each TCP and TLS port,
                           to use N CPU cores; auto = one per core, or 1 where
                           workers cannot run (default: 1).
                           Linux only; needs Deno's --unstable-net flag, which
                           deno task server and echo-server have
  -q, --quiet              Do not log each connection
  -h, --help               Show this help and exit
  -V, --version            Show the version and exit

Output: one "Listening on HOST:PORT" line per bound TCP address on stdout
(tls://HOST:PORT, unix:PATH, udp://HOST:PORT for the others); a log line per
connection opened and closed, and errors, on stderr.

Exit codes: 0 stopped cleanly, 1 unexpected failure, 2 bad command line,
3 address in use, 4 permission denied, 5 address not available, 6 TLS
certificate or key unusable, 130/143 a second SIGINT/SIGTERM closed
connections without waiting.
`;

interface ServerArgs {
  hostname: string;
  port: number;
  /** `--listen` URLs, parsed; empty for the --hostname/--port form. */
  listen: ListenerSpec[];
  certFile: string | undefined;
  keyFile: string | undefined;
  handshakeTimeout: number;
  udpRate: number;
  maxDatagram: number;
  quitWord: string | null;
  drainTimeout: number;
  idleTimeout: number;
  maxConnections: number;
  maxPerIp: number;
  maxBytes: number;
  workers: number;
  quiet: boolean;
}

function parseServerArgs(args: string[]): ServerArgs | "help" | "version" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        hostname: { type: "string", short: "H" },
        port: { type: "string", short: "p" },
        listen: { type: "string", short: "l", multiple: true },
        cert: { type: "string" },
        key: { type: "string" },
        "handshake-timeout": { type: "string" },
        "udp-rate": { type: "string" },
        "max-datagram": { type: "string" },
        "quit-word": { type: "string" },
        "no-quit": { type: "boolean" },
        "drain-timeout": { type: "string" },
        "idle-timeout": { type: "string" },
        "max-connections": { type: "string" },
        "max-per-ip": { type: "string" },
        "max-bytes": { type: "string" },
        workers: { type: "string", short: "w" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageErrorFrom(error);
  }
  if (values.help) return "help";
  if (values.version) return "version";
  let hostname = DEFAULT_HOSTNAME;
  let port = DEFAULT_PORT;
  let quitWord: string | null = DEFAULT_QUIT_WORD;
  let listen: ListenerSpec[] = [];
  try {
    listen = (values.listen ?? []).map((url) => parseListenUrl(url));
    if (values.hostname !== undefined) {
      hostname = parseHostname(values.hostname);
    }
    if (values.port !== undefined) port = parsePort(values.port);
    if (values["quit-word"] !== undefined) {
      quitWord = validateQuitWord(values["quit-word"]);
    }
  } catch (error) {
    throw new UsageError(errorText(error));
  }
  if (
    listen.length > 0 &&
    (values.hostname !== undefined || values.port !== undefined)
  ) {
    throw new UsageError(
      "Use --listen, or --hostname and --port, not both",
    );
  }
  const tls = listen.some((spec) => spec.transport === "tls");
  if (tls && (values.cert === undefined || values.key === undefined)) {
    throw new UsageError("A tls:// listener needs --cert FILE and --key FILE");
  }
  if (!tls && (values.cert !== undefined || values.key !== undefined)) {
    throw new UsageError("--cert and --key go with a tls:// listener");
  }
  if (values["no-quit"]) {
    if (values["quit-word"] !== undefined) {
      throw new UsageError("Use --quit-word or --no-quit, not both");
    }
    quitWord = null;
  }
  const duration = (name: string, fallback: number): number => {
    const text = values[name as keyof typeof values] as string | undefined;
    return text === undefined ? fallback : parseDuration(text, `--${name}`);
  };
  const count = (name: string, fallback: number, sizes = false): number => {
    const text = values[name as keyof typeof values] as string | undefined;
    return text === undefined ? fallback : parseCount(text, `--${name}`, sizes);
  };
  return {
    hostname,
    port,
    listen,
    certFile: values.cert,
    keyFile: values.key,
    handshakeTimeout: checkRange(
      duration("handshake-timeout", DEFAULT_HANDSHAKE_TIMEOUT),
      "--handshake-timeout",
      1,
      Infinity,
    ),
    udpRate: count("udp-rate", DEFAULT_UDP_RATE_PER_SOURCE),
    maxDatagram: checkRange(
      count("max-datagram", DEFAULT_MAX_DATAGRAM_SIZE, true),
      "--max-datagram",
      1,
      MAX_DATAGRAM_SIZE,
    ),
    quitWord,
    drainTimeout: duration("drain-timeout", DEFAULT_DRAIN_TIMEOUT),
    idleTimeout: duration("idle-timeout", DEFAULT_IDLE_TIMEOUT),
    maxConnections: count("max-connections", DEFAULT_MAX_CONNECTIONS),
    maxPerIp: count("max-per-ip", 0),
    maxBytes: count("max-bytes", 0, true),
    workers: parseWorkers(values.workers),
    quiet: values.quiet ?? false,
  };
}

/** A repeat of the first signal within this many ms is the same signal. */
const SAME_SIGNAL_MS = 200;

function parseWorkers(text: string | undefined): number {
  if (text === undefined) return 1;
  if (text === "auto") {
    // As many as there are cores, where workers can run at all.
    if (workersUnsupported() !== undefined) return 1;
    return Math.min(Math.max(1, navigator.hardwareConcurrency), MAX_ISOLATES);
  }
  const workers = checkRange(
    parseCount(text, "--workers"),
    "--workers",
    1,
    MAX_ISOLATES,
  );
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

function checkRange(
  value: number,
  option: string,
  min: number,
  max: number,
): number {
  if (value < min || value > max) {
    throw new UsageError(
      `Invalid ${option}: expected ${
        max === Infinity ? `more than ${min - 1}` : `${min} to ${max}`
      }`,
    );
  }
  return value;
}

function log(text: string): void {
  writeText(Deno.stderr, `${new Date().toISOString()} ${text}\n`);
}

function describeClose(info: ConnectionCloseInfo): string {
  const how = info.reason === "eof"
    ? "client closed"
    : info.reason === "quit"
    ? "quit word"
    : info.reason === "idle"
    ? "idle timeout"
    : info.reason === "limit"
    ? "byte limit reached"
    : info.reason === "aborted"
    ? "server shutting down"
    : `error: ${errorText(info.error)}`;
  return `${how}; ${info.bytes} bytes echoed in ${
    formatDuration(info.durationMs)
  }`;
}

/** Turns a failure to start into a message and an exit code. */
function startFailure(
  error: unknown,
  args: ServerArgs,
): { message: string; code: number } {
  const spec: ListenerSpec = failedListener(error) ??
    { transport: "tcp", hostname: args.hostname, port: args.port };
  const where = spec.transport === "unix"
    ? `unix:${spec.path}`
    : spec.transport === "tcp"
    ? formatAddress(spec)
    : `${spec.transport}://${formatAddress(spec)}`;
  const port = spec.transport === "unix" ? 0 : spec.port;
  if (error instanceof Deno.errors.AddrInUse) {
    return {
      code: ServerExitCode.AddressInUse,
      message: spec.transport === "unix"
        ? `Cannot listen on ${where}: ${
          errorText(error)
        }. Stop it or choose another path`
        : `Cannot listen on ${where}: port ${port} is already in use (another echo-server?). ` +
          `Stop the other program or choose another port (0 picks a free one)`,
    };
  }
  if (error instanceof Deno.errors.AlreadyExists) {
    return {
      code: ServerExitCode.AddressInUse,
      message: `Cannot listen on ${where}: ${errorText(error)}`,
    };
  }
  if (error instanceof Deno.errors.InvalidData && spec.transport === "tls") {
    return {
      code: ServerExitCode.TlsSetup,
      message:
        `Cannot listen on ${where}: the certificate or key is unusable (${
          errorText(error)
        }). Give a PEM certificate chain with --cert and its PEM key with --key`,
    };
  }
  if (error instanceof Deno.errors.NotCapable) {
    return {
      code: ServerExitCode.PermissionDenied,
      message: `Cannot listen on ${where}: Deno denied access (${
        errorText(error)
      }). Run with --allow-net (and --allow-read for --workers, --allow-read --allow-write for unix: listeners)`,
    };
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return {
      code: ServerExitCode.PermissionDenied,
      message: port > 0 && port < 1024
        ? `Cannot listen on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE. Choose a port of 1024 or more`
        : `Cannot listen on ${where}: ${errorText(error)}`,
    };
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return {
      code: ServerExitCode.AddressUnavailable,
      message:
        `Cannot listen on ${where}: the address is not on this machine. ` +
        `Use one of its addresses, localhost, or :: for every interface`,
    };
  }
  if (error instanceof UnknownHostError) {
    return {
      code: ServerExitCode.AddressUnavailable,
      message: `Cannot listen on ${where}: ${error.message}`,
    };
  }
  return {
    code: ServerExitCode.Failure,
    message: `Cannot listen on ${where}: ${errorText(error)}`,
  };
}

async function main(args: string[]): Promise<number> {
  let options: ServerArgs;
  try {
    const parsed = parseServerArgs(args);
    if (parsed === "help") {
      writeText(Deno.stdout, USAGE);
      return ServerExitCode.Ok;
    }
    if (parsed === "version") {
      writeText(Deno.stdout, `echo-server ${VERSION}\n`);
      return ServerExitCode.Ok;
    }
    options = parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    writeText(
      Deno.stderr,
      `echo-server: ${error.message}\nTry 'echo-server --help' for usage.\n`,
    );
    return ServerExitCode.Usage;
  }

  let tls: ServeTlsOptions | undefined;
  if (options.certFile !== undefined && options.keyFile !== undefined) {
    try {
      tls = {
        cert: await Deno.readTextFile(options.certFile),
        key: await Deno.readTextFile(options.keyFile),
        handshakeTimeout: options.handshakeTimeout,
      };
    } catch (error) {
      writeText(
        Deno.stderr,
        `echo-server: Cannot read the TLS certificate or key: ${
          errorText(error)
        }${
          error instanceof Deno.errors.NotCapable
            ? ". Run with --allow-read"
            : ""
        }\n`,
      );
      return ServerExitCode.TlsSetup;
    }
  }

  let server: EchoServer;
  // A flood of connections or failing accepts must not flood the log.
  using connectionLog = new LogLimiter(log, {
    burst: 200,
    perSecond: 50,
    what: "connection log lines",
  });
  using acceptLog = new LogLimiter(log, {
    burst: 1,
    perSecond: 1,
    what: "more accept failures",
  });
  using udpLog = new LogLimiter(log, {
    burst: 10,
    perSecond: 1,
    what: "more dropped datagrams",
  });
  using handshakeLog = new LogLimiter(log, {
    burst: 20,
    perSecond: 5,
    what: "more failed TLS handshakes",
  });
  // With several listeners or workers, say which one a connection came
  // through.
  const via = (info: ConnectionInfo): string =>
    (options.listen.length > 0 ? ` via ${info.listener}` : "") +
    (options.workers > 1 ? ` on worker ${info.worker}` : "");
  const logConnections: ServeOptions = options.quiet ? {} : {
    onOpen: (info) =>
      connectionLog.line(() =>
        `#${info.id} ${formatAddress(info.remoteAddr)}${
          via(info)
        } connected (${server.connections} open)`
      ),
    onClose: (info) =>
      connectionLog.line(() =>
        `#${info.id} ${formatAddress(info.remoteAddr)} closed: ${
          describeClose(info)
        } (${server.connections} open)`
      ),
  };
  try {
    server = await serve({
      ...(options.listen.length > 0
        ? { listen: options.listen }
        : { hostname: options.hostname, port: options.port }),
      ...(tls === undefined ? {} : { tls }),
      udp: {
        ratePerSource: options.udpRate,
        burst: Math.max(1, options.udpRate * 2),
        maxDatagramSize: options.maxDatagram,
      },
      quitWord: options.quitWord,
      drainTimeout: options.drainTimeout,
      idleTimeout: options.idleTimeout,
      maxConnections: options.maxConnections,
      maxPerIp: options.maxPerIp,
      maxBytes: options.maxBytes,
      workers: options.workers,
      ...logConnections,
      // Rejections are logged even with --quiet: they mean lost service.
      onReject: (info, reason) =>
        connectionLog.line(
          `#${info.id} ${formatAddress(info.remoteAddr)} rejected: ${
            reason === "max-connections"
              ? `${options.maxConnections} connections open (--max-connections)`
              : `${options.maxPerIp} connections open from this address (--max-per-ip)`
          }`,
        ),
      onAcceptError: (error) =>
        acceptLog.line(`accept failed: ${errorText(error)}`),
      onHandshakeError: (info, error) =>
        handshakeLog.line(
          `#${info.id} ${formatAddress(info.remoteAddr)}${
            via(info)
          } TLS handshake failed: ${errorText(error)}`,
        ),
      // Drops are what the UDP guards are for: counted in a summary line
      // rather than logged one by one under a flood.
      onUdpDrop: (info) =>
        udpLog.line(
          `udp ${
            formatAddress(info.remoteAddr)
          } datagram of ${info.size} bytes dropped: ${info.reason}`,
        ),
      onStaleSocket: (path) =>
        log(`replaced stale socket ${path} (no server was listening on it)`),
    });
  } catch (error) {
    const { message, code } = startFailure(error, options);
    writeText(Deno.stderr, `echo-server: ${message}\n`);
    return code;
  }
  await using running = server;

  let exitCode: number = ServerExitCode.Ok;
  let draining = false;
  // When the first signal came, and which: a repeat within SAME_SIGNAL_MS is
  // one Ctrl-C delivered twice, not a second one. Ctrl-C reaches every
  // process of the terminal's foreground group, and `deno task` (like npm)
  // forwards it to its child too, so under `deno task server` each Ctrl-C
  // arrived twice (1 ms apart) and always forced the close.
  let first: { signal: Deno.Signal; at: number } | undefined;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => (): void => {
    const now = performance.now();
    if (
      first !== undefined && first.signal === signal &&
      now - first.at < SAME_SIGNAL_MS
    ) return;
    if (!draining) {
      draining = true;
      first = { signal, at: now };
      log(
        `${signal}: stopped accepting; waiting up to ${
          formatDuration(options.drainTimeout)
        } for ${running.connections} open connections (signal again to close them now)`,
      );
      running.shutdown();
      return;
    }
    exitCode = signal === "SIGINT"
      ? ServerExitCode.ForcedSigint
      : ServerExitCode.ForcedSigterm;
    log(`${signal} again: closing ${running.connections} connections now`);
    running.close();
  };
  const handlers = new Map<Deno.Signal, () => void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const handler = onSignal(signal);
    try {
      Deno.addSignalListener(signal, handler);
      handlers.set(signal, handler);
    } catch {
      // Not every platform has every signal (Windows lacks SIGTERM).
    }
  }
  // Announced only once the signal handlers are in place, so that a signal
  // sent as soon as the line is seen is handled, not fatal.
  const shared = running.listeners.some(({ transport }) =>
    transport === "tcp" || transport === "tls"
  );
  if (options.workers > 1 && shared) {
    log(
      `${options.workers} workers accept on each TCP and TLS listener (one isolate each)`,
    );
  }
  for (const { transport, addr, url } of running.listeners) {
    const shown = transport === "tcp" ? formatAddress(addr) : url;
    writeText(Deno.stdout, `Listening on ${shown}\n`);
  }
  try {
    await running.finished;
  } finally {
    for (const [signal, handler] of handlers) {
      Deno.removeSignalListener(signal, handler);
    }
  }
  for (const [url, stats] of running.udpStats) {
    const drops = Object.entries(stats.dropped)
      .filter(([, n]) => n > 0)
      .map(([why, n]) => `${n} ${why}`)
      .join(", ");
    log(
      `${url}: ${stats.echoedDatagrams} datagrams echoed; dropped: ${
        drops || "none"
      }`,
    );
  }
  log("stopped");
  return exitCode;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    writeText(
      Deno.stderr,
      `echo-server: unexpected error: ${errorText(error)}\n`,
    );
    Deno.exitCode = ServerExitCode.Failure;
  }
}
