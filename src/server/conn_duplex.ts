// Copyright the deno-echo authors. MIT license.

// A `Deno.Conn` as a node:stream Duplex, for `node:tls` to run TLS over.
// Why not `Deno.listenTls`: a `TlsConn` closed during its handshake keeps
// its socket until the peer goes away, so silent clients pile up
// descriptors whatever the limits say; destroying this Duplex closes the
// `Deno.Conn`, and the descriptor with it, at once.

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { closeQuietly } from "../net/close.ts";

/**
 * Read sizes: an idle connection's pending read holds the smallest (TLS
 * alerts and small records fit); a read that fills it doubles the next, up
 * to four records' worth; a short one halves it.
 */
const MIN_READ = 2 * 1024;
const MAX_READ = 64 * 1024;
/**
 * Bytes read ahead of the echo, at most: past this the connection is not
 * read until the echo has taken what TLS decrypted, so a client that sends
 * without reading is held back by TCP flow control. (`node:tls` reads its
 * stream on while its cleartext side is paused.) Such a client holds about
 * this much twice over (ciphertext and what it decrypted to): past the first
 * 20 of them, each cost the server 1.6 MB with 1 MiB here, 0.65 MB with
 * 256 KiB, and bulk echo over TLS was as fast.
 */
export const READ_AHEAD_LIMIT = 256 * 1024;

/** What watches the bytes of a {@linkcode ConnDuplex}. */
export interface ConnTap {
  /** Bytes read from the client, in order. */
  fromClient(bytes: Uint8Array): void;
  /** Bytes written to the client, in order. */
  fromServer(bytes: Uint8Array): void;
}

/**
 * A `Deno.Conn` as a Duplex of ciphertext. Bytes already read from the
 * connection (after a PROXY header, say) come out first. Destroying it
 * closes the connection.
 *
 * The end of the TCP stream can be held back: `node:tls` destroys its
 * socket, without sending its own `close_notify`, as soon as the stream
 * under it ends. Once the peer's `close_notify` has been read, TLS needs no
 * TCP end-of-stream, so {@linkcode ConnDuplex.holdEof} keeps it from TLS
 * until the echo has ended its side properly.
 */
export class ConnDuplex extends Duplex {
  readonly #conn: Deno.Conn;
  #first: Uint8Array | undefined;
  #readSize = MIN_READ;
  /** Bytes read since the reader last caught up (see `caughtUp`). */
  #ahead = 0;
  /** A read TLS asked for and that waits for the reader to catch up. */
  #held = false;
  /** Asked when the TCP stream ends: whether to keep that from TLS. */
  holdEof: (() => boolean) | undefined;
  /** Shown every byte, both ways, while set (during the handshake). */
  tap: ConnTap | undefined;
  /** Told when a write is done, while {@linkcode endWhenFlushed} waits. */
  #written: (() => void) | undefined;

  /**
   * @param conn The connection; this Duplex owns it from now on.
   * @param first Bytes read from it already, to come out first.
   */
  constructor(conn: Deno.Conn, first?: Uint8Array) {
    super({ allowHalfOpen: true });
    this.#conn = conn;
    this.#first = first?.length ? first : undefined;
    // Its errors reach TLS as its close; unheard, they would be uncaught.
    this.on("error", () => {});
  }

  override _read(): void {
    const first = this.#first;
    if (first !== undefined) {
      this.#first = undefined;
      // Not before the next macrotask: `node:tls` asks for its first read
      // while it is being made and starts its handshake on a later tick; a
      // bad record pushed now would destroy it before then, and its start
      // would throw, uncaught, on the destroyed socket.
      setTimeout(() => {
        if (!this.destroyed) {
          this.tap?.fromClient(first);
          this.push(
            Buffer.from(first.buffer, first.byteOffset, first.byteLength),
          );
        }
      }, 0);
      return;
    }
    if (this.#ahead >= READ_AHEAD_LIMIT) {
      this.#held = true;
      return;
    }
    // A new buffer each time: TLS keeps what was pushed until it is read.
    const buffer = Buffer.allocUnsafe(this.#readSize);
    this.#conn.read(buffer).then((n) => {
      if (n === null) {
        if (!this.holdEof?.()) this.push(null);
        return;
      }
      this.#ahead += n;
      this.tap?.fromClient(buffer.subarray(0, n));
      if (n === buffer.length) {
        this.#readSize = Math.min(MAX_READ, this.#readSize * 2);
      } else if (n < buffer.length / 4) {
        this.#readSize = Math.max(MIN_READ, this.#readSize / 2);
      }
      this.push(buffer.subarray(0, n));
    }, (error) => this.destroy(error));
  }

  /**
   * The reader above TLS has taken everything it was given and waits for
   * more: what was read so far is consumed, and a read held back at
   * {@linkcode READ_AHEAD_LIMIT} goes ahead.
   */
  caughtUp(): void {
    this.#ahead = 0;
    if (!this.#held) return;
    this.#held = false;
    this._read();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.tap?.fromServer(chunk);
    writeAll(this.#conn, chunk).then(() => {
      callback();
      this.#written?.();
    }, callback);
  }

  /**
   * Ends the TCP stream once everything written to it is out: what
   * `node:tls` still hands over after its own end (see tls_conn.ts)
   * included.
   *
   * @param timeout Milliseconds to wait for a write that does not end.
   * @param callback Called once ended (or destroyed, or given up on).
   */
  endWhenFlushed(timeout: number, callback: () => void): void {
    let done = false;
    const finish = (end: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.off("close", closed);
      this.#written = undefined;
      if (end && !this.destroyed && !this.writableFinished) {
        this.end(() => callback());
      } else callback();
    };
    // A write that does not end (a peer that does not read): give up.
    const timer = setTimeout(() => finish(false), timeout);
    const closed = (): void => finish(false);
    this.once("close", closed);
    // `node:tls` hands its output over from a microtask queued after this
    // call, each record after the write of the one before is done (in that
    // write's callback): look once those have had their turn.
    const check = (): void => {
      if (this.destroyed || this.writableLength === 0) finish(true);
    };
    const later = (): void => queueMicrotask(() => queueMicrotask(check));
    this.#written = later;
    later();
  }

  override _final(callback: (error?: Error | null) => void): void {
    const conn = this.#conn as Partial<Deno.TcpConn>;
    if (conn.closeWrite === undefined) return callback();
    conn.closeWrite().then(() => callback(), () => callback());
  }

  override _destroy(
    error: Error | null,
    callback: (error?: Error | null) => void,
  ): void {
    closeQuietly(this.#conn);
    callback(error);
  }
}

async function writeAll(conn: Deno.Conn, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.length;) {
    off += await conn.write(off === 0 ? chunk : chunk.subarray(off));
  }
}
