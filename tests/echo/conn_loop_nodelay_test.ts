// Copyright the deno-echo authors. MIT license.

// The conn loop's `noDelayAtSecondChunk`: Nagle is turned off once, before
// the second chunk is written, and never for a connection of one chunk.

import { assertEquals } from "@std/assert";
import { type ConnLike, echoConn } from "../../src/echo/conn_loop.ts";
import { bytes } from "../_helpers/util.ts";
import { readAll, tcpPair } from "./_tcp.ts";

/** Reads exactly `n` bytes. */
async function readExactly(conn: Deno.Conn, n: number): Promise<string> {
  const buffer = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const read = await conn.read(buffer.subarray(off));
    if (read === null) throw new Error(`The end after ${off} of ${n} bytes`);
    off += read;
  }
  return new TextDecoder().decode(buffer);
}

/** A connection that reads `chunks`, then its end, and logs every call. */
function loggedConn(
  chunks: string[],
): { conn: ConnLike & { setNoDelay(on: boolean): void }; log: string[] } {
  const log: string[] = [];
  const queue = chunks.map(bytes);
  const conn = {
    // Not used by the conn loop.
    readable: new ReadableStream<Uint8Array>(),
    writable: new WritableStream<Uint8Array>(),
    read(p: Uint8Array): Promise<number | null> {
      const next = queue.shift();
      log.push(next === undefined ? "end" : "read");
      if (next === undefined) return Promise.resolve(null);
      p.set(next);
      return Promise.resolve(next.length);
    },
    write(p: Uint8Array): Promise<number> {
      log.push(`write ${new TextDecoder().decode(p)}`);
      return Promise.resolve(p.length);
    },
    close(): void {
      log.push("close");
    },
    setNoDelay(on: boolean): void {
      log.push(`noDelay ${on}`);
    },
  };
  return { conn, log };
}

Deno.test("echoConn() with noDelayAtSecondChunk turns Nagle off before the second chunk's write", async () => {
  const { conn, log } = loggedConn(["a", "b", "c"]);
  const result = await echoConn(conn, { noDelayAtSecondChunk: true });
  assertEquals(result, { bytes: 3, reason: "eof" });
  assertEquals(log, [
    "read",
    "write a",
    "read",
    "noDelay true",
    "write b",
    "read",
    "write c",
    "end",
    "close",
  ]);
});

Deno.test("echoConn() with noDelayAtSecondChunk leaves a connection of one chunk as it is", async () => {
  const { conn, log } = loggedConn(["only"]);
  await echoConn(conn, { noDelayAtSecondChunk: true });
  assertEquals(log, ["read", "write only", "end", "close"]);
});

Deno.test("echoConn() without noDelayAtSecondChunk never turns Nagle off", async () => {
  const { conn, log } = loggedConn(["a", "b"]);
  await echoConn(conn, {});
  assertEquals(log.includes("noDelay true"), false);
  assertEquals(log.filter((entry) => entry.startsWith("write")).length, 2);
});

Deno.test("echoConn() with noDelayAtSecondChunk echoes over TCP", async () => {
  using tcp = await tcpPair("127.0.0.1");
  const { client, server } = tcp;
  const echoed = echoConn(server, { noDelayAtSecondChunk: true });
  // Each chunk echoed before the next is sent: three reads, three writes.
  for (const line of ["one\n", "two\n", "three\n"]) {
    await client.write(bytes(line));
    assertEquals(await readExactly(client, line.length), line);
  }
  await client.closeWrite();
  assertEquals((await readAll(client, 0)).length, 0);
  assertEquals(await echoed, { bytes: 14, reason: "eof" });
});
