// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals } from "@std/assert";
import { echo } from "../../src/echo/echo.ts";
import {
  assertBytesEqual,
  bytes,
  KiB,
  MiB,
  mulberry32,
  randInt,
  randomBytes,
  within,
} from "../_helpers/util.ts";
import { readAll, tcpPair, writeRandomly } from "./_tcp.ts";

// echo() over real TCP on loopback: the conn loop, and (in the last test)
// the stream loop over a socket's own streams.

const decoder = new TextDecoder();

const LOOPBACKS = ["127.0.0.1", "::1"] as const;

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
