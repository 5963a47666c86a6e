// Copyright the deno-echo authors. MIT license.

// Running `echo-server` and `echo-client` as real processes: how they are
// launched, a running program whose output is read in the background and can
// be waited on, and running one to completion. Output is always consumed and
// the exit always awaited (the sanitizers check).

import { toBytes } from "@std/streams";
import { fileURLToPath } from "node:url";
import { Capture, type TextTest } from "./capture.ts";
import { type Input, inputBytes } from "./util.ts";

/** The argv prefix that launches a program; test arguments follow it. */
export type Command = readonly string[];

/** What a finished process left behind. */
export interface ProcessResult {
  /** The exit code (128 + n when killed by signal n). */
  code: number;
  /** The signal that ended it, if one did. */
  signal: Deno.Signal | null;
  /** Everything it wrote to stdout. */
  stdoutBytes: Uint8Array;
  /** stdout as text. */
  stdout: string;
  /** Everything it wrote to stderr, as text. */
  stderr: string;
}

/** Absolute path of a file in the project root. */
export function projectPath(name: string): string {
  return fileURLToPath(new URL(`../../${name}`, import.meta.url));
}

/** The project root (where deno.json is). */
export const PROJECT_ROOT: string = projectPath("");

/** `deno run --allow-net <script>`: how the tests run a program by default. */
export function denoRun(script: string): Command {
  return [Deno.execPath(), "run", "--allow-net", projectPath(script)];
}

function commandFromEnv(name: string, fallback: Command): Command {
  const value = Deno.env.get(name);
  return value === undefined || value === "" ? fallback : [value];
}

/** How the tests launch the server unless told otherwise. */
export const SERVER_COMMAND: Command = commandFromEnv(
  "ECHO_SERVER_BIN",
  denoRun("server.ts"),
);

/** How the tests launch the client unless told otherwise. */
export const CLIENT_COMMAND: Command = commandFromEnv(
  "ECHO_CLIENT_BIN",
  denoRun("client.ts"),
);

/** Default bound on any wait for a process, in milliseconds. */
export const DEFAULT_TIMEOUT = 15_000;

/** Options for {@linkcode spawn}. */
export interface SpawnOptions {
  /** Give the process a writable stdin (else it gets null). */
  stdin?: boolean;
}

/**
 * A running program whose stdout and stderr are read in the background.
 * `await using` kills it (SIGKILL) if it still runs and awaits its exit.
 */
export class Proc implements AsyncDisposable {
  readonly argv: readonly string[];
  readonly #child: Deno.ChildProcess;
  readonly #stdout: Capture;
  readonly #stderr: Capture;
  /** Settles with all of stdout once both streams have ended. */
  readonly #output: Promise<Uint8Array>;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #exited = false;

  constructor(
    command: Command,
    args: readonly string[],
    options: SpawnOptions = {},
  ) {
    const [program, ...prefix] = command;
    if (program === undefined) throw new TypeError("Empty command");
    this.argv = [...command, ...args];
    this.#child = new Deno.Command(program, {
      args: [...prefix, ...args],
      cwd: PROJECT_ROOT,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = options.stdin ? this.#child.stdin.getWriter() : undefined;
    this.#status = this.#child.status.then((status) => {
      this.#exited = true;
      return status;
    });
    const report = (why: string): Error => this.#error(why);
    this.#stdout = new Capture("stdout", report);
    this.#stderr = new Capture("stderr", report);
    // stdout twice: as bytes, collected whole, and as text, read as it comes.
    const [stdoutBytes, stdoutText] = this.#child.stdout.tee();
    this.#output = Promise.all([
      toBytes(stdoutBytes),
      this.#stdout.pump(stdoutText),
      this.#stderr.pump(this.#child.stderr),
    ]).then(([bytes]) => bytes);
  }

  #error(why: string): Error {
    return new Error(
      `${why}\ncommand: ${this.argv.join(" ")}\n` +
        `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`,
    );
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** stdout so far, as text. */
  get stdout(): string {
    return this.#stdout.text;
  }

  /** stderr so far, as text. */
  get stderr(): string {
    return this.#stderr.text;
  }

  /**
   * Waits until the captured text of a stream satisfies `test` (a substring,
   * a pattern, or a function of the text); resolves with the text.
   *
   * @throws {Error} With the captured output, after `timeout` ms or once the
   * stream ended without a match.
   */
  waitFor(
    stream: "stdout" | "stderr",
    test: TextTest,
    timeout: number = DEFAULT_TIMEOUT,
  ): Promise<string> {
    const capture = stream === "stdout" ? this.#stdout : this.#stderr;
    return capture.waitFor(test, timeout);
  }

  /** Writes to stdin (spawned with `stdin: true`). */
  async write(input: Input): Promise<void> {
    if (this.#stdin === undefined) throw new TypeError("stdin is not piped");
    await this.#stdin.write(inputBytes(input));
  }

  /**
   * Closes stdin. Quietly does nothing more when the program has stopped
   * reading (a broken pipe is not the test's concern).
   */
  async closeStdin(): Promise<void> {
    await this.#stdin?.close().catch(() => {});
  }

  /** Sends a signal, unless the process has already exited. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch (error) {
      // It exited between the check and the kill.
      if (!(error instanceof TypeError)) throw error;
    }
  }

  /**
   * Waits for the process to exit and its output to end.
   *
   * @throws {Error} With the captured output if it runs longer than
   * `timeout` ms (it is then killed).
   */
  async wait(timeout: number = DEFAULT_TIMEOUT): Promise<ProcessResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeout);
    });
    try {
      const first = await Promise.race([this.#status, timedOut]);
      if (first === "timeout") {
        this.kill("SIGKILL");
        await this.#settle();
        throw this.#error(`Still running after ${timeout} ms`);
      }
    } finally {
      clearTimeout(timer);
    }
    return await this.#settle();
  }

  async #settle(): Promise<ProcessResult> {
    await this.closeStdin();
    const status = await this.#status;
    const stdoutBytes = await this.#output;
    return {
      code: status.code,
      signal: status.signal,
      stdoutBytes,
      stdout: this.#stdout.text,
      stderr: this.#stderr.text,
    };
  }

  /** Sends `signal` and waits for the exit (bounded by `timeout`). */
  async stop(
    signal: Deno.Signal = "SIGTERM",
    timeout: number = DEFAULT_TIMEOUT,
  ): Promise<ProcessResult> {
    this.kill(signal);
    return await this.wait(timeout);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.#settle();
  }
}

/** Starts a program with the given argv prefix and arguments. */
export function spawn(
  command: Command,
  args: readonly string[],
  options: SpawnOptions = {},
): Proc {
  return new Proc(command, args, options);
}

/**
 * Runs a program to completion, with `stdin` piped in (or no stdin at all).
 *
 * @throws {Error} With the captured output if it runs longer than `timeout`.
 */
export async function run(
  command: Command,
  args: readonly string[],
  stdin?: Input,
  timeout: number = DEFAULT_TIMEOUT,
): Promise<ProcessResult> {
  await using proc = spawn(command, args, { stdin: stdin !== undefined });
  if (stdin !== undefined) {
    // The program may stop reading early (after the quit word, or on an
    // error): a write that fails then is expected.
    const writing = proc.write(stdin).then(() => proc.closeStdin()).catch(
      () => {},
    );
    const result = await proc.wait(timeout);
    await writing;
    return result;
  }
  return await proc.wait(timeout);
}

/** Runs `echo-client` with `args`, feeding it `stdin`. */
export function runClient(
  args: readonly string[],
  stdin: Input = "",
  command: Command = CLIENT_COMMAND,
): Promise<ProcessResult> {
  return run(command, args, stdin);
}

/** Runs `echo-server` with `args` to completion (for bad arguments, --help). */
export function runServer(
  args: readonly string[],
  command: Command = SERVER_COMMAND,
): Promise<ProcessResult> {
  return run(command, args);
}
