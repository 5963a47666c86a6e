// Copyright the deno-echo authors. MIT license.

// Unix domain socket listeners that never take another server's socket
// file: not when they bind (a live socket is in use, only a stale one is
// replaced) and not when they stop (only the very file they bound is
// removed, by device and inode).

/** Called when a stale socket file (nothing listening) is replaced. */
export type StaleSocketHook = (path: string) => void;

/** Which file a path named: device and inode (`null` where not Unix). */
interface FileId {
  dev: number;
  ino: number | null;
}

function sameFile(a: FileId, b: FileId): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

const noop = (): void => {};

/**
 * A Unix listener that knows which socket file it bound.
 *
 * Deno 2.9 removes a Unix listener's path when the listener is dropped
 * (after `close()`, once a pending `accept()` has ended), whatever file the
 * path names by then. When the path holds another socket at `close()` (a
 * newer server's, bound after ours was deleted), that file is hard-linked
 * aside first and linked back once Deno has removed the path, so the newer
 * server keeps its socket (its path is missing for that moment only).
 */
class UnixSocketListener implements Deno.UnixListener {
  readonly #inner: Deno.UnixListener;
  readonly #path: string;
  readonly #bound: FileId | undefined;
  /** Accepts pending: the listener is dropped once they have ended. */
  readonly #accepting = new Set<Promise<void>>();
  /** Set by `close()`: done once the listener's path is as it should be. */
  #restored: Promise<void> | undefined;

  constructor(inner: Deno.UnixListener, path: string, bound?: FileId) {
    this.#inner = inner;
    this.#path = path;
    this.#bound = bound;
  }

  get addr(): Deno.UnixAddr {
    return this.#inner.addr;
  }

  accept(): Promise<Deno.UnixConn> {
    const accepted = this.#inner.accept();
    const settled = accepted.then(noop, noop);
    this.#accepting.add(settled);
    void settled.then(() => this.#accepting.delete(settled));
    return accepted;
  }

  close(): void {
    if (this.#restored !== undefined) return this.#inner.close();
    const aside = this.#linkNewerAside();
    this.#inner.close();
    this.#restored = aside === undefined
      ? Promise.resolve()
      : Promise.all(this.#accepting).then(() => this.#linkBack(aside));
  }

  ref(): void {
    this.#inner.ref();
  }

  unref(): void {
    this.#inner.unref();
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<Deno.UnixConn> {
    while (true) {
      try {
        yield await this.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        throw error;
      }
    }
  }

  [Symbol.dispose](): void {
    try {
      this.close();
    } catch {
      // Closed already.
    }
  }

  /**
   * Removes the socket file if the path still names the one bound. Waits
   * first for what `close()` started.
   */
  async removeFile(): Promise<void> {
    await this.#restored;
    if (this.#bound === undefined) return;
    try {
      const now = await Deno.lstat(this.#path);
      if (now.isSocket && sameFile(now, this.#bound)) {
        await Deno.remove(this.#path);
      }
    } catch {
      // Gone already (Deno removed it), or not ours to remove.
    }
  }

  /** If another socket holds the path, links it aside; returns where. */
  #linkNewerAside(): string | undefined {
    if (this.#bound === undefined) return undefined;
    try {
      const now = Deno.lstatSync(this.#path);
      if (!now.isSocket || sameFile(now, this.#bound)) return undefined;
      const aside = `${this.#path}.${Deno.pid}-${
        crypto.randomUUID().slice(0, 8)
      }.keep`;
      Deno.linkSync(this.#path, aside);
      return aside;
    } catch {
      // Nothing at the path, or no permission to link: nothing to keep.
      return undefined;
    }
  }

  async #linkBack(aside: string): Promise<void> {
    try {
      await Deno.link(aside, this.#path);
    } catch {
      // Taken again meanwhile: that file stays.
    }
    await Deno.remove(aside).catch(noop);
  }
}

/**
 * Opens a Unix domain socket listener at `path`. A socket file left by a
 * crashed server (connecting to it is refused) is removed and reported; a
 * live socket is `AddrInUse`; a path that is not a socket is never deleted.
 * {@linkcode removeUnixSocket} removes the socket file when done.
 *
 * @param path Where the socket goes.
 * @param onStale Told when a stale socket file was removed.
 * @returns The listener.
 * @throws {Deno.errors.AddrInUse} If a server is listening at `path`.
 * @throws {Deno.errors.AlreadyExists} If `path` exists and is not a socket.
 */
export async function listenUnix(
  path: string,
  onStale?: StaleSocketHook,
): Promise<Deno.UnixListener> {
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (info !== undefined) {
    if (!info.isSocket) {
      throw new Deno.errors.AlreadyExists(
        `${path} exists and is not a socket; refusing to replace it. Remove it yourself if it is not needed, or choose another path`,
      );
    }
    try {
      const probe = await Deno.connect({ transport: "unix", path });
      probe.close();
      throw new Deno.errors.AddrInUse(
        `A server is already listening on ${path}`,
      );
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    }
    await Deno.remove(path);
    onStale?.(path);
  }
  const listener = Deno.listen({ transport: "unix", path });
  let bound: FileId | undefined;
  try {
    const { dev, ino } = Deno.lstatSync(path);
    bound = { dev, ino };
  } catch {
    // Removed already (by another program): nothing to clean up later.
  }
  return new UnixSocketListener(listener, path, bound);
}

/**
 * Removes the socket file a listener from {@linkcode listenUnix} bound, if
 * the path still holds that very file (the same device and inode). A newer
 * server's socket at the same path, bound after ours was removed or
 * replaced, is left alone; so is anything that is not a socket.
 *
 * @param listener The listener, closed.
 * @returns Once the file is removed, or found not to be ours.
 */
export async function removeUnixSocket(
  listener: Deno.UnixListener,
): Promise<void> {
  if (listener instanceof UnixSocketListener) await listener.removeFile();
}
