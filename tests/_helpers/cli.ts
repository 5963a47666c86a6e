// Copyright the deno-echo authors. MIT license.

// Helpers for the command-line tests: run `echo-server` and `echo-client` as
// real processes, wait for what they print (never for a fixed time), and
// always consume their output and await their exit (the sanitizers check).
//
// The programs are launched with an argv prefix (`Command`): by default
// `deno run --allow-net server.ts` / `client.ts`. Pass another prefix, such
// as `["/tmp/x/echo-server"]`, to run the same checks against a compiled
// binary, or set ECHO_SERVER_BIN / ECHO_CLIENT_BIN to re-run whole suites
// against binaries.
//
// Also here: reading and writing a client connection, and the assertions
// shared by the files that run the programs (usage errors, crashes, log
// lines, a clean stop). Generic helpers are in ./_util.ts.

import { concat } from "@std/bytes";
import { assertEquals, assertMatch, assertNotMatch } from "@std/assert";
import { fileURLToPath } from "node:url";
import { within } from "./util.ts";

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

const encoder = new TextEncoder();

/** Input for a process: bytes or text (sent as UTF-8). */
export type Input = Uint8Array | string;

function toBytes(input: Input): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}

/** Everything a stream has produced so far, as bytes and as text. */
class Capture {
  readonly chunks: Uint8Array[] = [];
  text = "";
  ended = false;
  readonly #decoder = new TextDecoder();

  add(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.text += this.#decoder.decode(chunk, { stream: true });
  }

  end(): void {
    this.text += this.#decoder.decode();
    this.ended = true;
  }

  bytes(): Uint8Array {
    return concat(this.chunks);
  }
}

interface Waiter {
  readonly capture: Capture;
  check(): boolean;
  fail(error: Error): void;
}

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
  readonly #stdout = new Capture();
  readonly #stderr = new Capture();
  readonly #pumps: Promise<void>;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly #waiters = new Set<Waiter>();
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
    this.#pumps = Promise.all([
      this.#pump(this.#child.stdout, this.#stdout, "stdout"),
      this.#pump(this.#child.stderr, this.#stderr, "stderr"),
    ]).then(() => {});
  }

  async #pump(
    stream: ReadableStream<Uint8Array>,
    capture: Capture,
    name: string,
  ): Promise<void> {
    try {
      for await (const chunk of stream) {
        capture.add(chunk);
        this.#check();
      }
    } finally {
      capture.end();
      for (const waiter of this.#waiters) {
        if (waiter.capture === capture && !waiter.check()) {
          waiter.fail(this.#error(`${name} ended without a match`));
        }
      }
    }
  }

  #check(): void {
    for (const waiter of this.#waiters) waiter.check();
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
    test: string | RegExp | ((text: string) => boolean),
    timeout: number = DEFAULT_TIMEOUT,
  ): Promise<string> {
    const capture = stream === "stdout" ? this.#stdout : this.#stderr;
    const matches = typeof test === "string"
      ? (text: string) => text.includes(test)
      : test instanceof RegExp
      ? (text: string) => test.test(text)
      : test;
    return new Promise<string>((resolve, reject) => {
      const waiter: Waiter = {
        capture,
        check: () => {
          if (!matches(capture.text)) return false;
          done();
          resolve(capture.text);
          return true;
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(
        () =>
          waiter.fail(
            this.#error(
              `Timed out after ${timeout} ms waiting for ${stream} to match ${
                String(test)
              }`,
            ),
          ),
        timeout,
      );
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
      if (waiter.check()) return;
      if (capture.ended) {
        waiter.fail(
          this.#error(`${stream} ended without matching ${String(test)}`),
        );
      }
    });
  }

  /** Writes to stdin (spawned with `stdin: true`). */
  async write(input: Input): Promise<void> {
    if (this.#stdin === undefined) throw new TypeError("stdin is not piped");
    await this.#stdin.write(toBytes(input));
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
    await this.#pumps;
    return {
      code: status.code,
      signal: status.signal,
      stdoutBytes: this.#stdout.bytes(),
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
    const bytes = toBytes(stdin);
    const writing = proc.write(bytes).then(() => proc.closeStdin()).catch(
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

/** Connects to a server address, `using`-ready. */
export function connectTo(
  addr: { hostname: string; port: number },
): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: addr.hostname, port: addr.port });
}

/** Writes all of `data` (writes may be partial). */
export async function writeAll(conn: Deno.Conn, data: Input): Promise<void> {
  const bytes = toBytes(data);
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

/** Reads exactly `n` bytes; throws if the stream ends first. */
export async function readExactly(
  conn: Deno.Conn,
  n: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let offset = 0; offset < n;) {
    const got = await conn.read(out.subarray(offset));
    if (got === null) {
      throw new Error(`Connection ended after ${offset} of ${n} bytes`);
    }
    offset += got;
  }
  return out;
}

/** Reads until end of stream; returns everything read. */
export async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const got = await conn.read(buffer);
    if (got === null) return concat(chunks);
    chunks.push(buffer.slice(0, got));
  }
}

/** Whether an error means the peer closed or reset the connection. */
export function isConnectionClosed(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected;
}

/** Reads until end of stream; a reset counts as the end. */
export async function readUntilClosed(conn: Deno.Conn): Promise<Uint8Array> {
  try {
    return await readToEnd(conn);
  } catch (error) {
    if (isConnectionClosed(error)) return new Uint8Array();
    throw error;
  }
}

/**
 * Sends `data`, half-closes, and returns everything echoed until the server
 * closes (sending and receiving at once, so large data cannot deadlock).
 */
export async function roundTrip(
  conn: Deno.TcpConn,
  data: Input,
): Promise<Uint8Array> {
  const [, echoed] = await Promise.all([
    writeAll(conn, data).then(() => conn.closeWrite()),
    readToEnd(conn),
  ]);
  return echoed;
}

/**
 * Asserts a new connection is not served: refused, or (if it reached the
 * kernel's backlog while the listener was closing) closed or reset without
 * an echo, within 5 s. `what` names the client in a failure.
 */
export async function assertNotServed(
  addr: { hostname: string; port: number },
  what: string,
): Promise<void> {
  let conn: Deno.TcpConn;
  try {
    conn = await connectTo(addr);
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return;
    throw error;
  }
  using _ = conn;
  try {
    await writeAll(conn, "ping\n");
    const echoed = await within(readToEnd(conn), 5000, what);
    assertEquals(echoed.length, 0, `${what}: got an echo`);
  } catch (error) {
    if (!isConnectionClosed(error)) throw error;
  }
}

/** Random bytes (crypto.getRandomValues fills at most 64 KiB at a time). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let offset = 0; offset < n; offset += 65536) {
    crypto.getRandomValues(out.subarray(offset, Math.min(n, offset + 65536)));
  }
  return out;
}

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
