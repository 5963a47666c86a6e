// Copyright the deno-echo authors. MIT license.

// Helpers for the fault-injection tests (tests/e2e/fault_*_test.ts): a
// streamed byte-exact comparison, a writer that shows when flow control
// stalls it, a server under a descriptor limit, and "is a fresh client still
// served?" checks. Also gathered here: the seeded payloads (./payload.ts) and
// the server's resident memory read from /proc (./rss.ts). Processes are
// started with the helpers in ./cli.ts; generic ones are in ./util.ts.

import { fail } from "@std/assert";
import { type Command, SERVER_COMMAND } from "./proc.ts";
import { connectTo, isConnectionClosed, roundTrip } from "./conn.ts";
import { assertBytesEqual, KiB, within } from "./util.ts";

export { Prng, withoutNewlines, withoutQuitWord } from "./payload.ts";
export { mib, readProcFile, RssSampler } from "./rss.ts";

/**
 * The seed the fault tests' PRNGs start from: each case adds its own number,
 * and a failure message carries the seed it used.
 */
export const FAULT_SEED = 0x5eed_fa17;

/** A host and port to dial. */
export interface Addr {
  hostname: string;
  port: number;
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
