// Copyright the deno-echo authors. MIT license.

// The three steps of echo-server: parse the command line, run the server
// until a signal stops it, report how it ended.

import {
  errorText,
  OutputError,
  UsageError,
  VERSION,
  writeOutput,
  writeText,
} from "./cli.ts";
import { parseServerArgs, type ServerArgs } from "./server_args.ts";
import {
  exitCode,
  outputFailure,
  type ServerOutcome,
  startFailure,
  type TlsFile,
  tlsFileFailure,
} from "./server_exit.ts";
import { SERVER_USAGE } from "./server_flags.ts";
import { announceListening, logStopped } from "./server_announce.ts";
import { EventLog } from "./server_log.ts";
import { closeLog, openLog } from "./server_log_output.ts";
import { watchSignals } from "./server_signals.ts";
import type { LogWriter } from "./log_writer.ts";
import { type MetricsServer, serveMetrics } from "../metrics/metrics_server.ts";
import { ServerMetrics } from "../metrics/server_metrics.ts";
import { failedListener } from "../server/listeners.ts";
import type {
  EchoServer,
  ServeOptions,
  ServerEvent,
  ServeTlsOptions,
} from "../server/types.ts";
import { serve } from "../workers/serve.ts";

/**
 * Reads the command line.
 *
 * @param args The arguments, without the program name.
 * @returns What to run with, or the outcome when there is nothing to run.
 */
export function parse(args: readonly string[]): ServerArgs | ServerOutcome {
  try {
    const parsed = parseServerArgs(args);
    return typeof parsed === "string" ? { type: parsed } : parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { type: "usage", message: error.message };
  }
}

/**
 * Runs the server until it has stopped: logs its events, drains on the
 * first signal, closes on the second. The log is written through a queue
 * that never blocks serving, flushed at the end with a deadline.
 *
 * @param args What to run with.
 * @returns How it ended.
 */
export async function run(args: ServerArgs): Promise<ServerOutcome> {
  let tls: ServeTlsOptions | undefined;
  if (args.certFile !== undefined && args.keyFile !== undefined) {
    // The file being read, for the message if it cannot be.
    let file: TlsFile = { flag: "--cert", path: args.certFile };
    try {
      const cert = await Deno.readTextFile(file.path);
      file = { flag: "--key", path: args.keyFile };
      const key = await Deno.readTextFile(file.path);
      tls = { cert, key, handshakeTimeout: args.handshakeTimeout };
      if (args.clientCaFile !== undefined) {
        file = { flag: "--client-ca", path: args.clientCaFile };
        tls.clientCa = await Deno.readTextFile(file.path);
      }
    } catch (error) {
      return { type: "tls-files", error, file };
    }
  }
  const output = openLog(args.logFormat);
  try {
    const outcome = await runServer(args, tls, output.writer);
    if (outcome.type === "stopped") logStopped(outcome.udpStats, outcome.drain);
    return outcome;
  } finally {
    await closeLog(output);
  }
}

/** {@linkcode run} once the TLS files are read and the log is open. */
async function runServer(
  args: ServerArgs,
  tls: ServeTlsOptions | undefined,
  writer: LogWriter,
): Promise<ServerOutcome> {
  const metrics = args.metrics === undefined ? undefined : new ServerMetrics({
    version: VERSION,
    logLinesDropped: () => writer.dropped,
  });
  let server: EchoServer | undefined;
  using events = new EventLog(args, () => server?.connections ?? 0);
  const onEvent = metrics === undefined
    ? events.onEvent
    : (event: ServerEvent): void => {
      metrics.observe(event);
      events.onEvent(event);
    };
  try {
    server = await serve({ ...serveOptions(args, tls), onEvent });
  } catch (error) {
    const spec = failedListener(error) ??
      { transport: "tcp", hostname: args.hostname, port: args.port };
    return { type: "start-failed", error, spec };
  }
  await using running = server;
  let scraper: MetricsServer | undefined;
  if (metrics !== undefined && args.metrics !== undefined) {
    metrics.attach(running);
    try {
      // Its failed accepts are logged and counted as the echo listeners' are.
      scraper = serveMetrics({
        ...args.metrics,
        metrics,
        onAcceptError: (error) => onEvent({ type: "accept-error", error }),
      });
    } catch (error) {
      running.close();
      return {
        type: "start-failed",
        error,
        spec: { transport: "tcp", ...args.metrics },
      };
    }
  }
  await using _scraper = scraper;
  using signals = watchSignals(running, args.drainTimeout);
  // Announced only once the signal handlers are in place, so that a signal
  // sent as soon as the line is seen is handled, not fatal.
  try {
    announceListening(running, args.workers, scraper?.addr);
  } catch (error) {
    if (!(error instanceof OutputError)) throw error;
    // Nobody can learn where it listens: stop (closed as the scope ends).
    return { type: "output-failed", error };
  }
  await running.finished;
  return {
    type: "stopped",
    forced: signals.forced,
    drain: await signals.drain,
    udpStats: running.udpStats,
  };
}

/** The options `serve()` is given, hooks apart. */
function serveOptions(
  args: ServerArgs,
  tls: ServeTlsOptions | undefined,
): ServeOptions {
  return {
    ...(args.listen.length > 0
      ? { listen: args.listen }
      : { hostname: args.hostname, port: args.port }),
    ...(tls === undefined ? {} : { tls }),
    udp: {
      ratePerSource: args.udpRate,
      burst: Math.max(1, args.udpRate * 2),
      maxDatagramSize: args.maxDatagram,
    },
    quitWord: args.quitWord,
    drainTimeout: args.drainTimeout,
    idleTimeout: args.idleTimeout,
    maxConnections: args.maxConnections,
    maxPerIp: args.maxPerIp,
    maxBytes: args.maxBytes,
    workers: args.workers,
    proxyProtocol: args.proxyProtocol,
    ...(args.proxyFrom.length > 0 ? { proxyFrom: args.proxyFrom } : {}),
    proxyHeaderTimeout: args.handshakeTimeout,
  };
}

/**
 * Says how the run ended, on stdout or stderr as befits it.
 *
 * @param outcome How it ended.
 * @returns The exit code.
 */
export function report(outcome: ServerOutcome): number {
  switch (outcome.type) {
    case "help":
    case "version":
      try {
        writeOutput(
          outcome.type === "help" ? SERVER_USAGE : `echo-server ${VERSION}\n`,
          `the ${outcome.type === "help" ? "usage" : "version"}`,
        );
      } catch (error) {
        if (!(error instanceof OutputError)) throw error;
        return report({ type: "output-failed", error });
      }
      break;
    case "usage":
      fail(`${outcome.message}\nTry 'echo-server --help' for usage.`);
      break;
    case "tls-files":
      fail(tlsFileFailure(outcome.error, outcome.file).message);
      break;
    case "start-failed":
      fail(startFailure(outcome.error, outcome.spec).message);
      break;
    case "stopped":
      // Logged by run(), through the log queue.
      break;
    case "output-failed":
      fail(outputFailure(outcome.error));
      break;
    case "crashed":
      fail(`unexpected error: ${errorText(outcome.error)}`);
      break;
  }
  return exitCode(outcome);
}

function fail(message: string): void {
  writeText(Deno.stderr, `echo-server: ${message}\n`);
}
