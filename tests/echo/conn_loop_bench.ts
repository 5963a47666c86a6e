// Copyright the deno-echo authors. MIT license.

// The conn loop's own cost per round trip against a plain read/write loop
// (the benchmark's `deno_loop`), over a fake connection whose reads and
// writes settle at once: what is left is the JavaScript around the calls
// (the quit-word scan, the fair-turn check, the buffer's bookkeeping). Each
// run is ROUND_TRIPS reads of one message, echoed, then the end of input.
//
//   deno bench tests/echo/conn_loop_bench.ts

import { echoConn } from "../../src/echo/conn_loop.ts";
import { mulberry32, randomBytes } from "../_helpers/util.ts";

const ROUND_TRIPS = 100_000;

/** A connection that reads `message` `count` times, then the end. */
function fakeConn(message: Uint8Array, count: number): Deno.Conn {
  let left = count;
  const conn = {
    read(buffer: Uint8Array): Promise<number | null> {
      if (left-- <= 0) return Promise.resolve(null);
      const n = Math.min(message.length, buffer.length);
      buffer.set(n === message.length ? message : message.subarray(0, n));
      return Promise.resolve(n);
    },
    write(bytes: Uint8Array): Promise<number> {
      return Promise.resolve(bytes.length);
    },
    close(): void {},
    closeWrite(): Promise<void> {
      return Promise.resolve();
    },
  };
  return conn as unknown as Deno.Conn;
}

/** The plain loop: one 64 KiB buffer, a write-all after each read. */
async function plainLoop(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    for (let off = 0; off < n;) {
      off += await conn.write(buffer.subarray(off, n));
    }
  }
  conn.close();
}

for (const size of [64, 1024]) {
  // Random bytes, as the benchmark's, with no line that says the word.
  const message = randomBytes(mulberry32(0x5ca1_0300 + size), size, true);
  const group = `${size} B`;
  Deno.bench(`plain read/write loop, ${group}`, {
    group,
    baseline: true,
  }, async () => {
    await plainLoop(fakeConn(message, ROUND_TRIPS));
  });
  Deno.bench(`echoConn(), quit word on, ${group}`, { group }, async () => {
    await echoConn(fakeConn(message, ROUND_TRIPS), {});
  });
  Deno.bench(`echoConn(), no quit word, ${group}`, { group }, async () => {
    await echoConn(fakeConn(message, ROUND_TRIPS), { quitWord: null });
  });
}
