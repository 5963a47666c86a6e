// Copyright the deno-echo authors. MIT license.

// A server-side `node:tls` socket with the read/write/closeWrite/close of a
// `Deno.Conn`, for the echo's conn loop. Each chunk of cleartext is copied
// once, into the buffer the loop reads into; a write hands the loop's buffer
// to TLS and settles when TLS is done with it. The socket is paused while a
// chunk waits to be read, and the duplex under it stops reading once it is
// a bounded amount ahead of the echo (TLS alone would read on), so a client
// that sends faster than it reads is held back by TCP flow control, as on a
// plain connection.

import type { TLSSocket } from "node:tls";
import type { ConnDuplex } from "./conn_duplex.ts";

/**
 * How long a closed connection may take to send its last bytes (the TLS
 * `close_notify` among them) before its socket is destroyed anyway, in ms.
 */
const CLOSE_GRACE = 2000;
/**
 * How long the reader waits, once the TCP stream under TLS has ended, for
 * `node:tls` to report that end or the peer's `close_notify`, in ms.
 */
const SWALLOWED_END_GRACE = 100;

/** A TLS connection, shaped like a `Deno.Conn` for the echo. */
export class TlsSocketConn {
  readonly #socket: TLSSocket;
  readonly #duplex: ConnDuplex;
  /** Cleartext received and not yet read, from `#offset` on. */
  #chunk: Uint8Array | undefined;
  #offset = 0;
  /** The peer ended its side (its `close_notify`). */
  #ended = false;
  #error: Error | undefined;
  #closed = false;
  #writing = 0;
  #wake: (() => void) | undefined;
  /** Ends a wait that TLS leaves unanswered (see `#watchSwallowedEnd`). */
  #endWatch: ReturnType<typeof setTimeout> | undefined;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /**
   * @param socket A server-side TLS socket whose handshake is done.
   * @param duplex The TCP connection under it.
   */
  constructor(socket: TLSSocket, duplex: ConnDuplex) {
    this.#socket = socket;
    this.#duplex = duplex;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunk = chunk;
      this.#offset = 0;
      socket.pause();
      this.#wakeReader();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wakeReader();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#wakeReader();
    });
    socket.on("close", () => {
      this.#error ??= new Deno.errors.UnexpectedEof(
        "The connection was closed without a TLS close_notify",
      );
      duplex.destroy();
      this.#wakeReader();
    });
    // Once the peer's close_notify is in, TLS must not see the TCP end
    // before our side is closed properly (see ConnDuplex.holdEof).
    duplex.holdEof = () => this.#ended || readableEnded(socket);
    duplex.on("end", () => {
      if (this.#wake !== undefined) this.#watchSwallowedEnd();
    });
    // `node:tls` finishes its side as soon as its close_notify is made, not
    // written: it hands its output to the duplex later, from a microtask and
    // one write after the other. Once finished and ended (the peer's
    // close_notify in), it destroys itself and the duplex under it, and
    // whatever it has not handed over yet, its close_notify last, is lost
    // whenever a write does not complete at once. So its side finishes only
    // once the duplex has written everything and ended.
    const final = (socket as unknown as FinalStream)._final;
    (socket as unknown as FinalStream)._final = (callback) =>
      final.call(socket, (error) => {
        if (error) return callback(error);
        duplex.endWhenFlushed(CLOSE_GRACE, () => callback());
      });
  }

  /** The ALPN protocol agreed on, if any. */
  get alpnProtocol(): string | undefined {
    const protocol = this.#socket.alpnProtocol;
    return typeof protocol === "string" ? protocol : undefined;
  }

  /** Bytes from the peer, as a web stream (the echo uses `read`). */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= new ReadableStream({
      pull: async (controller) => {
        const buffer = new Uint8Array(16 * 1024);
        const n = await this.read(buffer);
        if (n === null) controller.close();
        else controller.enqueue(buffer.subarray(0, n));
      },
    });
  }

  /** Bytes to the peer, as a web stream (the echo uses `write`). */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream({
      write: (chunk) => this.write(chunk).then(() => {}),
      close: () => this.closeWrite(),
    });
  }

  /**
   * Reads cleartext, as `Deno.Conn.read`.
   *
   * @param buffer Where to put it.
   * @returns How many bytes, or `null` once the peer has ended its side.
   */
  async read(buffer: Uint8Array): Promise<number | null> {
    for (;;) {
      const chunk = this.#chunk;
      if (chunk !== undefined) {
        const n = Math.min(buffer.length, chunk.length - this.#offset);
        buffer.set(chunk.subarray(this.#offset, this.#offset + n));
        this.#offset += n;
        if (this.#offset >= chunk.length) {
          this.#chunk = undefined;
          this.#socket.resume();
        }
        return n;
      }
      if (this.#closed) throw new Deno.errors.BadResource("Connection closed");
      if (this.#ended) return null;
      if (this.#error !== undefined) throw this.#error;
      // Everything decrypted is taken: let the duplex read on.
      this.#duplex.caughtUp();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (this.#duplex.readableEnded) this.#watchSwallowedEnd();
      });
    }
  }

  /**
   * Writes all of `data`, as `Deno.Conn.write` (which may write part).
   *
   * @param data The bytes; TLS is done with them when this settles.
   * @returns How many bytes were written: all of them.
   */
  write(data: Uint8Array): Promise<number> {
    if (this.#closed || this.#socket.destroyed) {
      return Promise.reject(
        this.#error ?? new Deno.errors.BrokenPipe("Connection closed"),
      );
    }
    this.#writing++;
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error?: Error | null) => {
        this.#writing--;
        if (error) reject(this.#error ?? error);
        else resolve(data.length);
      });
    });
  }

  /**
   * Ends our side with a TLS `close_notify`; reads go on.
   *
   * @returns Once it is sent.
   */
  closeWrite(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.writableFinished) return resolve();
      this.#socket.end(() => resolve());
    });
  }

  /**
   * Closes the connection: with a `close_notify` when nothing is stuck in
   * a write, else at once. A pending read fails. The socket's descriptor is
   * freed once the last bytes are out, or after 2 s at the latest.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeReader();
    const socket = this.#socket;
    const duplex = this.#duplex;
    const destroy = (): void => {
      try {
        socket.destroy();
      } finally {
        duplex.destroy();
      }
    };
    // A write stuck on a peer that does not read: tear down at once.
    if (socket.destroyed || this.#writing > 0) return destroy();
    const timer = setTimeout(destroy, CLOSE_GRACE);
    socket.end(() =>
      duplex.end(() => {
        clearTimeout(timer);
        destroy();
      })
    );
  }

  /**
   * The TCP stream under TLS has ended, and the reader has taken everything
   * and waits. `node:tls` reports that end, or the peer's `close_notify`
   * before it, within a few ticks; but a `close_notify` that came while the
   * echo's writes were slow (a client that reads its echo slowly) it takes
   * without a word, and the TCP end after it too. If the wait is still
   * unanswered after `SWALLOWED_END_GRACE`, the peer's input is over: it
   * ends as at its `close_notify`, and the echo ends its side properly. (A
   * bare TCP end that TLS left unreported the same way would count as the
   * end too; everything read before it has been echoed.)
   */
  #watchSwallowedEnd(): void {
    if (this.#endWatch !== undefined) return;
    this.#endWatch = setTimeout(() => {
      this.#endWatch = undefined;
      if (this.#wake === undefined || this.#error !== undefined) return;
      this.#ended = true;
      this.#wakeReader();
    }, SWALLOWED_END_GRACE);
  }

  #wakeReader(): void {
    clearTimeout(this.#endWatch);
    this.#endWatch = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** A Writable's `_final`, which `node:tls` sockets have. */
interface FinalStream {
  _final(callback: (error?: Error | null) => void): void;
}

/** Whether a stream's end was pushed (read or not). */
function readableEnded(socket: TLSSocket): boolean {
  const state = (socket as unknown as { _readableState?: { ended?: boolean } })
    ._readableState;
  return socket.readableEnded || state?.ended === true;
}
