// Copyright the deno-echo authors. MIT license.

import { concat } from "@std/bytes";
import { assert, assertEquals } from "@std/assert";
import { echo, MAX_BUFFER_SIZE } from "../../src/echo/echo.ts";
import {
  assertBytesEqual,
  bytes,
  KiB,
  MiB,
  mulberry32,
  randInt,
  randomBytes,
  randomChunks,
  within,
} from "../_helpers/util.ts";
import { sink, source, SOURCE_TYPES } from "./_streams.ts";

// echo() over in-memory web streams: the stream loop.

Deno.test("echo() echoes random payloads in random chunkings byte-exact", async (t) => {
  for (const type of SOURCE_TYPES) {
    await t.step(`${type} source`, async () => {
      const seed = type === "bytes" ? 0xec40_0002 : 0xec40_0001;
      const rand = mulberry32(seed);
      const sizes = [
        0,
        1,
        2,
        4 * KiB - 1,
        4 * KiB,
        4 * KiB + 1,
        MAX_BUFFER_SIZE,
        MAX_BUFFER_SIZE + 1,
        3 * MiB,
      ];
      for (let i = 0; i < 12; i++) sizes.push(randInt(rand, 0, 2 * MiB));
      for (const [round, size] of sizes.entries()) {
        const context = `seed ${seed}, round ${round}, size ${size}`;
        const data = randomBytes(rand, size, true);
        // At most ~2000 chunks a payload, to stay fast.
        const min = Math.max(1, Math.ceil(size / 2000));
        const max = Math.max(min, [1, 100, 5000, 200 * KiB][round % 4]!);
        const src = source(randomChunks(rand, data, min, max), type);
        const out = sink();
        const result = await echo({
          readable: src.readable,
          writable: out.writable,
        });
        assertEquals(result, { bytes: size, reason: "eof" }, context);
        assertBytesEqual(concat(out.chunks), data, context);
        assert(out.closed, `${context}: sink closed`);
      }
    });
  }
});

Deno.test("echo() echoes random payloads with quit detection off byte-exact", async () => {
  const seed = 0xec40_0003;
  const rand = mulberry32(seed);
  // Random binary data, with some BYE lines mixed in.
  const data = concat([
    randomBytes(rand, 100 * KiB),
    bytes("\nBYE\n"),
    randomBytes(rand, 100 * KiB),
    bytes("\nBYE\r\n"),
  ]);
  const src = source(randomChunks(rand, data, 1, 9000), "bytes");
  const out = sink();
  const result = await echo(
    { readable: src.readable, writable: out.writable },
    { quitWord: null },
  );
  assertEquals(result, { bytes: data.length, reason: "eof" });
  assertBytesEqual(concat(out.chunks), data, `seed ${seed}`);
});

Deno.test("echo() cuts exactly after the quit line, however it is split, and drops the rest", async (t) => {
  const cases: [string, string[], string][] = [
    [
      "split B / YE\\r / \\n",
      ["hello\n", "B", "YE\r", "\n", "after\n"],
      "hello\nBYE\r\n",
    ],
    ["in the middle of a chunk", ["hello\nBYE\nafter\nBYE\n"], "hello\nBYE\n"],
    ["a chunk of its own", ["a\n", "BYE\n", "b\n"], "a\nBYE\n"],
    ["with whitespace around it", ["a\n \tBY", "E \r\nb"], "a\n \tBYE \r\n"],
    ["the first line", ["BYE\nx"], "BYE\n"],
  ];
  for (const type of SOURCE_TYPES) {
    for (const [name, chunks, expected] of cases) {
      await t.step(`${name} (${type} source)`, async () => {
        // Two more chunks keep the source open, so it must be cancelled.
        const src = source(
          [...chunks, "unread\n", "unread\n"].map(bytes),
          type,
        );
        const out = sink();
        const result = await echo({
          readable: src.readable,
          writable: out.writable,
        });
        assertEquals(result, { bytes: bytes(expected).length, reason: "quit" });
        assertEquals(out.text(), expected);
        assert(out.closed, "sink closed after the quit line");
        assert(src.cancelled, "source cancelled after the quit line");
      });
    }
  }
});

Deno.test("echo() does not stop on lines that only contain the quit word", async () => {
  const input = "BYEBYE\nB YE\nbye\nxBYE\nBYE x\n";
  const src = source([bytes(input)]);
  const out = sink();
  const result = await echo({ readable: src.readable, writable: out.writable });
  assertEquals(result, { bytes: input.length, reason: "eof" });
  assertEquals(out.text(), input);
});

Deno.test("echo() with quitWord null echoes BYE lines and continues", async (t) => {
  for (const type of SOURCE_TYPES) {
    await t.step(`${type} source`, async () => {
      const input = ["a\n", "BYE\n", "b\n", "B", "YE\r\n", "c"];
      const src = source(input.map(bytes), type);
      const out = sink();
      const result = await echo(
        { readable: src.readable, writable: out.writable },
        { quitWord: null },
      );
      assertEquals(result, { bytes: input.join("").length, reason: "eof" });
      assertEquals(out.text(), input.join(""));
      assert(out.closed);
    });
  }
});

Deno.test("echo() uses a custom quit word", async () => {
  const src = source([bytes("BYE\nqui"), bytes("t\nlost\n")]);
  const out = sink();
  const result = await echo(
    { readable: src.readable, writable: out.writable },
    { quitWord: "quit" },
  );
  assertEquals(result, { bytes: 9, reason: "quit" });
  assertEquals(out.text(), "BYE\nquit\n");
});

Deno.test("echo() stops with reason aborted when the signal aborts", async (t) => {
  await t.step("already aborted", async () => {
    const reason = new Error("stop");
    const src = source([bytes("never echoed\n")]);
    const out = sink();
    const result = await echo(
      { readable: src.readable, writable: out.writable },
      { signal: AbortSignal.abort(reason) },
    );
    assertEquals(result.reason, "aborted");
    assertEquals(result.bytes, 0);
    assertEquals(result.error, reason);
    assertEquals(out.chunks.length, 0);
    assert(src.cancelled);
    assertEquals(src.cancelReason, reason);
    assert(out.aborted);
  });

  await t.step("while waiting for input", async () => {
    const reason = new Error("stop");
    const controller = new AbortController();
    let pulls = 0;
    let cancelReason: unknown;
    const readable = new ReadableStream<Uint8Array>({
      pull(c): Promise<void> | void {
        if (++pulls === 1) return c.enqueue(bytes("hello"));
        // Nothing more ever comes: only the abort can end the echo.
        controller.abort(reason);
        return new Promise<void>(() => {});
      },
      cancel(r): void {
        cancelReason = r;
      },
    });
    const out = sink();
    const result = await within(
      echo({ readable, writable: out.writable }, { signal: controller.signal }),
      5000,
      "echo() to end on abort",
    );
    // The abort lands while "hello" is between read and write: whether it
    // was echoed depends on that race, but the count must say which.
    assertEquals(result.reason, "aborted");
    assertEquals(result.error, reason);
    assert(result.bytes === 0 || result.bytes === 5, String(result.bytes));
    assertEquals(out.text(), "hello".slice(0, result.bytes));
    assertEquals(cancelReason, reason);
    assert(out.aborted);
  });

  await t.step("in the middle of a long stream", async () => {
    const reason = new Error("stop");
    const controller = new AbortController();
    const chunks = Array.from({ length: 1000 }, () => bytes("line\n"));
    const src = source(chunks, "bytes");
    const out = sink((_, s) => {
      if (s.chunks.length === 3) controller.abort(reason);
    });
    const result = await echo(
      { readable: src.readable, writable: out.writable },
      { signal: controller.signal },
    );
    assertEquals(result.reason, "aborted");
    assertEquals(result.error, reason);
    assertEquals(result.bytes, concat(out.chunks).length);
    assert(
      result.bytes < chunks.length * 5,
      "the stream was not echoed to its end",
    );
    assert(src.cancelled);
    assertEquals(src.cancelReason, reason);
  });
});

Deno.test("echo() ends on its idle timeout or signal even when the sink never settles a write", async (t) => {
  // A sink that ignores its controller's abort signal: its write never ends.
  const stuck = () =>
    new WritableStream<Uint8Array>({ write: () => new Promise(() => {}) });
  await t.step("idleTimeout", async () => {
    const src = source([bytes("one\n")], "bytes");
    const result = await within(
      echo({ readable: src.readable, writable: stuck() }, { idleTimeout: 100 }),
      5_000,
      "the idle end",
    );
    assertEquals(result.reason, "idle");
    assertEquals(result.bytes, 0);
  });
  await t.step("signal", async () => {
    const src = source([bytes("one\n")], "bytes");
    const result = await within(
      echo({ readable: src.readable, writable: stuck() }, {
        signal: AbortSignal.timeout(100),
      }),
      5_000,
      "the aborted end",
    );
    assertEquals(result.reason, "aborted");
  });
});

Deno.test("echo() reports a failing source or sink with reason error", async (t) => {
  await t.step("the source errors", async () => {
    const boom = new Error("boom");
    let pulls = 0;
    const readable = new ReadableStream<Uint8Array>({
      pull(c): void {
        if (++pulls === 1) c.enqueue(bytes("abc"));
        else c.error(boom);
      },
    });
    const out = sink();
    const result = await echo({ readable, writable: out.writable });
    assertEquals(result, { bytes: 3, reason: "error", error: boom });
    assertEquals(out.text(), "abc");
    assert(out.aborted, "sink aborted after the error");
    assert(!out.closed);
  });

  await t.step("the sink errors", async () => {
    const boom = new Error("boom");
    const src = source([bytes("a\n"), bytes("b\n"), bytes("c\n")]);
    let writes = 0;
    const writable = new WritableStream<Uint8Array>({
      write(): void {
        if (++writes === 2) throw boom;
      },
    });
    const result = await echo({ readable: src.readable, writable });
    assertEquals(result, { bytes: 2, reason: "error", error: boom });
    assert(src.cancelled, "source cancelled after the error");
  });
});
