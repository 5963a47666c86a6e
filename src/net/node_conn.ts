// Copyright the deno-echo authors. MIT license.

// A `node:net` (or `node:tls`) socket as a `Deno.Conn`, for the one thing
// `Deno.connect` cannot do: bind the client's own address and port before
// connecting. Reads and writes, half-close, close, the streams and the
// addresses behave as on a `Deno.TcpConn`, and Node's error codes become the
// `Deno.errors` classes the rest of the code tells apart.

import type { Socket } from "node:net";

/** Node error codes and the `Deno.errors` class each one is. */
const ERROR_CLASSES: Readonly<Record<string, new (message: string) => Error>> =
  {
    ECONNREFUSED: Deno.errors.ConnectionRefused,
    ECONNRESET: Deno.errors.ConnectionReset,
    ECONNABORTED: Deno.errors.ConnectionAborted,
    EPIPE: Deno.errors.BrokenPipe,
    ETIMEDOUT: Deno.errors.TimedOut,
    EADDRINUSE: Deno.errors.AddrInUse,
    EADDRNOTAVAIL: Deno.errors.AddrNotAvailable,
    ENETUNREACH: Deno.errors.NetworkUnreachable,
    EHOSTUNREACH: Deno.errors.NetworkUnreachable,
    ENOTCONN: Deno.errors.NotConnected,
  };

/** Node's certificate and TLS error codes (they all mean a bad handshake). */
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH)/;

/**
 * Turns an error from a `node:net` or `node:tls` socket into the
 * `Deno.errors` class `Deno.connect` would have thrown (a certificate
 * problem becomes `InvalidData`, as from `Deno.connectTls`); anything else
 * is returned as it is.
 *
 * @example Map a refused connection
 * ```ts
 * import { denoError } from "./node_conn.ts";
 * import { assertInstanceOf } from "@std/assert";
 *
 * const error = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
 * assertInstanceOf(denoError(error), Deno.errors.ConnectionRefused);
 * ```
 *
 * @param error What the socket emitted.
 * @returns The error to throw, with the original as `cause`.
 */
export function denoError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return error;
  const Class = ERROR_CLASSES[code] ??
    (TLS_CODE.test(code) ? Deno.errors.InvalidData : undefined);
  if (Class === undefined) return error;
  const mapped = new Class((error as Error).message);
  Object.defineProperty(mapped, "cause", { value: error });
  Object.defineProperty(mapped, "code", { value: code });
  return mapped;
}

/**
 * A connected `node:net` or `node:tls` socket with the interface of a
 * `Deno.Conn`. The socket is read in paused mode, one chunk at a time, so
 * memory stays bounded by Node's chunk size whatever the peer sends.
 */
export class NodeConn implements Deno.Conn<Deno.NetAddr> {
  #socket: Socket;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #error: unknown;
  #closed = false;
  #wake: (() => void) | undefined;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  readonly #listeners: [string, (arg: Uint8Array & Error) => void][];

  /**
   * Wraps a socket that has connected (and, for TLS, finished its
   * handshake).
   *
   * @param socket The socket; the connection owns it from now on.
   */
  constructor(socket: Socket) {
    this.#socket = socket;
    this.#listeners = [
      ["data", (chunk: Uint8Array) => {
        this.#chunks.push(chunk);
        socket.pause();
        this.#notify();
      }],
      ["end", () => {
        this.#ended = true;
        this.#notify();
      }],
      ["error", (error: Error) => {
        this.#error ??= denoError(error);
        this.#notify();
      }],
      ["close", () => {
        this.#ended = true;
        this.#notify();
      }],
    ];
    for (const [event, listener] of this.#listeners) socket.on(event, listener);
    socket.pause();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** The socket's own address (what `--source` bound, say). */
  get localAddr(): Deno.NetAddr {
    const { localAddress = "", localPort = 0 } = this.#socket;
    return { transport: "tcp", hostname: localAddress, port: localPort };
  }

  /** The peer's address. */
  get remoteAddr(): Deno.NetAddr {
    const { remoteAddress = "", remotePort = 0 } = this.#socket;
    return { transport: "tcp", hostname: remoteAddress, port: remotePort };
  }

  /**
   * The next chunk the peer sent, whole; `null` at the end of the stream.
   *
   * @throws {Deno.errors.BadResource} If the connection is closed.
   */
  async #next(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#closed) {
        throw new Deno.errors.BadResource("The connection is closed");
      }
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) return chunk;
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#wake = resolve;
      this.#socket.resume();
      await promise;
    }
  }

  /**
   * Reads what has arrived, up to `p.length` bytes.
   *
   * @param p Where to put the bytes.
   * @returns How many bytes were read, or `null` at the end of the stream.
   */
  async read(p: Uint8Array): Promise<number | null> {
    const chunk = await this.#next();
    if (chunk === null) return null;
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#chunks.unshift(chunk.subarray(n));
    return n;
  }

  /**
   * Writes all of `p` and waits until the socket has taken it.
   *
   * @param p The bytes.
   * @returns `p.length`.
   */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) {
      return Promise.reject(
        new Deno.errors.BadResource("The connection is closed"),
      );
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.#socket.write(p, (error) => {
      if (error) reject(this.#error ?? denoError(error));
      else resolve(p.length);
    });
    return promise;
  }

  /** Half-closes: no more writes; reading goes on. */
  async closeWrite(): Promise<void> {
    if (this.#closed) {
      throw new Deno.errors.BadResource("The connection is closed");
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#socket.end(() => resolve());
    await promise;
  }

  /**
   * Closes the connection at once.
   *
   * @throws {Deno.errors.BadResource} If it is closed already.
   */
  close(): void {
    if (this.#closed) {
      throw new Deno.errors.BadResource("The connection is closed");
    }
    this.#closed = true;
    this.#socket.destroy();
    this.#notify();
  }

  /**
   * Hands the socket over (to `node:tls`, say) and retires this connection:
   * unread bytes go back into the socket, the listeners come off.
   *
   * @returns The socket, still connected.
   */
  detach(): Socket {
    for (const [event, listener] of this.#listeners) {
      this.#socket.off(event, listener);
    }
    for (const chunk of this.#chunks.reverse()) this.#socket.unshift(chunk);
    this.#chunks.length = 0;
    this.#closed = true;
    return this.#socket;
  }

  /** Keeps the process alive while the connection is open. */
  ref(): void {
    this.#socket.ref();
  }

  /** Lets the process exit while the connection is open. */
  unref(): void {
    this.#socket.unref();
  }

  /** The bytes the peer sends; cancelling it closes the connection. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const chunk = await this.#next();
        if (chunk === null) {
          controller.close();
          this.#closeQuietly();
        } else controller.enqueue(chunk as Uint8Array<ArrayBuffer>);
      },
      cancel: () => this.#closeQuietly(),
    });
    return this.#readable;
  }

  /** Where to write; closing it closes the whole connection. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => void await this.write(chunk),
      close: () => this.#closeQuietly(),
      abort: () => this.#closeQuietly(),
    });
    return this.#writable;
  }

  #closeQuietly(): void {
    if (!this.#closed) this.close();
  }

  /** Closes the connection unless it is closed already. */
  [Symbol.dispose](): void {
    this.#closeQuietly();
  }
}
