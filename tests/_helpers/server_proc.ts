// Copyright the deno-echo authors. MIT license.

// Starting `echo-server` and knowing it is ready: its `Listening on
// HOST:PORT` lines, parsed, are the readiness signal (never a fixed wait).

import {
  type Command,
  DEFAULT_TIMEOUT,
  type Proc,
  SERVER_COMMAND,
  spawn,
} from "./proc.ts";

/** A `Listening on HOST:PORT` line, parsed. */
export interface ListeningAddr extends Deno.NetAddr {
  /** The text after "Listening on ". */
  text: string;
}

const LISTENING = /^Listening on (\[([^\]]+)\]|[^\s:]+):([0-9]+)$/;

/** Parses the `Listening on` lines of a server's stdout. */
export function parseListening(stdout: string): ListeningAddr[] {
  const addrs: ListeningAddr[] = [];
  for (const line of stdout.split("\n")) {
    const match = LISTENING.exec(line);
    if (match === null) continue;
    addrs.push({
      transport: "tcp",
      hostname: match[2] ?? match[1]!,
      port: Number(match[3]),
      text: line.slice("Listening on ".length),
    });
  }
  return addrs;
}

/** Options for {@linkcode startServer}. */
export interface StartServerOptions {
  /**
   * How to launch the server.
   *
   * @default {SERVER_COMMAND}
   */
  command?: Command;
  /**
   * How many `Listening on` lines to wait for.
   *
   * @default {1}
   */
  listening?: number;
  /**
   * Bound on the wait for the `Listening on` lines, in milliseconds.
   *
   * @default {15000}
   */
  timeout?: number;
}

/** An `echo-server` process that has printed its `Listening on` lines. */
export interface ServerProc extends Proc {
  /** The addresses from the `Listening on` lines waited for. */
  readonly addrs: ListeningAddr[];
  /** The port of the first one. */
  readonly port: number;
}

/**
 * Starts `echo-server --port 0 ...args` and waits for its `Listening on`
 * lines. `await using` kills it if the test did not stop it.
 *
 * @throws {Error} With the captured output if the lines do not appear in
 * time or the server exits first.
 */
export async function startServer(
  args: readonly string[] = [],
  options: StartServerOptions = {},
): Promise<ServerProc> {
  const {
    command = SERVER_COMMAND,
    listening = 1,
    timeout = DEFAULT_TIMEOUT,
  } = options;
  const proc = spawn(command, ["--port", "0", ...args]);
  let stdout: string;
  try {
    stdout = await proc.waitFor(
      "stdout",
      (text) => parseListening(text).length >= listening,
      timeout,
    );
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
  const addrs = parseListening(stdout).slice(0, listening);
  return Object.assign(proc, { addrs, port: addrs[0]!.port });
}
