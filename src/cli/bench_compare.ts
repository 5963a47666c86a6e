// Copyright the deno-echo authors. MIT license.

// `echo-client bench report RUN.json... -o FILE.html`: saved runs drawn
// into one HTML report, overlaid for comparison.

import { basename } from "@std/path/basename";
import { type FlagSpec, parseFlags } from "./args.ts";
import { errorText, UsageError } from "./cli.ts";
import type { ChartRun } from "./bench_charts.ts";
import { renderReport } from "./bench_html.ts";
import { parseBenchJson } from "./bench_json.ts";

const REPORT_FLAGS = {
  output: { type: "string", short: "o" },
  title: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Record<string, FlagSpec>;

/** A parsed `echo-client bench report` command line. */
export interface ReportArgs {
  /** The saved runs, in the order given. */
  files: string[];
  /** Where the report goes. */
  output: string;
  /** `--title`, if given. */
  title: string | undefined;
}

/**
 * Parses the arguments after `bench report`.
 *
 * @throws {UsageError} For anything unknown or missing.
 */
export function parseReportArgs(args: readonly string[]): ReportArgs | "help" {
  const { values, positionals } = parseFlags({
    args,
    options: REPORT_FLAGS,
    allowPositionals: true,
  });
  if (values.help) return "help";
  if (positionals.length === 0) {
    throw new UsageError("Expected one or more saved runs (RUN.json)");
  }
  if (values.output === undefined || values.output === "") {
    throw new UsageError("Expected -o FILE.html: where to write the report");
  }
  return { files: positionals, output: values.output, title: values.title };
}

/**
 * The label of each file: its name without `.json`, or the whole path
 * where two files share a name.
 */
export function runLabels(files: readonly string[]): string[] {
  const names = files.map((file) => basename(file).replace(/\.json$/i, ""));
  return names.map((name, i) =>
    names.indexOf(name) === names.lastIndexOf(name) ? name : files[i]!
  );
}

/**
 * Reads the saved runs and writes the report.
 *
 * @throws {UsageError} If a file cannot be read or is not a saved run.
 * @throws Whatever writing the report throws.
 */
export async function runReportCommand(args: ReportArgs): Promise<void> {
  const labels = runLabels(args.files);
  const runs: ChartRun[] = [];
  for (const [i, file] of args.files.entries()) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      throw new UsageError(`Cannot read ${file}: ${errorText(error)}`);
    }
    try {
      runs.push({ label: labels[i]!, run: parseBenchJson(text, file) });
    } catch (error) {
      throw new UsageError(errorText(error));
    }
  }
  await Deno.writeTextFile(
    args.output,
    renderReport(runs, args.title === undefined ? {} : { title: args.title }),
  );
}
