// Copyright the deno-echo authors. MIT license.

import { concat } from "@std/bytes";
import { closeQuietly } from "../net/close.ts";
import { formatAddress, unmapIPv4 } from "../net/address.ts";
import { dial, type DialOptions } from "./dial.ts";

/** Options for {@linkcode connect}. */
export interface ConnectOptions extends DialOptions {
  /**
   * The longest echoed line {@linkcode EchoClient.readLine} will hold, in
   * bytes; a longer one is an error rather than unbounded memory.
   *
   * @default {1048576}
   */
  maxLineLength?: number;
}

const LF = 0x0a;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Connects to an echo server.
 *
 * @example Send lines and read their echoes
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "::1", port: 0 });
 * await using client = await connect({ hostname: "::1", port: server.addrs[0]!.port });
 * assertEquals(await client.send("ping"), "ping");
 * assertEquals(await client.send("BYE"), "BYE");
 * assertEquals(await client.readLine(), null); // The server closed after BYE.
 * ```
 *
 * @param options Where to connect (default `localhost:2000`), family,
 * timeout, cancellation and the longest line to accept.
 * @returns A client for the new connection.
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 * @throws {UnknownHostError} If the name resolves to nothing usable.
 * @throws {ConnectTimeoutError} If `timeout` ran out.
 */
export async function connect(
  options: ConnectOptions = {},
): Promise<EchoClient> {
  const { maxLineLength = 1024 * 1024 } = options;
  if (!Number.isInteger(maxLineLength) || maxLineLength < 1) {
    throw new RangeError(`Invalid maxLineLength ${maxLineLength}`);
  }
  return new EchoClient(await dial(options), { maxLineLength });
}

/**
 * One connection to an echo server: send lines and read their echoes, or
 * round-trip raw bytes.
 *
 * @example Round-trip raw bytes
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0, quitWord: null });
 * await using client = await connect(server.addrs[0]!);
 * const bytes = new Uint8Array([0, 255, 10, 13]);
 * assertEquals(await client.echoBytes(bytes), bytes);
 * ```
 */
export class EchoClient implements AsyncDisposable {
  /** The underlying connection. */
  readonly conn: Deno.TcpConn;
  readonly #maxLineLength: number;
  /** Bytes read past the last line returned. */
  #pending: Uint8Array = new Uint8Array(0);
  #readBuffer = new Uint8Array(16 * 1024);
  #eof = false;
  #closed = false;

  /**
   * Wraps an open connection.
   *
   * @param conn A connection to an echo server.
   * @param options The longest line `readLine` accepts, in bytes.
   */
  constructor(conn: Deno.TcpConn, options: { maxLineLength?: number } = {}) {
    this.conn = conn;
    this.#maxLineLength = options.maxLineLength ?? 1024 * 1024;
  }

  /** The server's address (IPv4-mapped addresses shown as IPv4). */
  get remoteAddr(): Deno.NetAddr {
    const { transport, hostname, port } = this.conn.remoteAddr;
    return { transport, hostname: unmapIPv4(hostname), port };
  }

  /** The server's address as `HOST:PORT` (`[V6]:PORT`). */
  toString(): string {
    return formatAddress(this.remoteAddr);
  }

  /**
   * Sends one line and returns its echo.
   *
   * @param line Text without a newline; `\n` is appended.
   * @returns The echoed line, without its `\n`.
   * @throws {Deno.errors.UnexpectedEof} If the server closes the connection
   * before echoing the whole line.
   */
  async send(line: string): Promise<string> {
    const [, echoed] = await Promise.all([
      this.writeLine(line),
      this.readLine(),
    ]);
    if (echoed === null) {
      throw new Deno.errors.UnexpectedEof(
        "Server closed the connection before echoing the line",
      );
    }
    return echoed;
  }

  /**
   * Sends one line without waiting for its echo.
   *
   * @param line Text without a newline; `\n` is appended.
   * @throws {TypeError} If the line contains a newline.
   */
  async writeLine(line: string): Promise<void> {
    if (line.includes("\n")) throw new TypeError("Line contains a newline");
    await this.write(encoder.encode(line + "\n"));
  }

  /**
   * Reads the next echoed line.
   *
   * @returns The line without its `\n`, or `null` once the server has closed
   * the connection (a last line with no `\n` is returned first).
   * @throws {RangeError} If a line exceeds `maxLineLength` bytes.
   */
  async readLine(): Promise<string | null> {
    while (true) {
      const at = this.#pending.indexOf(LF);
      if (at > this.#maxLineLength) this.#tooLong();
      if (at >= 0) {
        const line = this.#pending.subarray(0, at);
        this.#pending = this.#pending.slice(at + 1);
        return decoder.decode(line);
      }
      if (this.#pending.length > this.#maxLineLength) this.#tooLong();
      const chunk = await this.#read();
      if (chunk === null) {
        if (this.#pending.length === 0) return null;
        const last = this.#pending;
        this.#pending = new Uint8Array(0);
        return decoder.decode(last);
      }
      this.#pending = concat([this.#pending, chunk]);
    }
  }

  /**
   * Sends bytes and returns exactly as many echoed bytes, writing and reading
   * at once so that large payloads cannot deadlock on full buffers.
   *
   * @param data Any bytes.
   * @returns The echo, as long as `data`.
   * @throws {Deno.errors.UnexpectedEof} If the server closes the connection
   * before echoing everything.
   */
  async echoBytes(data: Uint8Array): Promise<Uint8Array> {
    const result = new Uint8Array(data.length);
    const read = async (): Promise<void> => {
      let filled = Math.min(this.#pending.length, data.length);
      result.set(this.#pending.subarray(0, filled));
      this.#pending = this.#pending.slice(filled);
      while (filled < data.length) {
        const chunk = await this.#read();
        if (chunk === null) {
          throw new Deno.errors.UnexpectedEof(
            `Server closed the connection with ${
              data.length - filled
            } bytes not echoed`,
          );
        }
        const take = Math.min(chunk.length, data.length - filled);
        result.set(chunk.subarray(0, take), filled);
        if (take < chunk.length) this.#pending = chunk.slice(take);
        filled += take;
      }
    };
    await Promise.all([this.write(data), read()]);
    return result;
  }

  /**
   * Writes bytes without waiting for their echo.
   *
   * @param data Any bytes; all of them are written.
   */
  async write(data: Uint8Array): Promise<void> {
    for (let off = 0; off < data.length;) {
      off += await this.conn.write(data.subarray(off));
    }
  }

  /** Tells the server no more data is coming; echoes can still be read. */
  async closeWrite(): Promise<void> {
    await this.conn.closeWrite();
  }

  /** Closes the connection. Safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.conn);
  }

  /** Closes the connection (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #tooLong(): never {
    throw new RangeError(
      `Echoed line longer than ${this.#maxLineLength} bytes`,
    );
  }

  async #read(): Promise<Uint8Array | null> {
    if (this.#eof) return null;
    const n = await this.conn.read(this.#readBuffer);
    if (n === null) {
      this.#eof = true;
      return null;
    }
    return this.#readBuffer.slice(0, n);
  }
}
