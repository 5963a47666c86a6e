// Copyright the deno-echo authors. MIT license.

// Reading a proxy's reply exactly: never a byte past it, so that what
// follows (the target's bytes, a TLS handshake) is left on the connection.

import { ProxyError } from "./proxy_errors.ts";

/** What a proxy handshake needs of a connection. */
export type ByteConn = Pick<Deno.Conn, "read" | "write">;

/**
 * Writes all of `data`.
 *
 * @param conn The connection.
 * @param data The bytes.
 */
export async function writeAll(
  conn: ByteConn,
  data: Uint8Array,
): Promise<void> {
  for (let off = 0; off < data.length;) {
    off += await conn.write(data.subarray(off));
  }
}

/**
 * Reads exactly `n` bytes of a proxy's reply.
 *
 * @param conn The connection to the proxy.
 * @param n How many bytes.
 * @param proxy The proxy, for the message.
 * @returns The bytes.
 * @throws {ProxyError} If the proxy closes the connection first.
 */
export async function readExactly(
  conn: ByteConn,
  n: number,
  proxy: string,
): Promise<Uint8Array> {
  const buffer = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const got = await conn.read(buffer.subarray(off));
    if (got === null) throw closedEarly(proxy, off > 0);
    off += got;
  }
  return buffer;
}

/**
 * The error for a proxy that closed the connection instead of answering.
 *
 * @param proxy The proxy, for the message.
 * @param midReply Whether part of a reply had come.
 * @returns The error.
 */
export function closedEarly(proxy: string, midReply: boolean): ProxyError {
  return new ProxyError(
    "protocol",
    proxy,
    midReply
      ? "it closed the connection in the middle of its reply"
      : "it closed the connection without answering",
  );
}

/**
 * Text a proxy sent, safe to print: control characters become `?`, and at
 * most 120 characters are kept.
 *
 * @param text The text.
 * @returns The text to show.
 */
export function printable(text: string): string {
  let clean = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    clean += code < 0x20 || (code >= 0x7f && code < 0xa0) ? "?" : char;
  }
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}
