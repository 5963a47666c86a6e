// Copyright the deno-echo authors. MIT license.

// What the programs print, and the assertions on it shared by the files that
// run them: lines, server log lines, stack frames, usage errors, crashes and
// a clean stop.

import { assertEquals, assertMatch, assertNotMatch } from "@std/assert";
import { DEFAULT_TIMEOUT, type Proc, type ProcessResult } from "./proc.ts";

/** The stderr lines that look like a stack trace ("    at f (file:1:2)"). */
export function stackFrames(stderr: string): string[] {
  return stderr.split("\n").filter((line) => /^\s+at /.test(line));
}

/** The non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** A server log line pattern: ISO timestamp, then `rest` (a pattern). */
export function logLine(rest: string): RegExp {
  return new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z ${rest}$`, "m");
}

/** Asserts no uncaught error and no stack frame in a program's stderr. */
export function assertNoCrash(stderr: string): void {
  assertNotMatch(stderr, /Uncaught|panicked/);
  assertEquals(stackFrames(stderr), [], stderr);
}

/**
 * Asserts a usage error: exit 2, nothing on stdout, no crash, and on stderr
 * exactly a one-line message from `program` matching `message`, then the
 * --help hint.
 */
export function assertUsage(
  result: ProcessResult,
  program: "echo-server" | "echo-client",
  message: RegExp,
): void {
  assertEquals(result.code, 2, result.stderr);
  assertEquals(result.stdout, "");
  assertNoCrash(result.stderr);
  const [first, hint, ...rest] = lines(result.stderr);
  assertEquals(rest, [], result.stderr);
  assertMatch(first ?? "", new RegExp(`^${program}: \\S`));
  assertMatch(first ?? "", message);
  assertEquals(hint, `Try '${program} --help' for usage.`);
}

/**
 * Stops a server that should still be running with SIGTERM (waiting at most
 * `timeout` ms) and asserts a clean stop: exit 0, no crash or stack trace,
 * and the final "stopped" log line.
 */
export async function assertStopsCleanly(
  server: Proc,
  timeout: number = DEFAULT_TIMEOUT,
): Promise<ProcessResult> {
  assertEquals(server.exited, false, `server died:\n${server.stderr}`);
  const result = await server.stop("SIGTERM", timeout);
  assertNoCrash(result.stderr);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, logLine("stopped"));
  return result;
}
