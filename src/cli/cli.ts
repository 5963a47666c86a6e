// Copyright the deno-echo authors. MIT license.

// Helpers shared by the two command-line programs (not part of the library).

import denoJson from "../../deno.json" with { type: "json" };
import { MAX_TIMEOUT } from "../net/duration.ts";

/** The version both programs report. */
export const VERSION: string = denoJson.version;

/** A mistake in the command line: the program prints it and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * Parses a duration: `250ms`, `5s`, `2m`, or a number of seconds (`1.5`),
 * at most 2^31 - 1 ms (about 24.8 days, the longest a timer waits).
 *
 * @returns Milliseconds.
 */
export function parseDuration(text: string, option: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(text);
  if (!match) {
    throw new UsageError(
      `Invalid ${option} "${text}": expected a duration such as 500ms, 5s, 2m or 1.5 (seconds)`,
    );
  }
  const ms = Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
  if (!(ms <= MAX_TIMEOUT)) {
    throw new UsageError(
      `Invalid ${option} "${text}": at most 35791m (${MAX_TIMEOUT} ms, about 24.8 days)`,
    );
  }
  return ms;
}

/**
 * Parses a count or size limit: a whole number, 0 or more, with an optional
 * binary suffix for sizes (`64K`, `10M`, `1G`).
 */
export function parseCount(
  text: string,
  option: string,
  sizes = false,
): number {
  const match = sizes
    ? /^([0-9]{1,15})([KMG]?)$/i.exec(text)
    : /^([0-9]{1,15})()$/.exec(text);
  if (!match) {
    throw new UsageError(
      `Invalid ${option} "${text}": expected a whole number, 0 or more${
        sizes ? " (K, M or G may follow)" : ""
      }`,
    );
  }
  const scale = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[
    match[2]!.toUpperCase() as "" | "K" | "M" | "G"
  ];
  return Number(match[1]) * scale;
}

/** Formats milliseconds for people: `850 ms`, `1.3 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const encoder = new TextEncoder();

/** A file that can be written synchronously: stdout, stderr. */
export interface SyncWriter {
  /** Writes some of `p`; returns how much. */
  writeSync(p: Uint8Array): number;
}

function writeAllSync(file: SyncWriter, text: string): void {
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) {
    off += file.writeSync(bytes.subarray(off));
  }
}

/** Writes text to a stream completely and synchronously (log lines). */
export function writeText(file: SyncWriter, text: string): void {
  try {
    writeAllSync(file, text);
  } catch {
    // Nobody is reading (a closed pipe), or stderr itself is unwritable:
    // there is nowhere left to say so.
  }
}

/**
 * Standard output could not be written, for a reason other than a reader
 * that went away (a full disk, an I/O error): what was written is
 * incomplete, so the program fails rather than report success.
 */
export class OutputError extends Error {
  override name = "OutputError";
  /** What was being written: `the echo`, `the usage`. */
  readonly what: string;

  /**
   * @param what What was being written, for the message.
   * @param cause The error the write failed with.
   */
  constructor(what: string, cause: unknown) {
    super(`Cannot write ${what} to standard output: ${errorText(cause)}`, {
      cause,
    });
    this.what = what;
  }

  /** What to do about it, in one sentence. */
  get hint(): string {
    const code = (this.cause as { code?: unknown } | null)?.code;
    return code === "ENOSPC" || code === "EDQUOT"
      ? "Free some space, or write the output elsewhere"
      : "Check where standard output goes, or write the output elsewhere";
  }
}

/**
 * Whether a write failed because nobody reads the output any more (a
 * closed pipe, as with `| head -1`): the one write failure that is no
 * error, as for `cat`.
 */
export function isReaderGone(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe;
}

/**
 * Writes text to standard output (or `file`) completely and synchronously.
 * A reader that went away is ignored, as {@linkcode writeText} does.
 *
 * @param text What to write.
 * @param what What it is, for the message: `the usage`, `the report`.
 * @param file Where it goes.
 * @throws {OutputError} If the write failed otherwise (a full disk).
 */
export function writeOutput(
  text: string,
  what: string,
  file: SyncWriter = Deno.stdout,
): void {
  try {
    writeAllSync(file, text);
  } catch (error) {
    if (!isReaderGone(error)) throw new OutputError(what, error);
  }
}

/** A stream to standard output that remembers how a write failed. */
export interface GuardedOutput {
  /** Write here. */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * The first write failure that was not a reader going away, once one
   * happened.
   */
  readonly error: OutputError | undefined;
}

/**
 * Wraps an output stream: a write that fails because the reader went away
 * fails as it did; any other failure fails with an {@linkcode OutputError}
 * that {@linkcode GuardedOutput.error} keeps, for a session that stops
 * quietly once its output fails.
 *
 * @param target Standard output's stream, say; written, never closed.
 * @param what What goes there, for the message: `the echo`.
 * @returns The stream to write to, and the failure once there is one.
 */
export function guardOutput(
  target: WritableStream<Uint8Array>,
  what: string,
): GuardedOutput {
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let failed: OutputError | undefined;
  const writable = new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      writer ??= target.getWriter();
      try {
        await writer.write(chunk);
      } catch (error) {
        if (isReaderGone(error)) throw error;
        failed ??= new OutputError(what, error);
        throw failed;
      }
    },
  });
  return {
    writable,
    get error(): OutputError | undefined {
      return failed;
    },
  };
}

/** The text of an error, for a one-line message. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
