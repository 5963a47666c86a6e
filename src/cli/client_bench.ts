// Copyright the deno-echo authors. MIT license.

// `echo-client bench`: the load generator, loaded only when asked for.

import { BENCH_EXIT_CODES, ClientExitCode } from "./client_exit.ts";
import { printInfo, reportFailure, reportUsageError } from "./client_report.ts";
import { writeText } from "./cli.ts";

const PROGRAM = "echo-client bench";

/**
 * Runs `echo-client bench ARGS`: parse, run, report.
 *
 * @param args The arguments after `bench`.
 * @returns The exit code.
 */
export async function benchMain(args: string[]): Promise<number> {
  const bench = await import("./bench_main.ts");
  if (args[0] === "report") return await bench.benchReportMain(args.slice(1));
  let options;
  try {
    options = bench.parseBenchArgs(args);
  } catch (error) {
    return reportUsageError(error, PROGRAM);
  }
  if (options === "help") {
    return printInfo(bench.BENCH_USAGE, "the usage", PROGRAM);
  }
  try {
    const result = await bench.runBenchCommand(options);
    const worst = bench.worstError(result.errors);
    if (worst === undefined) return ClientExitCode.Ok;
    writeText(Deno.stderr, `${PROGRAM}: ${result.firstError}\n`);
    return BENCH_EXIT_CODES[worst];
  } catch (error) {
    return reportFailure(error, options, PROGRAM);
  }
}
