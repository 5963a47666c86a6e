// Copyright the deno-echo authors. MIT license.

// What `echo-client` prints when a run ends, and the exit code it ends with.

import type { ClientRunResult } from "./client_run.ts";
import {
  ClientExitCode,
  type ClientExitValue,
  failure,
  type FailureTarget,
} from "./client_exit.ts";
import { CLIENT_USAGE, CLIENT_VERSION_TEXT } from "./client_usage.ts";
import { UsageError, writeOutput, writeText } from "./cli.ts";

/**
 * Reports a bad command line, with a pointer to `--help`.
 *
 * @param error What parsing threw; anything but a `UsageError` is rethrown.
 * @param program The command, as the user typed it (`echo-client bench`).
 * @returns The exit code for a bad command line.
 */
export function reportUsageError(
  error: unknown,
  program = "echo-client",
): ClientExitValue {
  if (!(error instanceof UsageError)) throw error;
  writeText(
    Deno.stderr,
    `${program}: ${error.message}\nTry '${program} --help' for usage.\n`,
  );
  return ClientExitCode.Usage;
}

/**
 * Prints `--help` or `--version` to standard output.
 *
 * @param what Which.
 * @returns The exit code: success, or standard output failed.
 */
export function reportInfo(what: "help" | "version"): ClientExitValue {
  return what === "help"
    ? printInfo(CLIENT_USAGE, "the usage")
    : printInfo(CLIENT_VERSION_TEXT, "the version");
}

/** No connection is involved in a failure to print the usage. */
const NO_TARGET: FailureTarget = { hostname: "", port: 0 };

/**
 * Prints text such as a usage to standard output; a failure to write it
 * (other than a closed pipe) is reported.
 *
 * @param text What to print.
 * @param what What it is, for the message: `the usage`.
 * @param program The command, as the user typed it.
 * @returns The exit code: success, or standard output failed.
 */
export function printInfo(
  text: string,
  what: string,
  program = "echo-client",
): ClientExitValue {
  try {
    writeOutput(text, what);
  } catch (error) {
    return reportFailure(error, NO_TARGET, program);
  }
  return ClientExitCode.Ok;
}

/**
 * Reports a run that ended without an error: success, unless UDP lines got
 * no echo. A server that closed the session at its prompt is said so, and
 * is no failure: nothing was lost.
 *
 * @param result What was sent and lost.
 * @returns The exit code.
 */
export function reportRun(result: ClientRunResult): ClientExitValue {
  if (result.closedByServer !== undefined) {
    const { echoed } = result.closedByServer;
    writeText(
      Deno.stderr,
      `echo-client: Connection closed by the server (${echoed} ${
        echoed === 1 ? "byte" : "bytes"
      } echoed)\n`,
    );
  }
  if (result.lost === 0) return ClientExitCode.Ok;
  writeText(
    Deno.stderr,
    `echo-client: ${result.lost} of ${result.sent} lines got no echo ` +
      `(datagrams lost, even after retries)\n`,
  );
  return ClientExitCode.DatagramsLost;
}

/**
 * Reports a run that failed, in one line.
 *
 * @param error What the run threw.
 * @param target Where the client was going.
 * @param program The command, as the user typed it.
 * @returns The exit code for that failure.
 */
export function reportFailure(
  error: unknown,
  target: FailureTarget,
  program = "echo-client",
): ClientExitValue {
  if (error instanceof UsageError) {
    writeText(Deno.stderr, `${program}: ${error.message}\n`);
    return ClientExitCode.Usage;
  }
  const { message, code } = failure(error, target);
  // Ctrl-C: the editor has shown it and ended the line.
  if (code === ClientExitCode.Interrupted) return code;
  writeText(Deno.stderr, `${program}: ${message}\n`);
  return code;
}
