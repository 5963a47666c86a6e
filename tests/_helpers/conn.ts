// Copyright the deno-echo authors. MIT license.

// A test's side of a TCP connection to a server: dial, write everything, read
// exactly n bytes or up to EOF, and "is this client served at all?".
//
// Reads go through `conn.read()`, not `toBytes(conn.readable)`: once its
// readable ends Deno closes the connection, and the tests go on using it
// (half-closed writes, `using` disposal, a later `close()`).

import { concat } from "@std/bytes";
import { assertEquals } from "@std/assert";
import { type Input, inputBytes, within } from "./util.ts";

/** Connects to a server address, `using`-ready. */
export function connectTo(
  addr: { hostname: string; port: number },
): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: addr.hostname, port: addr.port });
}

/** Writes all of `data` (writes may be partial). */
export async function writeAll(conn: Deno.Conn, data: Input): Promise<void> {
  const bytes = inputBytes(data);
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

/** Reads exactly `n` bytes; throws if the stream ends first. */
export async function readExactly(
  conn: Deno.Conn,
  n: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let offset = 0; offset < n;) {
    const got = await conn.read(out.subarray(offset));
    if (got === null) {
      throw new Error(`Connection ended after ${offset} of ${n} bytes`);
    }
    offset += got;
  }
  return out;
}

/** Reads until end of stream; returns everything read. */
export async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const got = await conn.read(buffer);
    if (got === null) return concat(chunks);
    chunks.push(buffer.slice(0, got));
  }
}

/** Whether an error means the peer closed or reset the connection. */
export function isConnectionClosed(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected;
}

/** Reads until end of stream; a reset counts as the end. */
export async function readUntilClosed(conn: Deno.Conn): Promise<Uint8Array> {
  try {
    return await readToEnd(conn);
  } catch (error) {
    if (isConnectionClosed(error)) return new Uint8Array();
    throw error;
  }
}

/**
 * Sends `data`, half-closes, and returns everything echoed until the server
 * closes (sending and receiving at once, so large data cannot deadlock).
 */
export async function roundTrip(
  conn: Deno.TcpConn,
  data: Input,
): Promise<Uint8Array> {
  const [, echoed] = await Promise.all([
    writeAll(conn, data).then(() => conn.closeWrite()),
    readToEnd(conn),
  ]);
  return echoed;
}

/**
 * Asserts a new connection is not served: refused or reset while connecting,
 * or (if it reached the kernel's backlog while the listener was closing)
 * closed or reset without an echo, within 5 s. `what` names the client in a
 * failure.
 */
export async function assertNotServed(
  addr: { hostname: string; port: number },
  what: string,
): Promise<void> {
  let conn: Deno.TcpConn;
  try {
    conn = await connectTo(addr);
  } catch (error) {
    // Refused; or, under load, reset by a listener closing with the
    // connection still in its backlog.
    if (
      error instanceof Deno.errors.ConnectionRefused ||
      error instanceof Deno.errors.ConnectionReset
    ) return;
    throw error;
  }
  using _ = conn;
  try {
    await writeAll(conn, "ping\n");
    const echoed = await within(readToEnd(conn), 5000, what);
    assertEquals(echoed.length, 0, `${what}: got an echo`);
  } catch (error) {
    if (!isConnectionClosed(error)) throw error;
  }
}
