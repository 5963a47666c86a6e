// Copyright the deno-echo authors. MIT license.

// Helpers for the fault-injection tests (tests/fault_test.ts): seeded random
// payloads, streamed byte-exact comparison, the server's resident memory read
// from /proc, and "is a fresh client still served?" checks. Processes are
// started with the helpers in ./_cli.ts; generic ones are in ./_util.ts.

import { assertEquals, fail } from "@std/assert";
import {
  type Command,
  connectTo,
  isConnectionClosed,
  roundTrip,
  SERVER_COMMAND,
} from "./cli.ts";
import {
  assertBytesEqual,
  KiB,
  mulberry32,
  randInt,
  randomBytes,
  within,
} from "./util.ts";

/** A host and port to dial. */
export interface Addr {
  hostname: string;
  port: number;
}

/**
 * A seeded PRNG (mulberry32, see ./_util.ts) that remembers its seed: every
 * payload in the fault tests comes from one, so a failure reproduces from
 * the seed in its message.
 */
export class Prng {
  readonly seed: number;
  readonly #rand: () => number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#rand = mulberry32(this.seed);
  }

  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return randInt(this.#rand, min, max);
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    return randomBytes(this.#rand, n);
  }
}

const B = 0x42;
const Y = 0x59;
const LF = 0x0a;

/**
 * Makes random bytes safe to send through a server that ends a connection
 * after a line saying `BYE`: no `B` is followed by `Y`, so no line can say
 * it, whatever the seed. Changes `bytes` in place and returns it.
 */
export function withoutQuitWord(bytes: Uint8Array): Uint8Array {
  for (let i = bytes.indexOf(B); i >= 0; i = bytes.indexOf(B, i + 1)) {
    if (bytes[i + 1] === Y) bytes[i + 1] = Y + 1;
  }
  return bytes;
}

/** Replaces every `\n` with `\v`, in place: one long line. */
export function withoutNewlines(bytes: Uint8Array): Uint8Array {
  for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) {
    bytes[i] = LF + 1;
  }
  return bytes;
}

/**
 * Reads exactly `expected.length` bytes and checks each against `expected`
 * as it arrives (no copy of the whole echo is kept). `onProgress` is told
 * the running total after each read.
 */
export async function readAndCompare(
  conn: Deno.Conn,
  expected: Uint8Array,
  what: string,
  onProgress?: (received: number) => void,
): Promise<void> {
  const buffer = new Uint8Array(256 * KiB);
  for (let offset = 0; offset < expected.length;) {
    const want = Math.min(buffer.length, expected.length - offset);
    const got = await conn.read(buffer.subarray(0, want));
    if (got === null) {
      fail(
        `${what}: connection ended after ${offset} of ${expected.length} bytes`,
      );
    }
    for (let i = 0; i < got; i++) {
      if (buffer[i] !== expected[offset + i]) {
        fail(
          `${what}: byte ${offset + i} differs (got ${buffer[i]}, expected ${
            expected[offset + i]
          })`,
        );
      }
    }
    offset += got;
    onProgress?.(offset);
  }
}

// Deno asks for --allow-all to read another process's /proc entries, so
// they are read by small shell commands instead (--allow-run suffices).

/** The text of a /proc file of another process, read with `cat`. */
export async function readProcFile(pid: number, name: string): Promise<string> {
  const { code, stdout } = await new Deno.Command("cat", {
    args: [`/proc/${pid}/${name}`],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  assertEquals(code, 0, `cannot read /proc/${pid}/${name}`);
  return new TextDecoder().decode(stdout);
}

/**
 * Prints the VmRSS (kB) of process `$0` every `$2` seconds, at most `$1`
 * times, and stops by itself when the process is gone.
 */
const RSS_SCRIPT = `
for ((i = 0; i < $1; i++)); do
  while read -r key value _; do
    if [[ $key == VmRSS: ]]; then echo "$value"; break; fi
  done < "/proc/$0/status" || exit 0
  sleep "$2"
done
`;

/**
 * Samples a process's resident memory (VmRSS, from /proc/PID/status) every
 * few milliseconds in a helper shell, and keeps the peak of each named phase.
 * A sample counts towards the phase current when it arrives. `await using`
 * stops the sampling.
 */
export class RssSampler implements AsyncDisposable {
  /** Resident memory when sampling began, in MiB. */
  readonly before: number;
  readonly #child: Deno.ChildProcess;
  readonly #pump: Promise<void>;
  readonly #peaks = new Map<string, number>();
  #phase = "start";
  #samples = 0;

  private constructor(
    child: Deno.ChildProcess,
    lines: ReadableStreamDefaultReader<string>,
    before: number,
  ) {
    this.#child = child;
    this.before = before;
    this.#peaks.set(this.#phase, before);
    this.#pump = (async () => {
      let rest = "";
      while (true) {
        const { value, done } = await lines.read();
        if (done) return;
        rest += value;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        for (const part of parts) this.#add(Number(part) / 1024);
      }
    })();
  }

  /**
   * Starts sampling `pid` every `intervalMs` (for at most `maxMs`) and waits
   * for the first sample, which becomes {@linkcode RssSampler.before}.
   */
  static async start(
    pid: number,
    intervalMs = 10,
    maxMs = 120_000,
  ): Promise<RssSampler> {
    const child = new Deno.Command("bash", {
      args: [
        "-c",
        RSS_SCRIPT,
        String(pid),
        String(Math.ceil(maxMs / intervalMs)),
        String(intervalMs / 1000),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let first = "";
    while (!first.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) {
        await child.status;
        fail(`no VmRSS sample for process ${pid}`);
      }
      first += value;
    }
    const newline = first.indexOf("\n");
    const sampler = new RssSampler(
      child,
      reader,
      Number(first.slice(0, newline)) / 1024,
    );
    for (const part of first.slice(newline + 1).split("\n")) {
      if (part !== "") sampler.#add(Number(part) / 1024);
    }
    return sampler;
  }

  #add(rss: number): void {
    if (!Number.isFinite(rss)) return;
    this.#samples++;
    this.#peaks.set(
      this.#phase,
      Math.max(this.#peaks.get(this.#phase) ?? 0, rss),
    );
    for (const waiter of this.#waiters) {
      if (this.#samples >= waiter.count) {
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  readonly #waiters = new Set<{ count: number; resolve: () => void }>();

  /**
   * Waits for `n` more samples (so that a phase that just ended has been
   * seen), bounded by `timeout` ms.
   */
  async moreSamples(n: number, timeout = 5000): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const waiter = { count: this.#samples + n, resolve };
    this.#waiters.add(waiter);
    try {
      await within(promise, timeout, `${n} more RSS samples`);
    } finally {
      this.#waiters.delete(waiter);
    }
  }

  /** Starts a new phase; later samples count towards its peak. */
  phase(name: string): void {
    this.#phase = name;
  }

  /** The highest sample of a phase, in MiB (0 if it had none). */
  peakOf(name: string): number {
    return this.#peaks.get(name) ?? 0;
  }

  /** The highest sample of all, in MiB. */
  get peak(): number {
    return Math.max(...this.#peaks.values());
  }

  /** How many samples were taken after the first. */
  get samples(): number {
    return this.#samples;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Exited by itself.
    }
    await this.#child.status;
    await this.#pump;
  }
}

/** MiB with one decimal, for the printed measurements. */
export function mib(value: number): string {
  return value.toFixed(1);
}

/**
 * The server command run under `ulimit -n LIMIT` (bash execs the server, so
 * the pid is the server's).
 */
export function fdLimitedServer(
  limit: number,
  command: Command = SERVER_COMMAND,
): Command {
  return ["bash", "-c", `ulimit -n ${limit} && exec "$0" "$@"`, ...command];
}

/**
 * Asserts a new client gets `payload` back byte-exact (sent and read at
 * once, then half-closed: the echo must end with EOF), within `timeout` ms.
 */
export async function assertServed(
  addr: Addr,
  payload: Uint8Array,
  what: string,
  timeout = 10_000,
): Promise<void> {
  using conn = await connectTo(addr);
  const echoed = await within(roundTrip(conn, payload), timeout, what);
  assertBytesEqual(echoed, payload, what);
}

/**
 * Tries, up to `attempts` times, a new client that sends `payload` and reads
 * its echo; an attempt that is closed unserved (a limit the server has not
 * yet seen lifted) is retried. Every attempt is bounded by `timeout` ms.
 *
 * @returns The number of the attempt that was served.
 */
export async function servedWithRetry(
  addr: Addr,
  payload: Uint8Array,
  what: string,
  { attempts = 10, timeout = 5000 }: { attempts?: number; timeout?: number } =
    {},
): Promise<number> {
  const failures: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let conn: Deno.TcpConn;
    try {
      conn = await connectTo(addr);
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
      failures.push("refused");
      continue;
    }
    using _ = conn;
    let echoed: Uint8Array;
    try {
      echoed = await within(roundTrip(conn, payload), timeout, what);
    } catch (error) {
      if (!isConnectionClosed(error)) throw error;
      failures.push((error as Error).name);
      continue;
    }
    if (echoed.length === 0) {
      failures.push("closed unserved");
      continue;
    }
    assertBytesEqual(echoed, payload, what);
    return attempt;
  }
  fail(`${what}: not served in ${attempts} attempts: ${failures}`);
}

/**
 * A writer that sends `data` in the background without reading, recording
 * progress, so a test can tell when TCP flow control has stalled it.
 */
export class BackgroundWriter {
  /** Bytes whose write has completed. */
  written = 0;
  /** Settles when all of `data` is written or a write fails. */
  readonly done: Promise<void>;
  #finished = false;
  #onProgress: (() => void) | undefined;

  constructor(conn: Deno.Conn, data: Uint8Array, chunk = 256 * KiB) {
    this.done = (async () => {
      try {
        while (this.written < data.length) {
          const end = Math.min(data.length, this.written + chunk);
          this.written += await conn.write(data.subarray(this.written, end));
          this.#onProgress?.();
        }
      } finally {
        this.#finished = true;
        this.#onProgress?.();
      }
    })();
  }

  /** Whether every write has finished (or one failed). */
  get finished(): boolean {
    return this.#finished;
  }

  /**
   * Waits until no write has completed for `quietMs` (stalled: resolves
   * true) or the writer finished (resolves false). Bounded: gives up after
   * `maxMs` with an error.
   */
  async stalled(quietMs: number, maxMs: number): Promise<boolean> {
    const start = performance.now();
    while (!this.#finished) {
      if (performance.now() - start > maxMs) {
        throw new Error(`Writer still moving after ${maxMs} ms`);
      }
      const moved = new Promise<boolean>((resolve) => {
        this.#onProgress = () => resolve(true);
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const quiet = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), quietMs);
      });
      const progressed = await Promise.race([moved, quiet]);
      clearTimeout(timer);
      this.#onProgress = undefined;
      if (!progressed) return true;
    }
    return false;
  }
}
