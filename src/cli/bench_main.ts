// Copyright the deno-echo authors. MIT license.

// `echo-client bench`: parse (bench_args.ts), run with a live progress line,
// report (bench_report.ts, bench_json.ts, bench_html.ts). Not part of the
// library; client_bench.ts maps the outcome to exit codes.

import { dirname } from "@std/path/dirname";
import { formatAddress } from "../net/address.ts";
import {
  type BenchErrors,
  type BenchOptions,
  type BenchProgress,
  type BenchResult,
  runBench,
} from "../bench/bench.ts";
import {
  errorText,
  OutputError,
  UsageError,
  writeOutput,
  writeText,
} from "./cli.ts";
import type { BenchArgs } from "./bench_args.ts";
import { renderReport } from "./bench_html.ts";
import { benchJson, describeTarget } from "./bench_json.ts";
import { parseReportArgs, runReportCommand } from "./bench_compare.ts";
import { BENCH_REPORT_USAGE } from "./bench_usage.ts";
import { ClientExitCode } from "./client_exit.ts";
import { printInfo, reportUsageError } from "./client_report.ts";
import {
  formatHistogram,
  formatLatency,
  formatNumber,
  formatReport,
  formatSeconds,
} from "./bench_report.ts";

export { BENCH_USAGE, type BenchArgs, parseBenchArgs } from "./bench_args.ts";

/** The kinds of failure, the most telling first (for the exit code). */
const SEVERITY: readonly (keyof BenchErrors)[] = [
  "mismatches",
  "closedEarly",
  "resets",
  "timeouts",
  "overruns",
  "lost",
  "other",
];

/** The most telling kind of failure in a run, if any. */
export function worstError(
  errors: BenchErrors,
): keyof BenchErrors | undefined {
  return SEVERITY.find((kind) => errors[kind] > 0);
}

/**
 * The progress line: the phase (warm-up, measuring, draining), then round
 * trips a second, p99 and errors so far.
 *
 * @param target Where the load goes, as people write it.
 * @param duration The measurement's length in ms, or 0 for a `--messages` run.
 * @param p The run's progress.
 */
export function formatProgress(
  target: string,
  duration: number,
  p: BenchProgress,
): string {
  const phase = p.phase === "warmup"
    ? `warm-up, ${formatSeconds(Math.max(0, -p.elapsed))} left`
    : p.phase === "drain"
    ? "draining (waiting for the last echoes)"
    : `measuring ${formatSeconds(Math.max(0, p.elapsed))}${
      duration > 0 ? ` / ${formatSeconds(duration)}` : ""
    }`;
  return `${target}: ${phase}, ${
    formatNumber(p.roundTripsPerSecond)
  } round trips/s, p99 ${formatLatency(p.p99)}, ${p.errors} error(s)`;
}

/**
 * Where a command line sends the load, as people write it (for the progress
 * line): `HOST:PORT`, `tls://HOST:PORT`, `udp://HOST:PORT`, `unix:PATH`.
 */
export function commandTarget(
  args: Pick<BenchArgs, "transport" | "hostname" | "port" | "path">,
): string {
  if (args.transport === "unix") return `unix:${args.path}`;
  const hostPort = formatAddress({ hostname: args.hostname, port: args.port });
  return args.transport === "tcp"
    ? hostPort
    : `${args.transport}://${hostPort}`;
}

/**
 * Runs the benchmark a command line asks for, with a progress line on stderr
 * when it is a terminal, prints the report (or JSON) on stdout, and writes
 * the HTML report when asked.
 *
 * @returns The result, for the exit code.
 * @throws {UsageError} If a certificate cannot be read, or the report's
 * folder does not exist (both before any load is sent).
 * @throws {OutputError} If standard output failed other than by a closed
 * pipe (after the HTML report is written).
 */
export async function runBenchCommand(args: BenchArgs): Promise<BenchResult> {
  if (args.report !== undefined) await checkFolder(args.report);
  const options = await benchOptions(args);
  const live = Deno.stderr.isTerminal();
  const target = commandTarget(args);
  const duration = args.messages > 0 ? 0 : args.duration;
  const onProgress = (p: BenchProgress): void => {
    writeText(
      Deno.stderr,
      `\r${formatProgress(target, duration, p)}\x1b[K`,
    );
  };
  let result: BenchResult;
  try {
    result = await runBench({ ...options, ...(live ? { onProgress } : {}) });
  } finally {
    if (live) writeText(Deno.stderr, "\r\x1b[K");
  }
  const json = benchJson(result);
  let unwritten: OutputError | undefined;
  try {
    writeOutput(
      args.json
        ? JSON.stringify(json) + "\n"
        : formatReport(result) + "\n" + formatHistogram(result.latency),
      "the results",
    );
  } catch (error) {
    if (!(error instanceof OutputError)) throw error;
    // The HTML report is still written: it may be all that is kept.
    unwritten = error;
  }
  if (args.report !== undefined) {
    const html = renderReport([{ label: describeTarget(result), run: json }]);
    await Deno.writeTextFile(args.report, html);
    if (live) writeText(Deno.stderr, `Report written to ${args.report}\n`);
  }
  if (unwritten !== undefined) throw unwritten;
  return result;
}

/** The library's options for a command line (reads the PEM files). */
async function benchOptions(args: BenchArgs): Promise<BenchOptions> {
  const tls = args.transport !== "tls" ? {} : {
    tls: {
      ...(args.caFiles.length > 0
        ? {
          caCerts: await Promise.all(
            args.caFiles.map((file) => readPem(file, "CA certificate")),
          ),
        }
        : {}),
      unsafelyDisableHostnameVerification: args.insecure,
      ...(args.certFile !== undefined && args.keyFile !== undefined
        ? {
          clientCert: {
            cert: await readPem(args.certFile, "client certificate"),
            key: await readPem(args.keyFile, "client key"),
          },
        }
        : {}),
    },
  };
  return {
    transport: args.transport,
    ...(args.transport === "unix" ? { path: args.path } : {}),
    ...tls,
    ...(args.proxy === undefined ? {} : { proxy: args.proxy }),
    ...(args.source === undefined ? {} : { source: args.source }),
    hostname: args.hostname,
    port: args.port,
    ...(args.family === undefined ? {} : { family: args.family }),
    connectTimeout: args.connectTimeout,
    readTimeout: args.readTimeout,
    lossTimeout: args.lossTimeout,
    connections: args.connections,
    size: args.size,
    duration: args.duration,
    messages: args.messages,
    rate: args.rate,
    ...(args.rate > 0
      ? { maxInFlight: args.pipeline }
      : { pipeline: args.pipeline }),
    warmup: args.warmup,
  };
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    throw new UsageError(
      `Cannot read the ${what} ${file}: ${errorText(error)}`,
    );
  }
}

/** Fails early, before a long run, when the report could not be written. */
async function checkFolder(file: string): Promise<void> {
  const folder = dirname(file);
  let isDirectory = false;
  try {
    isDirectory = (await Deno.stat(folder)).isDirectory;
  } catch {
    // Reported below.
  }
  if (!isDirectory) {
    throw new UsageError(
      `Invalid --report "${file}": no folder "${folder}" to write it in`,
    );
  }
}

/**
 * Runs `echo-client bench report ARGS`: saved runs into one HTML report.
 *
 * @param args The arguments after `bench report`.
 * @returns The exit code: 0 written, 1 not written, 2 bad command line or
 * input file.
 */
export async function benchReportMain(args: string[]): Promise<number> {
  const program = "echo-client bench report";
  try {
    const parsed = parseReportArgs(args);
    if (parsed === "help") {
      return printInfo(BENCH_REPORT_USAGE, "the usage", program);
    }
    await runReportCommand(parsed);
    return ClientExitCode.Ok;
  } catch (error) {
    if (error instanceof UsageError) return reportUsageError(error, program);
    writeText(
      Deno.stderr,
      `${program}: Cannot write the report: ${errorText(error)}\n`,
    );
    return ClientExitCode.Failure;
  }
}
