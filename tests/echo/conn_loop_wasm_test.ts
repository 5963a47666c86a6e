// Copyright the deno-echo authors. MIT license.

// echo() over real TCP with its read buffers in the WebAssembly pool: the
// echo is byte-exact up to the quit line wherever it falls, the buffers go
// back to the pool however a connection ends, and idle connections take none.

import { assert, assertEquals } from "@std/assert";
import { echo } from "../../src/echo/echo.ts";
import { QuitWordScanner } from "../../src/echo/quit_word.ts";
import {
  freeWasmBuffers,
  isInWasmMemory,
  WASM_BUFFER_COUNT,
} from "../../src/echo/wasm_buffers.ts";
import type { EchoResult, EchoStream } from "../../src/echo/types.ts";
import {
  assertBytesEqual,
  bytes,
  KiB,
  MiB,
  mulberry32,
  randInt,
  randomBytes,
} from "../_helpers/util.ts";
import { readAll, tcpPair, writeRandomly } from "./_tcp.ts";

/** What the echo did through a connection's read and write. */
interface Seen {
  reads: number;
  readsInWasm: number;
  writesInWasm: number;
  lastReadInWasm: boolean;
}

/** The connection as echo() sees it, counting reads and writes in the pool. */
function observed(conn: Deno.TcpConn): { stream: EchoStream; seen: Seen } {
  const seen: Seen = {
    reads: 0,
    readsInWasm: 0,
    writesInWasm: 0,
    lastReadInWasm: false,
  };
  const stream: EchoStream = {
    // Getters: the conn loop never touches the streams, and making them
    // could start reading.
    get readable(): ReadableStream<Uint8Array> {
      return conn.readable;
    },
    get writable(): WritableStream<Uint8Array> {
      return conn.writable;
    },
    read(buffer: Uint8Array): Promise<number | null> {
      seen.reads++;
      seen.lastReadInWasm = isInWasmMemory(buffer);
      if (seen.lastReadInWasm) seen.readsInWasm++;
      return conn.read(buffer);
    },
    write(data: Uint8Array): Promise<number> {
      if (isInWasmMemory(data)) seen.writesInWasm++;
      return conn.write(data);
    },
    close: () => conn.close(),
    closeWrite: () => conn.closeWrite(),
  };
  return { stream, seen };
}

/** Random bulk bytes with a quit line at a random place; no other one. */
function withQuitLine(rand: () => number): { data: Uint8Array; end: number } {
  const head = randomBytes(rand, randInt(rand, 256 * KiB, 2 * MiB), true);
  const pad = () => [" ", "\t", "\r", ""][randInt(rand, 0, 3)]!;
  const line = bytes(`\n${pad()}BYE${pad()}\r\n`);
  const tail = randomBytes(rand, randInt(rand, 1, 256 * KiB));
  const data = new Uint8Array(head.length + line.length + tail.length);
  data.set(head);
  data.set(line, head.length);
  data.set(tail, head.length + line.length);
  const end = new QuitWordScanner().scan(data);
  assertEquals(end, head.length + line.length, "the only quit line");
  return { data, end };
}

/** Reads exactly `n` bytes. */
async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const data = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const got = await conn.read(data.subarray(off));
    if (got === null) throw new Deno.errors.UnexpectedEof(`At ${off} of ${n}`);
    off += got;
  }
  return data;
}

Deno.test("echo() over TCP in WebAssembly buffers is byte-exact up to a quit line at a random place", async () => {
  for (let round = 0; round < 4; round++) {
    const seed = 0x3a5b_0001 + round;
    const rand = mulberry32(seed);
    const { data, end } = withQuitLine(rand);
    using tcp = await tcpPair("127.0.0.1");
    const { stream, seen } = observed(tcp.server);
    const echoed = echo(stream);
    const [received] = await Promise.all([
      readAll(tcp.client, data.length),
      (async (): Promise<void> => {
        // The server drains what follows the quit line, so all of it goes.
        await writeRandomly(tcp.client, data, rand, 200 * KiB);
        await tcp.client.closeWrite();
      })(),
    ]);
    assertBytesEqual(received, data.subarray(0, end), `seed ${seed}`);
    assertEquals(await echoed, { bytes: end, reason: "quit" });
    assert(seen.readsInWasm > 0, `seed ${seed}: no read into the pool`);
    assert(seen.writesInWasm > 0, `seed ${seed}: no write from the pool`);
  }
});

Deno.test("echo() over TCP in WebAssembly buffers finds a quit line split across reads", async () => {
  for (let round = 0; round < 6; round++) {
    const seed = 0x3a5b_0101 + round;
    const rand = mulberry32(seed);
    const { data, end } = withQuitLine(rand);
    // Split in the quit line: from before the LF that ends the line before
    // it to before its own LF.
    const at = randInt(rand, data.lastIndexOf(0x0a, end - 2), end - 1);
    const free = freeWasmBuffers();
    using tcp = await tcpPair("127.0.0.1");
    const { stream, seen } = observed(tcp.server);
    const echoed = echo(stream);
    const first = data.subarray(0, at);
    const [head] = await Promise.all([
      readExactly(tcp.client, first.length),
      writeRandomly(tcp.client, first, rand, 64 * KiB),
    ]);
    // All of the first part is echoed: the server waits in a read, into a
    // buffer of the pool, with the quit line begun.
    assertBytesEqual(head, first, `seed ${seed}`);
    assert(seen.lastReadInWasm, `seed ${seed}: waits in a read into the pool`);
    assertEquals(freeWasmBuffers(), free - 1);
    const [rest] = await Promise.all([
      readAll(tcp.client, data.length),
      (async (): Promise<void> => {
        await writeRandomly(tcp.client, data.subarray(at), rand, 64 * KiB);
        await tcp.client.closeWrite();
      })(),
    ]);
    assertBytesEqual(rest, data.subarray(at, end), `seed ${seed}, split ${at}`);
    assertEquals(await echoed, { bytes: end, reason: "quit" });
    assertEquals(freeWasmBuffers(), free, "the buffer went back");
  }
});

/** A client connection and the server's echo on its other end. */
interface Echoing {
  client: Deno.TcpConn;
  echoed: Promise<EchoResult>;
}

/** Opens `count` connections to echo() on one listener. */
async function openEchoes(count: number): Promise<Echoing[]> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const opened: Echoing[] = [];
  for (let i = 0; i < count; i++) {
    const client = await Deno.connect({
      hostname: "127.0.0.1",
      port: listener.addr.port,
    });
    opened.push({ client, echoed: echo(await listener.accept()) });
  }
  return opened;
}

Deno.test("echo() over TCP gives WebAssembly buffers back however connections end, and falls back when none is free", async () => {
  const free = freeWasmBuffers();
  const count = WASM_BUFFER_COUNT + 16;
  for (let round = 0; round < 3; round++) {
    const seed = 0x3a5b_0201 + round;
    const rand = mulberry32(seed);
    const conns = await openEchoes(count);
    // Every connection echoes bulk data, then waits: more grown buffers
    // than the pool holds, all in use at once.
    const sent = conns.map(() => randomBytes(rand, 256 * KiB, true));
    await Promise.all(conns.map(async ({ client }, i) => {
      const [back] = await Promise.all([
        readExactly(client, sent[i]!.length),
        writeRandomly(client, sent[i]!, rand, 64 * KiB),
      ]);
      assertBytesEqual(back, sent[i]!, `seed ${seed}, connection ${i}`);
    }));
    assertEquals(
      freeWasmBuffers(),
      0,
      "the pool is in use, the rest fell back",
    );
    // End a third with EOF, a third with the quit line, a third abruptly.
    const results = await Promise.all(
      conns.map(async ({ client, echoed }, i) => {
        if (i % 3 === 0) {
          await client.closeWrite();
          assertEquals(await readAll(client, 0), new Uint8Array(0));
        } else if (i % 3 === 1) {
          await client.write(bytes("\nBYE\n"));
          await client.closeWrite();
          assertEquals(await readAll(client, 5), bytes("\nBYE\n"));
        } else {
          // Unread input at close: the kernel resets the connection.
          await client.write(randomBytes(rand, 64 * KiB));
        }
        client.close();
        return (await echoed).reason;
      }),
    );
    for (const [i, reason] of results.entries()) {
      const want = [["eof"], ["quit"], ["error", "eof"]][i % 3]!;
      assert(want.includes(reason), `connection ${i} ended with "${reason}"`);
    }
    assertEquals(freeWasmBuffers(), free, `round ${round}: all given back`);
  }
});

Deno.test("echo() over TCP takes no WebAssembly buffer for idle connections", async () => {
  const free = freeWasmBuffers();
  const conns = await openEchoes(200);
  await Promise.all(conns.map(async ({ client }) => {
    await client.write(bytes("hello\n"));
    assertEquals(await readExactly(client, 6), bytes("hello\n"));
  }));
  assertEquals(freeWasmBuffers(), free);
  await Promise.all(conns.map(async ({ client, echoed }) => {
    await client.closeWrite();
    await readAll(client, 0);
    client.close();
    assertEquals((await echoed).reason, "eof");
  }));
});
