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

/** Writes text to a stream completely and synchronously (log lines). */
export function writeText(
  file: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  const bytes = encoder.encode(text);
  try {
    for (let off = 0; off < bytes.length;) {
      off += file.writeSync(bytes.subarray(off));
    }
  } catch {
    // Nobody is reading (a closed pipe): nothing sensible to do.
  }
}

/** The text of an error, for a one-line message. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
