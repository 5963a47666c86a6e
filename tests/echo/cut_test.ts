// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { EchoCut } from "../../src/echo/cut.ts";
import {
  echo,
  type EchoEndReason,
  type EchoOptions,
  type EchoStream,
} from "../../src/echo/echo.ts";
import { bytes, mulberry32, randInt, randomChunks } from "../_helpers/util.ts";
import { sink, source, SOURCE_TYPES } from "./_streams.ts";

/** How an echo of `chunks` ends under `cut`, driven as both loops drive it. */
function runCut(
  cut: EchoCut,
  chunks: readonly Uint8Array[],
): { bytes: number; reason: "eof" | "quit" | "limit" } {
  for (const chunk of chunks) {
    const end = cut.find(chunk);
    cut.bytes += end < 0 ? chunk.length : end;
    if (end >= 0) return { bytes: cut.bytes, reason: cut.reason };
  }
  return { bytes: cut.bytes, reason: "eof" };
}

/**
 * The reference: where an echo of `text` stops, from the first line that is
 * the word once trimmed of ASCII whitespace, and from `maxBytes` (0: none).
 * A limit that falls on the quit line's end is a limit. ASCII input only.
 */
function expectedEnd(
  word: string,
  maxBytes: number,
  text: string,
): { bytes: number; reason: "eof" | "quit" | "limit" } {
  let quit = Infinity;
  let start = 0;
  for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
    const line = text.slice(start, nl).replace(
      /^[ \t\v\f\r]+|[ \t\v\f\r]+$/g,
      "",
    );
    if (line === word) {
      quit = nl + 1;
      break;
    }
    start = nl + 1;
  }
  const limit = maxBytes > 0 ? maxBytes : Infinity;
  if (limit <= quit && limit <= text.length) {
    return { bytes: limit, reason: "limit" };
  }
  if (quit <= text.length) return { bytes: quit, reason: "quit" };
  return { bytes: text.length, reason: "eof" };
}

Deno.test("EchoCut stops at the quit line or maxBytes, whichever comes first, however the stream is split", () => {
  const seed = 0xc07_0001;
  const rand = mulberry32(seed);
  const tokens = ["BYE", "BYE", "B", "YE", "x", " ", "\r", "\n", "\n", "\r\n"];
  const seen = { eof: 0, quit: 0, limit: 0 };
  for (let round = 0; round < 600; round++) {
    const parts: string[] = [];
    const count = randInt(rand, 0, 40);
    for (let k = 0; k < count; k++) {
      parts.push(tokens[randInt(rand, 0, tokens.length - 1)]!);
    }
    const text = parts.join("");
    const maxBytes = round % 3 === 0 ? 0 : randInt(rand, 1, 60);
    const want = expectedEnd("BYE", maxBytes, text);
    seen[want.reason]++;
    const chunks = randomChunks(rand, bytes(text), 1, 7);
    assertEquals(
      runCut(new EchoCut({ maxBytes }), chunks),
      want,
      `seed ${seed}, round ${round}, maxBytes ${maxBytes}: ${
        JSON.stringify(text)
      }`,
    );
  }
  // Every way of ending must actually occur for this to mean much.
  for (const [reason, n] of Object.entries(seen)) {
    assert(n > 50, `only ${n} rounds ended with ${reason}`);
  }
});

Deno.test("EchoCut with quitWord null cuts only at maxBytes", () => {
  const data = bytes("BYE\nBYE\nmore\n");
  assertEquals(runCut(new EchoCut({ quitWord: null }), [data]), {
    bytes: data.length,
    reason: "eof",
  });
  assertEquals(
    runCut(new EchoCut({ quitWord: null, maxBytes: 6 }), [data]),
    { bytes: 6, reason: "limit" },
  );
  assertEquals(runCut(new EchoCut({ quitWord: "more" }), [data]), {
    bytes: data.length,
    reason: "quit",
  });
});

/** A connection-shaped stream over memory, for the conn loop. */
interface MemoryConn extends EchoStream {
  written: Uint8Array[];
  closed: boolean;
}

/** Hands out `chunks` one per read (never more than the buffer), then EOF. */
function memoryConn(chunks: readonly Uint8Array[]): MemoryConn {
  const queue = chunks.map((c) => c.slice());
  const conn: MemoryConn = {
    written: [],
    closed: false,
    readable: new ReadableStream(),
    writable: new WritableStream(),
    read(buffer: Uint8Array): Promise<number | null> {
      const next = queue[0];
      if (next === undefined) return Promise.resolve(null);
      const n = Math.min(buffer.length, next.length);
      buffer.set(next.subarray(0, n));
      if (n === next.length) queue.shift();
      else queue[0] = next.subarray(n);
      return Promise.resolve(n);
    },
    write(data: Uint8Array): Promise<number> {
      conn.written.push(data.slice());
      return Promise.resolve(data.length);
    },
    close(): void {
      conn.closed = true;
    },
  };
  return conn;
}

const text = (chunks: readonly Uint8Array[]): string =>
  chunks.map((c) => new TextDecoder().decode(c)).join("");

Deno.test("echo() ends with reason limit after maxBytes, in both loops", async (t) => {
  const cases: [string, string[], number, number, EchoEndReason][] = [
    ["inside a chunk", ["hello\nworld\n"], 8, 8, "limit"],
    ["at a chunk's end", ["hello\n", "world\n"], 6, 6, "limit"],
    ["across chunks", ["hel", "lo\nwor", "ld\n"], 8, 8, "limit"],
    ["on the quit line's end", ["a\nBYE\nb\n"], 6, 6, "limit"],
    ["after the quit line", ["a\nBYE\nb\n"], 7, 6, "quit"],
    ["never reached", ["a\nb\n"], 100, 4, "eof"],
  ];
  for (const [name, input, maxBytes, echoed, reason] of cases) {
    const expected = input.join("").slice(0, echoed);
    for (const type of SOURCE_TYPES) {
      await t.step(`${name} (stream loop, ${type} source)`, async () => {
        const src = source(input.map(bytes), type);
        const out = sink();
        const result = await echo(
          { readable: src.readable, writable: out.writable },
          { maxBytes },
        );
        assertEquals(result, { bytes: echoed, reason });
        assertEquals(out.text(), expected);
        assert(out.closed, "sink closed");
      });
    }
    await t.step(`${name} (conn loop)`, async () => {
      const conn = memoryConn(input.map(bytes));
      const result = await echo(conn, { maxBytes });
      assertEquals(result, { bytes: echoed, reason });
      assertEquals(text(conn.written), expected);
      assert(conn.closed, "conn closed");
    });
  }
});

Deno.test("echo() refuses an invalid quit word before touching the stream", async (t) => {
  await t.step("stream loop", async () => {
    const readable = new ReadableStream<Uint8Array>();
    const writable = new WritableStream<Uint8Array>();
    await assertRejects(
      () => echo({ readable, writable }, { quitWord: "B YE" }),
      TypeError,
    );
    assert(!readable.locked && !writable.locked, "streams left unlocked");
  });
  await t.step("conn loop", async () => {
    const conn = memoryConn([bytes("never read\n")]);
    await assertRejects(() => echo(conn, { quitWord: "" }), TypeError);
    assert(!conn.closed, "conn left open");
    assertEquals(conn.written, []);
  });
});

Deno.test("echo() refuses limits out of range before touching the stream", async (t) => {
  const cases: [string, EchoOptions][] = [
    ["idleTimeout -1", { idleTimeout: -1 }],
    ["idleTimeout NaN", { idleTimeout: NaN }],
    ["lingerTimeout above 2^31 - 1", { lingerTimeout: 2 ** 31 }],
    ["maxBytes 1.5", { maxBytes: 1.5 }],
    ["maxBytes -1", { maxBytes: -1 }],
  ];
  for (const [name, options] of cases) {
    await t.step(name, async () => {
      const readable = new ReadableStream<Uint8Array>();
      const writable = new WritableStream<Uint8Array>();
      await assertRejects(
        () => echo({ readable, writable }, options),
        RangeError,
      );
      assert(!readable.locked && !writable.locked, "streams left unlocked");
      const conn = memoryConn([bytes("never read\n")]);
      await assertRejects(() => echo(conn, options), RangeError);
      assert(!conn.closed, "conn left open");
      assertEquals(conn.written, []);
    });
  }
});

Deno.test("echo() idleTimeout ends a silent conn with reason idle", async () => {
  let closed = false;
  const pending = Promise.withResolvers<number | null>();
  const conn: EchoStream = {
    readable: new ReadableStream(),
    writable: new WritableStream(),
    // Nothing ever comes, until the close ends the pending read.
    read: () => pending.promise,
    write: (data) => Promise.resolve(data.length),
    close: (): void => {
      closed = true;
      pending.resolve(null);
    },
  };
  const result = await echo(conn, { idleTimeout: 50 });
  assertEquals(result.reason, "idle");
  assertEquals(result.bytes, 0);
  assert(result.error instanceof Deno.errors.TimedOut);
  assert(closed, "conn closed");
});
