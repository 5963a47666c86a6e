// Copyright the deno-echo authors. MIT license.

// `echo-client ping`: parse, run until -c or Ctrl-C, print, exit.

import { type PingOptions, type PingSummary, runPing } from "../client/ping.ts";
import { describeProxy } from "../client/proxy_url.ts";
import { formatAddress } from "../net/address.ts";
import { writeOutput } from "./cli.ts";
import { ClientExitCode, type ClientExitValue } from "./client_exit.ts";
import { printInfo, reportFailure, reportUsageError } from "./client_report.ts";
import { tlsDialOptions } from "./client_run.ts";
import { parsePingArgs, type PingArgs } from "./ping_args.ts";
import {
  linkJson,
  linkLine,
  type PingHeader,
  probeJson,
  probeLine,
  summaryJson,
  summaryText,
} from "./ping_report.ts";
import { PING_USAGE } from "./ping_usage.ts";

const PROGRAM = "echo-client ping";
const SUMMARY = "the ping summary";

/** The signals that end a ping with its summary. */
const STOP_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM"];

/**
 * Runs `echo-client ping ARGS`.
 *
 * @param args The arguments after `ping`.
 * @returns The exit code.
 */
export async function pingMain(args: string[]): Promise<number> {
  let parsed: PingArgs | "help";
  try {
    parsed = parsePingArgs(args);
  } catch (error) {
    return reportUsageError(error, PROGRAM);
  }
  if (parsed === "help") return printInfo(PING_USAGE, "the usage", PROGRAM);
  const command = parsed;
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  for (const signal of STOP_SIGNALS) Deno.addSignalListener(signal, onSignal);
  try {
    const options = await pingOptions(command, stop.signal);
    const summary = await runPing(options, printer(command));
    return report(summary, command);
  } catch (error) {
    return reportFailure(error, command, PROGRAM);
  } finally {
    for (const signal of STOP_SIGNALS) {
      Deno.removeSignalListener(signal, onSignal);
    }
  }
}

/** The command line as options for `runPing`. */
async function pingOptions(
  args: PingArgs,
  signal: AbortSignal,
): Promise<PingOptions> {
  const tls = args.transport === "tls" ? await tlsDialOptions(args) : {};
  return {
    transport: args.transport,
    hostname: args.hostname,
    port: args.port,
    path: args.path,
    ...(args.family === undefined ? {} : { family: args.family }),
    count: args.count,
    interval: args.interval,
    size: args.size,
    wait: args.wait,
    connectTimeout: args.connectTimeout,
    newConnection: args.newConnection,
    ...tls,
    ...(args.proxy === undefined ? {} : { proxy: args.proxy }),
    ...(args.source === undefined ? {} : { source: args.source }),
    ...(args.proxyHeader === undefined
      ? {}
      : { proxyHeader: args.proxyHeader }),
    signal,
  };
}

/** The hooks that print each probe and each change of the connection. */
function printer(args: PingArgs): Parameters<typeof runPing>[1] {
  const line = (text: string): void =>
    writeOutput(`${text}\n`, "the ping results");
  const json = (value: unknown): void => line(JSON.stringify(value));
  if (args.json) {
    return {
      onProbe: (probe) => json(probeJson(probe)),
      onLink: (event) => json(linkJson(event)),
    };
  }
  if (args.quiet) return {};
  const header = pingHeader(args);
  return {
    onProbe: (probe) => line(probeLine(probe, args.wait)),
    onLink: (event) => line(linkLine(event, header)),
  };
}

function targetName(args: PingArgs): string {
  return args.transport === "unix"
    ? `unix:${args.path}`
    : formatAddress({ hostname: args.hostname, port: args.port });
}

function pingHeader(args: PingArgs): PingHeader {
  const via = args.proxy === undefined
    ? ""
    : ` via ${describeProxy(args.proxy)}`;
  const how = args.newConnection ? ", a new connection each" : "";
  return {
    target: targetName(args),
    details: `${args.size} bytes over ${args.transport}${via}${how}`,
  };
}

/** Prints the summary and picks the exit code. */
function report(summary: PingSummary, args: PingArgs): ClientExitValue {
  if (args.json) {
    writeOutput(`${JSON.stringify(summaryJson(summary))}\n`, SUMMARY);
  } else {
    writeOutput(`\n${summaryText(summary)}`, SUMMARY);
  }
  if (summary.wrong > 0) return ClientExitCode.Mismatch;
  if (summary.lost > 0) return ClientExitCode.PingLost;
  return ClientExitCode.Ok;
}
