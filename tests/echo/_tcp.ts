// Copyright the deno-echo authors. MIT license.

// Loopback TCP for the conn loop's tests: a connected pair, random-size
// writes, reading to the end.

import { concat } from "@std/bytes";
import { fail } from "@std/assert";
import { KiB, randInt } from "../_helpers/util.ts";

/** Writes all of `data` in random-size writes of 1 to `max` bytes. */
export async function writeRandomly(
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
export async function readAll(
  conn: Deno.Conn,
  limit: number,
): Promise<Uint8Array> {
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
export interface TcpPair extends Disposable {
  /** The end the test writes to and reads from. */
  client: Deno.TcpConn;
  /** The accepted end, for echo(). */
  server: Deno.TcpConn;
}

/** Dials a fresh listener on `hostname` and accepts the connection. */
export async function tcpPair(hostname: string): Promise<TcpPair> {
  using stack = new DisposableStack();
  const listener = stack.use(Deno.listen({ hostname, port: 0 }));
  const client = stack.use(
    await Deno.connect({ hostname, port: listener.addr.port }),
  );
  const server = stack.use(await listener.accept());
  const owned = stack.move();
  return { client, server, [Symbol.dispose]: () => owned.dispose() };
}
