// Copyright the deno-echo authors. MIT license.

// Another process's /proc entries, and its resident memory sampled while a
// test runs. Deno asks for --allow-all to read another process's /proc
// entries, so they are read by small shell commands instead (--allow-run
// suffices).

import { assertEquals, fail } from "@std/assert";
import { TextLineStream } from "@std/streams";
import { within } from "./util.ts";

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

/** Starts the sampling shell; its stdout is one VmRSS figure (kB) a line. */
function spawnSampler(
  pid: number,
  intervalMs: number,
  maxMs: number,
): Deno.ChildProcess {
  return new Deno.Command("bash", {
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
}

/** A VmRSS line in kB, in MiB. */
function toMiB(line: string): number {
  return Number(line) / 1024;
}

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
  readonly #waiters = new Set<{ count: number; resolve: () => void }>();
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
      while (true) {
        const { value, done } = await lines.read();
        if (done) return;
        if (value !== "") this.#add(toMiB(value));
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
    const child = spawnSampler(pid, intervalMs, maxMs);
    // The samples are short ASCII lines: TextLineStream's decoding and
    // whole-line buffering are no concern here.
    const lines = child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream())
      .getReader();
    const first = await lines.read();
    if (first.done) {
      await child.status;
      fail(`no VmRSS sample for process ${pid}`);
    }
    return new RssSampler(child, lines, toMiB(first.value));
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
