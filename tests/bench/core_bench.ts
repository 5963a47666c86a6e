// Copyright the deno-echo authors. MIT license.

// Micro-benchmarks of the hot paths, without the kernel: the quit-word scan,
// the echo loop over in-memory streams, and the load generator's own per-echo
// work (checking bytes, recording latencies). Run: deno bench tests/bench/

import { Buffer } from "node:buffer";
import { echo, type EchoStream, QuitWordScanner } from "../../mod.ts";
import { payloadTable } from "../../src/bench/bench_payload.ts";
import { Histogram } from "../../src/bench/histogram.ts";
import { KiB, MiB, mulberry32, randomBytes } from "../_helpers/util.ts";

/** Text of `lineLength`-byte lines (newline included), `size` bytes in all. */
function textLines(size: number, lineLength: number): Uint8Array {
  const line = "the quick brown fox jumps over the lazy dog, again and again "
    .repeat(Math.ceil(lineLength / 60)).slice(0, lineLength - 1) + "\n";
  return new TextEncoder().encode(line.repeat(Math.ceil(size / lineLength)))
    .subarray(0, size);
}

// Seeded, so that every run scans the same input.
const random64K = randomBytes(mulberry32(7), 64 * KiB);
const lines64K = textLines(64 * KiB, 40);
/** What `echo-client bench` sends: one endless line. */
const payload64K = payloadTable(1).subarray(0, 64 * KiB);

// Each scanner sees an endless stream of the same chunk, as a server would.
const scanners = {
  random: new QuitWordScanner(),
  lines: new QuitWordScanner(),
  payload: new QuitWordScanner(),
};

Deno.bench({
  name: "random bytes (a newline every 256 B)",
  group: "QuitWordScanner.scan, 64 KiB",
  baseline: true,
  fn: () => void scanners.random.scan(random64K),
});

Deno.bench({
  name: "text, 40-byte lines",
  group: "QuitWordScanner.scan, 64 KiB",
  fn: () => void scanners.lines.scan(lines64K),
});

Deno.bench({
  name: "bench payload (no newline)",
  group: "QuitWordScanner.scan, 64 KiB",
  fn: () => void scanners.payload.scan(payload64K),
});

/**
 * A connection-shaped stream over memory: reads hand out `total` bytes of
 * `source` as fast as asked (up to the buffer given), writes are dropped.
 */
function memoryConn(source: Uint8Array, total: number): EchoStream {
  let left = total;
  let offset = 0;
  return {
    readable: new ReadableStream(),
    writable: new WritableStream(),
    read(buffer: Uint8Array): Promise<number | null> {
      if (left === 0) return Promise.resolve(null);
      const n = Math.min(buffer.length, left, source.length - offset);
      buffer.set(source.subarray(offset, offset + n));
      offset = (offset + n) % source.length;
      left -= n;
      return Promise.resolve(n);
    },
    write: (chunk: Uint8Array): Promise<number> =>
      Promise.resolve(chunk.length),
    close(): void {},
  };
}

Deno.bench({
  name: "bulk bytes (conn read/write path)",
  group: "echo(), 1 MiB through memory",
  baseline: true,
  async fn(): Promise<void> {
    await echo(memoryConn(payload64K, MiB));
  },
});

Deno.bench({
  name: "text lines (conn read/write path)",
  group: "echo(), 1 MiB through memory",
  async fn(): Promise<void> {
    await echo(memoryConn(lines64K, MiB));
  },
});

Deno.bench({
  name: "bulk bytes (web streams path)",
  group: "echo(), 1 MiB through memory",
  async fn(): Promise<void> {
    const chunks = Array.from(
      { length: MiB / (16 * KiB) },
      (_, i) =>
        payload64K.subarray((i % 4) * 16 * KiB, ((i % 4) + 1) * 16 * KiB),
    );
    await echo({
      readable: ReadableStream.from(chunks),
      writable: new WritableStream(),
    });
  },
});

const table = payloadTable(1);
const echoed = table.slice(1000, 1000 + 64 * KiB);

// The load generator's work per echo: unrelated to each other, so no group.

Deno.bench({
  name: "check a 64 KiB echo (Buffer.compare)",
  fn: () => {
    if (Buffer.compare(echoed, table.subarray(1000, 1000 + 64 * KiB)) !== 0) {
      throw new Error("mismatch");
    }
  },
});

const histogram = new Histogram();
let sample = 1;

Deno.bench({
  name: "Histogram.record x 1000",
  fn: () => {
    for (let i = 0; i < 1000; i++) {
      // Loopback-like round trips: 20 to 90 µs in nanoseconds.
      sample = (sample * 1103515245 + 12345) & 0x7fffffff;
      histogram.record(20_000 + (sample % 70_000));
    }
  },
});

Deno.bench({
  name: "Histogram.percentile(99.9)",
  fn: () => void histogram.percentile(99.9),
});
