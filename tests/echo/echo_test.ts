// Copyright the deno-echo authors. MIT license.

import { concat } from "@std/bytes";
import { assert, assertEquals, fail } from "@std/assert";
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

const decoder = new TextDecoder();

const LOOPBACKS = ["127.0.0.1", "::1"] as const;

// ---------------------------------------------------------------------------
// Helpers

/** What a test sink saw. */
interface Sink {
  writable: WritableStream<Uint8Array>;
  chunks: Uint8Array[];
  closed: boolean;
  aborted: boolean;
  abortReason: unknown;
  text(): string;
}

/**
 * A sink that copies every chunk (echo() reuses its buffer once `write`
 * resolves) and records how it ended.
 */
function sink(
  onWrite?: (chunk: Uint8Array, sink: Sink) => void,
): Sink {
  const state: Sink = {
    chunks: [],
    closed: false,
    aborted: false,
    abortReason: undefined,
    text: () => decoder.decode(concat(state.chunks)),
    writable: new WritableStream<Uint8Array>({
      write(chunk): void {
        state.chunks.push(chunk.slice());
        onWrite?.(chunk, state);
      },
      close(): void {
        state.closed = true;
      },
      abort(reason): void {
        state.aborted = true;
        state.abortReason = reason;
      },
    }),
  };
  return state;
}

/** What a test source saw. */
interface Source {
  readable: ReadableStream<Uint8Array>;
  pulls: number;
  cancelled: boolean;
  cancelReason: unknown;
}

/**
 * A source that hands out `chunks` one per pull and then ends. `"bytes"`
 * makes a byte stream, read by echo() through a BYOB reader.
 */
function source(
  chunks: readonly Uint8Array[],
  type: "default" | "bytes" = "default",
): Source {
  let next = 0;
  const state: Source = {
    pulls: 0,
    cancelled: false,
    cancelReason: undefined,
    readable: undefined as unknown as ReadableStream<Uint8Array>,
  };
  const pull = (
    controller:
      | ReadableStreamDefaultController<Uint8Array>
      | ReadableByteStreamController,
  ): void => {
    state.pulls++;
    // Empty chunks can't be enqueued on a byte stream; skip them.
    while (next < chunks.length && chunks[next]!.length === 0) next++;
    if (next >= chunks.length) {
      controller.close();
      // A BYOB read pending at close must be answered with zero bytes.
      if (controller instanceof ReadableByteStreamController) {
        controller.byobRequest?.respond(0);
      }
      return;
    }
    // Copy: a byte stream takes over (detaches) the enqueued buffer.
    controller.enqueue(chunks[next++]!.slice());
  };
  const cancel = (reason: unknown): void => {
    state.cancelled = true;
    state.cancelReason = reason;
  };
  state.readable = type === "bytes"
    ? new ReadableStream({ type: "bytes", pull, cancel })
    : new ReadableStream<Uint8Array>({ pull, cancel });
  return state;
}

const SOURCE_TYPES = ["default", "bytes"] as const;

// ---------------------------------------------------------------------------
// In-memory streams

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

// ---------------------------------------------------------------------------
// Real TCP on loopback

/** Writes all of `data` in random-size writes of 1 to `max` bytes. */
async function writeRandomly(
  conn: Deno.Conn,
  data: Uint8Array,
  rand: () => number,
  max: number,
): Promise<void> {
  for (let off = 0; off < data.length;) {
    const end = Math.min(data.length, off + randInt(rand, 1, max));
    off += await conn.write(data.subarray(off, end));
  }
}

/** Reads until end-of-stream; throws past `limit` bytes. */
async function readAll(conn: Deno.Conn, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(256 * KiB);
  let total = 0;
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    total += n;
    if (total > limit) fail(`Read ${total} bytes, more than ${limit}`);
  }
  return concat(chunks);
}

/**
 * Both ends of a loopback TCP connection; disposing closes them and the
 * listener.
 */
interface TcpPair extends Disposable {
  /** The end the test writes to and reads from. */
  client: Deno.TcpConn;
  /** The accepted end, for echo(). */
  server: Deno.TcpConn;
}

/** Dials a fresh listener on `hostname` and accepts the connection. */
async function tcpPair(hostname: string): Promise<TcpPair> {
  using stack = new DisposableStack();
  const listener = stack.use(Deno.listen({ hostname, port: 0 }));
  const client = stack.use(
    await Deno.connect({ hostname, port: listener.addr.port }),
  );
  const server = stack.use(await listener.accept());
  const owned = stack.move();
  return { client, server, [Symbol.dispose]: () => owned.dispose() };
}

Deno.test("echo() over TCP echoes random writes byte-exact while the client reads", async (t) => {
  for (const [index, hostname] of LOOPBACKS.entries()) {
    await t.step(hostname, async () => {
      const seed = 0x7c90_0001 + index;
      const rand = mulberry32(seed);
      using tcp = await tcpPair(hostname);
      const { client, server } = tcp;
      const echoed = echo(server);

      const data = randomBytes(rand, 4 * MiB + randInt(rand, 0, 4096), true);
      const [received] = await Promise.all([
        readAll(client, data.length),
        (async (): Promise<void> => {
          await writeRandomly(client, data, rand, 200 * KiB);
          await client.closeWrite();
        })(),
      ]);
      assertBytesEqual(received, data, `seed ${seed}`);
      assertEquals(await echoed, { bytes: data.length, reason: "eof" });
    });
  }
});

Deno.test("echo() over TCP echoes everything after the client half-closes, then ends", async (t) => {
  for (const [index, hostname] of LOOPBACKS.entries()) {
    await t.step(
      `${hostname}, a short message sent before reading`,
      async () => {
        using tcp = await tcpPair(hostname);
        const { client, server } = tcp;
        const echoed = echo(server);
        await client.write(bytes("hello, no newline"));
        await client.closeWrite();
        // Only read after our side is shut: the echo still comes, then EOF.
        const received = await readAll(client, 1 * MiB);
        assertEquals(decoder.decode(received), "hello, no newline");
        assertEquals(await echoed, { bytes: 17, reason: "eof" });
      },
    );

    await t.step(`${hostname}, 1 MiB`, async () => {
      const seed = 0x7c90_0011 + index;
      const rand = mulberry32(seed);
      using tcp = await tcpPair(hostname);
      const { client, server } = tcp;
      const echoed = echo(server);
      const data = randomBytes(rand, 1 * MiB, true);
      const reading = readAll(client, data.length);
      await writeRandomly(client, data, rand, 64 * KiB);
      await client.closeWrite();
      assertBytesEqual(await reading, data, `seed ${seed}`);
      assertEquals(await echoed, { bytes: data.length, reason: "eof" });
    });
  }
});

Deno.test("echo() over TCP sends the quit line's echo and then EOF even if the client keeps sending", async (t) => {
  const cases: [string, string[], string][] = [
    [
      "quit line and more data in one write",
      ["hello\nBYE\nafter\n"],
      "hello\nBYE\n",
    ],
    [
      "quit line split over writes",
      ["hello\n", "B", "YE\r", "\n", "after\n"],
      "hello\nBYE\r\n",
    ],
  ];
  for (const [index, hostname] of LOOPBACKS.entries()) {
    for (const [name, writes, expected] of cases) {
      await t.step(`${hostname}, ${name}`, async () => {
        const seed = 0x7c90_0021 + index;
        const rand = mulberry32(seed);
        using tcp = await tcpPair(hostname);
        const { client, server } = tcp;
        const echoed = echo(server);

        const reading = readAll(client, 1 * MiB);
        for (const w of writes) await client.write(bytes(w));
        // Keep sending past the quit line while the echo comes back ...
        await writeRandomly(client, randomBytes(rand, 1 * MiB), rand, 64 * KiB);
        assertEquals(decoder.decode(await reading), expected);
        // ... and after its EOF: the server drains and discards this input
        // rather than closing on it (which would reset the connection and
        // fail these writes with BrokenPipe or ConnectionReset).
        await writeRandomly(client, randomBytes(rand, 1 * MiB), rand, 64 * KiB);
        await client.closeWrite();
        assertEquals(await echoed, {
          bytes: bytes(expected).length,
          reason: "quit",
        });
      });
    }
  }
});

Deno.test("echo() over TCP lingers after the quit line for lingerTimeout when the client never closes", async () => {
  using tcp = await tcpPair("127.0.0.1");
  const { client, server } = tcp;
  const lingerTimeout = 200;
  const echoed = echo(server, { lingerTimeout });
  let settled = false;
  echoed.finally(() => settled = true);
  await client.write(bytes("BYE\nstill talking\n"));
  // The echo and EOF arrive at once (the write side is shut first) ...
  const start = performance.now();
  assertEquals(decoder.decode(await readAll(client, 1 * MiB)), "BYE\n");
  // ... while the server still takes what the client sends ...
  for (let i = 0; i < 20; i++) await client.write(bytes("more\n"));
  assert(!settled, "echo() ended before lingerTimeout");
  // ... and echo() ends on its own although the client never closes.
  assertEquals(await within(echoed, 5000, "echo() to end after linger"), {
    bytes: 4,
    reason: "quit",
  });
  const elapsed = performance.now() - start;
  assert(elapsed >= lingerTimeout / 2, `echo() ended after only ${elapsed} ms`);
});

Deno.test("echo() over TCP does not buffer without bound for a client that does not read", async () => {
  const seed = 0x7c90_0031;
  const rand = mulberry32(seed);
  const total = 16 * MiB;
  const data = randomBytes(rand, total);

  using tcp = await tcpPair("127.0.0.1");
  const { client, server } = tcp;

  // The echo runs on the accepted connection, seen through thin wrappers that
  // count what it reads and what it has finished writing. The read side has
  // no queue of its own (highWaterMark 0): a chunk is taken from the socket
  // only when echo() asks for one.
  let read = 0;
  let written = 0;
  let maxHeld = 0;
  const socketReader = server.readable.getReader();
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller): Promise<void> {
      const { value, done } = await socketReader.read();
      if (done) return controller.close();
      read += value.length;
      maxHeld = Math.max(maxHeld, read - written);
      controller.enqueue(value);
    },
    cancel: (reason) => socketReader.cancel(reason),
  }, { highWaterMark: 0 });
  const socketWriter = server.writable.getWriter();
  const writable = new WritableStream<Uint8Array>({
    async write(chunk): Promise<void> {
      await socketWriter.write(chunk);
      written += chunk.length;
    },
    close: () => socketWriter.close(),
    abort: (reason) => socketWriter.abort(reason),
  });
  const echoed = echo({ readable, writable }, { quitWord: null });

  // The client sends without reading, until its writes stop completing.
  let sent = 0;
  let progress: () => void = () => {};
  const sending = (async (): Promise<void> => {
    for (let off = 0; off < total;) {
      off += await client.write(data.subarray(off, off + 256 * KiB));
      sent = off;
      progress();
    }
  })();
  let finished = false;
  sending.then(() => finished = true, () => finished = true);

  // Stalled = no write completed for 300 ms. This timer only bounds how long
  // we watch for progress that must not happen; readiness never waits on it.
  for (let round = 0; round < 2000 && !finished; round++) {
    const moved = new Promise<boolean>((resolve) =>
      progress = () => resolve(true)
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 300);
    });
    const advanced = await Promise.race([moved, quiet]);
    clearTimeout(timer);
    if (!advanced) break;
  }
  // Had echo() read without waiting for its writes, it would have taken all
  // 16 MiB off the socket. With flow control, the kernel buffers on the way
  // hold what was sent (about 11.5 MiB on Linux loopback with default
  // tcp_rmem/tcp_wmem) and echo() itself holds one chunk.
  const sentWhileNotReading = sent;
  const echoedWhileNotReading = written;
  assert(
    sentWhileNotReading < total,
    `the client could send all ${total} bytes without reading: the server buffers`,
  );
  assert(
    echoedWhileNotReading < sentWhileNotReading,
    `echoed ${echoedWhileNotReading} of ${sentWhileNotReading} sent`,
  );
  // echo() holds at most what one read returned.
  assert(
    maxHeld <= 256 * KiB,
    `echo() held ${maxHeld} bytes read but not yet echoed`,
  );

  // Now read: everything comes back, byte-exact.
  const [received] = await Promise.all([
    readAll(client, total),
    sending.then(() => client.closeWrite()),
  ]);
  assertBytesEqual(received, data, `seed ${seed}`);
  assertEquals(await echoed, { bytes: total, reason: "eof" });
  assert(maxHeld <= 256 * KiB, `echo() held ${maxHeld} bytes at some point`);
});
