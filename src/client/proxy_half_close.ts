// Copyright the deno-echo authors. MIT license.

// Half-closing through a proxy. A client that has sent everything
// half-closes and reads the rest of the echo; but some proxies (tinyproxy,
// seen here: the echo of a line sent just before the half-close never
// arrived, four times in five) tear the whole tunnel down when the client
// half-closes, dropping the echo still on its way. For echo traffic the
// half-close can wait: it is sent once every byte written has been read
// back (or at once, when that is so already).

/**
 * A connection whose `closeWrite()` waits until as many bytes have been
 * read as were written. For echo traffic through a proxy only.
 */
export class EchoHalfClose implements Deno.Conn {
  readonly #inner: Deno.Conn;
  #written = 0;
  #read = 0;
  #wanted = false;
  #sent = false;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /**
   * Wraps a connection.
   *
   * @param inner The connection; this one owns it from now on.
   */
  constructor(inner: Deno.Conn) {
    this.#inner = inner;
  }

  /** The local address. */
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }

  /** The peer's address (the proxy's). */
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }

  #counted(n: number): void {
    this.#read += n;
    this.#flush();
  }

  #flush(): void {
    if (!this.#wanted || this.#sent || this.#read < this.#written) return;
    this.#sent = true;
    this.#inner.closeWrite().catch(() => {});
  }

  /**
   * Reads, counting the bytes.
   *
   * @param p Where to put them.
   * @returns How many, or `null` at the end of the stream.
   */
  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#inner.read(p);
    if (n !== null) this.#counted(n);
    return n;
  }

  /**
   * Writes, counting the bytes.
   *
   * @param p The bytes.
   * @returns How many were written.
   */
  async write(p: Uint8Array): Promise<number> {
    const n = await this.#inner.write(p);
    this.#written += n;
    return n;
  }

  /**
   * Half-closes once every byte written has been read back; resolves at
   * once.
   */
  closeWrite(): Promise<void> {
    this.#wanted = true;
    this.#flush();
    return Promise.resolve();
  }

  /** Closes the connection. */
  close(): void {
    this.#inner.close();
  }

  /** Keeps the process alive while the connection is open. */
  ref(): void {
    this.#inner.ref();
  }

  /** Lets the process exit while the connection is open. */
  unref(): void {
    this.#inner.unref();
  }

  /** The bytes the peer sends, counted as they pass. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= this.#inner.readable.pipeThrough(
      new TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>({
        transform: (chunk, controller) => {
          controller.enqueue(chunk);
          this.#counted(chunk.length);
        },
      }),
    );
    return this.#readable;
  }

  /** Where to write; closing it closes the whole connection. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        for (let off = 0; off < chunk.length;) {
          off += await this.write(chunk.subarray(off));
        }
      },
      close: () => this.close(),
      abort: () => this.close(),
    });
    return this.#writable;
  }

  /** Closes the connection unless it is closed already. */
  [Symbol.dispose](): void {
    try {
      this.#inner.close();
    } catch {
      // Closed already.
    }
  }
}
