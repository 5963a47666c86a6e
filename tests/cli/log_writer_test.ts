// Copyright the deno-echo authors. MIT license.

import {
  assert,
  assertEquals,
  assertFalse,
  assertMatch,
  assertThrows,
} from "@std/assert";
import { TextLineStream } from "@std/streams";
import { LogWriter } from "../../src/cli/log_writer.ts";

const decoder = new TextDecoder();

/** A sink whose writes wait until `release()` (while it is closed). */
function gatedSink(): {
  stream: WritableStream<Uint8Array>;
  text: () => string;
  writes: () => number;
  started: Promise<void>;
  release: () => void;
} {
  const chunks: Uint8Array[] = [];
  const started = Promise.withResolvers<void>();
  let open = Promise.withResolvers<void>();
  let released = false;
  const stream = new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      started.resolve();
      if (!released) await open.promise;
      chunks.push(chunk.slice());
    },
  });
  return {
    stream,
    text: () => chunks.map((c) => decoder.decode(c)).join(""),
    writes: () => chunks.length,
    started: started.promise,
    release: () => {
      released = true;
      open.resolve();
      open = Promise.withResolvers<void>();
    },
  };
}

Deno.test("LogWriter.line() returns at once while the sink stalls, drops past the bound, reports after", async () => {
  const sink = gatedSink();
  await using log = new LogWriter(sink.stream, { maxLines: 100 });
  const started = performance.now();
  for (let i = 0; i < 10_000; i++) log.line(`line ${i}`);
  await sink.started;
  for (let i = 10_000; i < 20_000; i++) log.line(`line ${i}`);
  // Nothing waited on the sink, and what waits is bounded.
  assert(performance.now() - started < 1000);
  assertEquals(log.queuedLines, 100);
  assertEquals(log.dropped, 19_900);
  sink.release();
  assert(await log.flush(1000));
  log.line("after");
  assert(await log.flush(1000));
  const lines = sink.text().split("\n");
  assertEquals(
    lines.slice(0, 100),
    [...Array(100).keys()].map((i) => `line ${i}`),
  );
  assertEquals(lines.slice(100), [
    "... 19900 log lines dropped: stderr is not being read",
    "after",
    "",
  ]);
  assertEquals(log.dropped, 19_900);
  assertEquals(log.queuedBytes, 0);
});

Deno.test("LogWriter bounds the bytes waiting, not only the lines", async () => {
  const sink = gatedSink();
  await using log = new LogWriter(sink.stream, {
    maxBytes: 1000,
    name: "the log",
  });
  const line = "x".repeat(99); // 100 bytes with its newline
  for (let i = 0; i < 50; i++) log.line(line);
  await sink.started;
  assertEquals(log.queuedBytes, 1000);
  assertEquals(log.dropped, 40);
  // A line longer than the whole bound is dropped, never split.
  log.line("y".repeat(2000));
  assertEquals(log.dropped, 41);
  sink.release();
  assert(await log.flush(1000));
  assertEquals(
    sink.text(),
    `${line}\n`.repeat(10) +
      "... 41 log lines dropped: the log is not being read\n",
  );
});

Deno.test("LogWriter keeps the order and the count across drops and resumes", async () => {
  // The sink takes one write per macrotask: slower than the writer below.
  const chunks: Uint8Array[] = [];
  const sink = new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 0));
      chunks.push(chunk.slice());
    },
  });
  await using log = new LogWriter(sink, { maxLines: 20 });
  const total = 2000;
  for (let i = 0; i < total; i++) {
    log.line(`line ${i}`);
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert(await log.flush(1000));
  const lines = chunks.map((c) => decoder.decode(c)).join("").split("\n");
  assertEquals(lines.pop(), "");
  let last = -1, kept = 0, reported = 0, notices = 0;
  for (const text of lines) {
    const notice = text.match(
      /^\.\.\. (\d+) log lines? dropped: stderr is not being read$/,
    );
    if (notice) {
      reported += Number(notice[1]);
      notices++;
      continue;
    }
    const n = Number(text.match(/^line (\d+)$/)![1]);
    assert(n > last, `line ${n} after line ${last}`);
    last = n;
    kept++;
  }
  assert(notices > 0, "nothing was dropped: the sink was not slow enough");
  assertEquals(kept + reported, total);
  assertEquals(log.dropped, reported);
});

Deno.test("LogWriter.flush() gives up at its deadline and succeeds once the sink moves", async () => {
  const sink = gatedSink();
  await using log = new LogWriter(sink.stream);
  log.line("stuck");
  await sink.started;
  const started = performance.now();
  assertFalse(await log.flush(50));
  const waited = performance.now() - started;
  assert(waited >= 45 && waited < 1000, `waited ${waited} ms`);
  sink.release();
  assert(await log.flush(1000));
  assertEquals(sink.text(), "stuck\n");
});

Deno.test("LogWriter stops at a sink that fails and never throws to the caller", async (t) => {
  const broken = (): Promise<number> =>
    Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
  await t.step("a write() sink", async () => {
    await using log = new LogWriter({ write: broken });
    log.line("one");
    log.line("two");
    assertFalse(await log.flush(1000));
    assert(log.failed);
    log.line("three");
    assertEquals(log.dropped, 3);
  });
  await t.step("a WritableStream", async () => {
    const sink = new WritableStream<Uint8Array>({
      write: () => broken().then(),
    });
    await using log = new LogWriter(sink);
    log.line("one");
    assertFalse(await log.flush(1000));
    log.line("two");
    assertEquals(log.dropped, 2);
  });
});

Deno.test("LogWriter writes a burst in one write and finishes partial writes", async () => {
  const written: number[] = [];
  const sink = {
    write(p: Uint8Array): Promise<number> {
      const n = Math.min(p.length, 7);
      written.push(...p.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  let calls = 0;
  {
    await using log = new LogWriter({
      write: (p) => (calls++, sink.write(p)),
    });
    for (let i = 0; i < 100; i++) log.line(`caf\u00e9 ${i}`);
  }
  const expected = [...Array(100).keys()].map((i) => `caf\u00e9 ${i}\n`).join(
    "",
  );
  assertEquals(decoder.decode(new Uint8Array(written)), expected);
  // One batch, cut into writes of 7 bytes by the sink.
  assertEquals(calls, Math.ceil(new TextEncoder().encode(expected).length / 7));
});

const CHILD = `
import { LogWriter } from ${
  JSON.stringify(import.meta.resolve("../../src/cli/log_writer.ts"))
};
const log = new LogWriter(Deno.stderr);
const started = performance.now();
for (let i = 0; i < 100_000; i++) {
  log.line("connection " + i + " from 127.0.0.1:" + (i % 65536) + " closed");
  if (i % 1000 === 999) await new Promise((resolve) => setTimeout(resolve, 0));
}
const report = {
  ms: Math.round(performance.now() - started),
  dropped: log.dropped,
  queuedBytes: log.queuedBytes,
};
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(report) + "\\n"));
await log.flush(10_000);
`;

Deno.test("a program logging 100,000 lines to a stderr nobody reads finishes its work", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", CHILD],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Nothing reads stderr until the work is reported done on stdout.
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  const reader = lines.getReader();
  const timer = setTimeout(() => child.kill(), 10_000);
  const first = await reader.read();
  const report = JSON.parse(first.value ?? "null");
  assert(
    report,
    "the program was killed before it finished: logging blocked it",
  );
  assert(report.dropped > 0);
  assert(report.queuedBytes <= 1024 * 1024);
  // Reading stderr now lets the queue drain and the program exit.
  const stderr = await new Response(child.stderr).text();
  await reader.cancel();
  const status = await child.status;
  clearTimeout(timer);
  assert(status.success);
  assertMatch(stderr, /^connection 0 from 127\.0\.0\.1:0 closed\n/);
  assertMatch(
    stderr,
    new RegExp(
      `\\n\\.\\.\\. ${report.dropped} log lines dropped: stderr is not being read\\n$`,
    ),
  );
});

Deno.test("LogWriter refuses bounds that are not positive integers", () => {
  const sink = { write: (p: Uint8Array) => Promise.resolve(p.length) };
  for (const maxLines of [0, -1, 0.5, NaN, Infinity]) {
    assertThrows(
      () => new LogWriter(sink, { maxLines }),
      RangeError,
      '"maxLines"',
    );
  }
  for (const maxBytes of [0, 1.5, NaN]) {
    assertThrows(
      () => new LogWriter(sink, { maxBytes }),
      RangeError,
      '"maxBytes"',
    );
  }
});
