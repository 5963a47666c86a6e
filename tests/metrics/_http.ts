// Copyright the deno-echo authors. MIT license.

// A raw HTTP/1.1 client for the metrics server's tests: requests written as
// bytes, answers read back one at a time, the connection's end observed.

import { assert } from "@std/assert";
import { isConnectionClosed } from "../_helpers/conn.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One answer, as read off the connection. */
export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Map<string, string>;
  body: string;
}

/** A connection to the metrics server, read answer by answer. */
export class RawClient implements Disposable {
  readonly conn: Deno.TcpConn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to `addr`. */
  static async connect(addr: Deno.NetAddr): Promise<RawClient> {
    return new RawClient(
      await Deno.connect({ hostname: addr.hostname, port: addr.port }),
    );
  }

  /** Writes `text` as it is. */
  async send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    for (let offset = 0; offset < bytes.length;) {
      offset += await this.conn.write(bytes.subarray(offset));
    }
  }

  /** `GET path` (or another method) with only a Host header, keep-alive. */
  async request(method: string, path: string, extra = ""): Promise<void> {
    await this.send(`${method} ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`);
  }

  /**
   * Reads one answer; `head` says it has no body whatever its length.
   *
   * @throws When the connection ends before a whole answer.
   */
  async answer(head = false): Promise<RawAnswer> {
    let end: number;
    while ((end = find(this.#buffer, "\r\n\r\n")) < 0) await this.#more();
    const lines = decoder.decode(this.#buffer.subarray(0, end)).split("\r\n");
    this.#buffer = this.#buffer.subarray(end + 4);
    const status = Number(lines[0]!.split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      headers.set(
        line.slice(0, colon).toLowerCase(),
        line.slice(colon + 1).trim(),
      );
    }
    const length = head ? 0 : Number(headers.get("content-length"));
    assert(Number.isInteger(length), `no content-length: ${lines.join("|")}`);
    while (this.#buffer.length < length) await this.#more();
    const body = decoder.decode(this.#buffer.subarray(0, length));
    this.#buffer = this.#buffer.subarray(length);
    return { status, headers, body };
  }

  /**
   * Resolves once the server has closed the connection (EOF or a reset),
   * with the bytes it sent meanwhile.
   */
  async closed(): Promise<string> {
    const chunks: string[] = [decoder.decode(this.#buffer)];
    this.#buffer = new Uint8Array(0);
    const scratch = new Uint8Array(65536);
    try {
      let n: number | null;
      while ((n = await this.conn.read(scratch)) !== null) {
        chunks.push(decoder.decode(scratch.subarray(0, n)));
      }
    } catch (error) {
      if (!isConnectionClosed(error)) throw error;
    }
    return chunks.join("");
  }

  async #more(): Promise<void> {
    const scratch = new Uint8Array(65536);
    const n = await this.conn.read(scratch);
    if (n === null) throw new Error("the server closed the connection");
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(scratch.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
  }

  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
  }
}

function find(bytes: Uint8Array, text: string): number {
  const needle = encoder.encode(text);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (bytes[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}
