// Copyright the deno-echo authors. MIT license.

import { concat } from "@std/bytes";
import { closeQuietly } from "../net/close.ts";
import { formatAddress, unmapIPv4 } from "../net/address.ts";

/** Options for {@linkcode EchoClient}. */
export interface EchoClientOptions {
  /**
   * The longest echoed line {@linkcode EchoClient.readLine} will hold, in
   * bytes; a longer one is an error rather than unbounded memory.
   *
   * @default {1048576}
   */
  maxLineLength?: number;
}

/** The longest echoed line unless told otherwise, in bytes. */
export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

const LF = 0x0a;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Checks a `maxLineLength` option.
 *
 * @param maxLineLength The value given, if any.
 * @returns The value to use.
 * @throws {RangeError} If it is not a whole number, 1 or more.
 */
export function checkMaxLineLength(
  maxLineLength: number = DEFAULT_MAX_LINE_LENGTH,
): number {
  if (!Number.isInteger(maxLineLength) || maxLineLength < 1) {
    throw new RangeError(`Invalid maxLineLength ${maxLineLength}`);
  }
  return maxLineLength;
}

/**
 * One connection to an echo server: send lines and read their echoes, or
 * round-trip raw bytes. It works over any stream connection: TCP, TLS or a
 * Unix socket, from {@linkcode connect} or opened by the caller.
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
 *
 * @example Wrap a connection opened by the caller (a Unix socket)
 * ```ts
 * import { EchoClient, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/echo.sock`;
 * {
 *   await using server = await serve({ listen: [`unix:${path}`] });
 *   const conn = await Deno.connect({ transport: "unix", path });
 *   await using client = new EchoClient(conn);
 *   assertEquals(await client.send("hi"), "hi");
 *   assertEquals(client.toString(), `unix:${path}`);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class EchoClient<C extends Deno.Conn = Deno.Conn>
  implements AsyncDisposable {
  /** The underlying connection. */
  readonly conn: C;
  readonly #maxLineLength: number;
  /** Bytes read past the last line returned. */
  #pending: Uint8Array = new Uint8Array(0);
  #readBuffer = new Uint8Array(16 * 1024);
  #eof = false;
  #closed = false;

  /**
   * Wraps an open connection: `Deno.TcpConn`, `Deno.TlsConn`,
   * `Deno.UnixConn` or any other `Deno.Conn`. The client owns it from then
   * on: {@linkcode EchoClient.close} closes it.
   *
   * @param conn A connection to an echo server.
   * @param options The longest line `readLine` accepts, in bytes.
   * @throws {RangeError} If `maxLineLength` is not a whole number, 1 or more.
   */
  constructor(conn: C, options: EchoClientOptions = {}) {
    this.#maxLineLength = checkMaxLineLength(options.maxLineLength);
    this.conn = conn;
  }

  /**
   * The server's address (IPv4-mapped addresses shown as IPv4); for a Unix
   * socket, its path.
   */
  get remoteAddr(): C["remoteAddr"] {
    const addr: Deno.Addr = this.conn.remoteAddr;
    if (addr.transport !== "tcp" && addr.transport !== "udp") return addr;
    const { transport, hostname, port } = addr;
    return { transport, hostname: unmapIPv4(hostname), port };
  }

  /** The server's address as `HOST:PORT` (`[V6]:PORT`, `unix:PATH`). */
  toString(): string {
    return formatAddress(this.remoteAddr);
  }

  /**
   * Sends one line and returns its echo.
   *
   * @param line Text without a newline; `\n` is appended.
   * @returns The echoed line, without its `\n`.
   * @throws {TypeError} If the line contains a newline; nothing is sent or
   * read then, and the client can go on.
   * @throws {Deno.errors.UnexpectedEof} If the server closes the connection
   * before echoing the whole line.
   */
  async send(line: string): Promise<string> {
    // Checked before the read starts: a read left waiting would take the
    // next line's echo.
    const bytes = lineBytes(line);
    const [, echoed] = await Promise.all([
      this.write(bytes),
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
    await this.write(lineBytes(line));
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

/** A line's bytes with its `\n`; throws a TypeError if it holds one already. */
function lineBytes(line: string): Uint8Array {
  if (line.includes("\n")) throw new TypeError("Line contains a newline");
  return encoder.encode(line + "\n");
}
