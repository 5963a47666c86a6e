// Copyright the deno-echo authors. MIT license.

// Where echo-server's log lines go: one LogWriter on stderr, so that a
// stderr nobody reads never stops the server, in text or in JSON lines.

import { writeText } from "./cli.ts";
import { DEFAULT_LOG_FLUSH_MS, type LogSink, LogWriter } from "./log_writer.ts";

/** The formats of `--log-format`. */
export const LOG_FORMATS = ["text", "json"] as const;

/** `--log-format`: `text` for people, `json` (one object a line) for tools. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How much a log entry matters. */
export type LogLevel = "info" | "warn" | "error";

/** The fields a JSON log line has besides `ts`, `level`, `event`, `message`. */
export type LogFields = Record<
  string,
  string | number | boolean | undefined
>;

/** One log entry: its line for people, and the same as fields for tools. */
export interface LogEntry {
  /** What happened, e.g. `open`, `close`, `listening`, `stopped`. */
  event: string;
  /** The text line (peer-controlled parts escaped), without a timestamp. */
  text: string;
  /** @default {"info"} */
  level?: LogLevel;
  /** Fields of the JSON line; `undefined` ones are left out. */
  fields?: LogFields;
}

// Code points JSON.stringify leaves as they are but a terminal or a log
// viewer may act on: DEL, C1 controls, invisible format characters,
// bidirectional overrides, line and paragraph separators.
const JSON_UNSAFE =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/**
 * One log entry as a line (without its newline).
 *
 * @param entry The entry.
 * @param format Text: `TIMESTAMP TEXT`; JSON: one object, every string
 * escaped (no control or invisible character is left raw).
 * @param now The timestamp.
 * @returns The line.
 */
export function formatEntry(
  entry: LogEntry,
  format: LogFormat,
  now: Date = new Date(),
): string {
  const ts = now.toISOString();
  if (format === "text") return `${ts} ${entry.text}`;
  const object: Record<string, string | number | boolean> = {
    ts,
    level: entry.level ?? "info",
    event: entry.event,
  };
  for (const [key, value] of Object.entries(entry.fields ?? {})) {
    if (value !== undefined) object[key] = value;
  }
  object.message = entry.text;
  return JSON.stringify(object).replace(
    JSON_UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The program's log: a {@linkcode LogWriter} on stderr and a format. */
export class LogOutput {
  /** The queue the lines go through; its `dropped` feeds the metrics. */
  readonly writer: LogWriter;
  /** The format of every line. */
  readonly format: LogFormat;

  /**
   * @param format The format of every line.
   * @param sink Where lines go.
   */
  constructor(format: LogFormat, sink: LogSink = Deno.stderr) {
    this.format = format;
    this.writer = new LogWriter(sink, {
      droppedLine: (dropped, name) =>
        formatEntry({
          event: "log-dropped",
          level: "warn",
          text: `... ${dropped} log ${
            dropped === 1 ? "line" : "lines"
          } dropped: ${name} is not being read`,
          fields: { dropped },
        }, format),
    });
  }

  /**
   * Queues one entry; never blocks.
   *
   * @param entry The entry.
   */
  write(entry: LogEntry): void {
    this.writer.line(formatEntry(entry, this.format));
  }
}

let current: LogOutput | undefined;

/**
 * Sends every later log entry to `output` until {@linkcode closeLog}.
 *
 * @param format The format of every line.
 * @param sink Where lines go.
 * @returns The output, installed.
 */
export function openLog(
  format: LogFormat,
  sink: LogSink = Deno.stderr,
): LogOutput {
  current = new LogOutput(format, sink);
  return current;
}

/**
 * Writes what is queued, waiting at most `timeoutMs`. When stderr does not
 * take it in time, a write to it stays pending and would keep the process
 * alive: the process then exits as soon as the caller has set its exit code
 * (on the next turn of the event loop).
 *
 * @param output What {@linkcode openLog} returned.
 * @param timeoutMs The deadline in milliseconds.
 * @returns Whether everything was written.
 */
export async function closeLog(
  output: LogOutput,
  timeoutMs: number = DEFAULT_LOG_FLUSH_MS,
): Promise<boolean> {
  const flushed = await output.writer.flush(timeoutMs);
  if (current === output) current = undefined;
  if (!flushed) setTimeout(() => Deno.exit(), 0);
  return flushed;
}

/**
 * Logs one entry: through the open output, or (before one is open, and
 * after) straight to stderr as text.
 *
 * @param entry The entry.
 */
export function logEntry(entry: LogEntry): void {
  if (current !== undefined) current.write(entry);
  else writeText(Deno.stderr, formatEntry(entry, "text") + "\n");
}

/** The open output's format (`text` when none is open). */
export function logFormat(): LogFormat {
  return current?.format ?? "text";
}
