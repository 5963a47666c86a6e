// Copyright the deno-echo authors. MIT license.

import { checkMaxV2Length, parseProxyHeader } from "./parse.ts";
import {
  DEFAULT_PROXY_HEADER_TIMEOUT,
  type ParseProxyHeaderOptions,
  PROXY_V1_MAX_LENGTH,
  PROXY_V2_FIXED_LENGTH,
  type ProxyHeader,
  ProxyHeaderError,
} from "./types.ts";

/** What {@linkcode readProxyHeader} reads from: a `Deno.Conn`, say. */
export interface ProxyHeaderReader {
  /**
   * Reads into `p`, as `Deno.Conn.read` does.
   *
   * @param p Where to put the bytes.
   * @returns How many bytes were read, or `null` at the end of the stream.
   */
  read(p: Uint8Array): Promise<number | null>;
}

/** How {@linkcode readProxyHeader} reads. */
export interface ReadProxyHeaderOptions extends ParseProxyHeaderOptions {
  /**
   * How long the peer has to send the whole header, in ms.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Read no byte past the header, so that `rest` is always empty: for a
   * caller that hands the connection on to a reader that cannot be given
   * bytes read before it. A v1 line then takes several small reads.
   *
   * @default {false}
   */
  exact?: boolean;
  /**
   * Stops the wait; the promise rejects with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** A PROXY header read from a connection, and what came after it. */
export interface ProxyHeaderRead {
  /** The header. */
  header: ProxyHeader;
  /** The header's length in bytes. */
  length: number;
  /**
   * The bytes the peer sent after the header that came in the same reads
   * (at most about 1 KiB): the first bytes of the connection's data, to be
   * handled before anything read later.
   */
  rest: Uint8Array;
}

/**
 * Reads the PROXY header (v1 or v2) a connection must begin with. However
 * the header is split across reads, it is read whole, and the bytes that
 * arrived with it come back in `rest`. Memory stays bounded whatever the
 * peer sends (one buffer of 16 plus `maxV2Length` bytes, or 107). The
 * connection is never closed here: on failure, closing it is the caller's
 * job, which also ends a read still pending.
 *
 * @example Read the header in front of a client's bytes
 * ```ts
 * import { readProxyHeader } from "./read.ts";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using conn = await listener.accept();
 * await client.write(
 *   new TextEncoder().encode("PROXY TCP4 203.0.113.7 127.0.0.1 51234 2000\r\nhi"),
 * );
 * const { header, rest } = await readProxyHeader(conn, { timeout: 5000 });
 * assertEquals(header.source, { transport: "tcp", hostname: "203.0.113.7", port: 51234 });
 * assertEquals(new TextDecoder().decode(rest), "hi");
 * ```
 *
 * @param conn The connection, before anything was read from it.
 * @param options Timeout, v2 length limit, exact reads, cancellation.
 * @returns The header, its length and the bytes that followed it.
 * @throws {ProxyHeaderError} If the bytes are not a valid header within the
 * limits, or the stream ends before a whole header.
 * @throws {Deno.errors.TimedOut} If no whole header came within `timeout`.
 * @throws {RangeError} If `timeout` or `maxV2Length` is out of range.
 */
export async function readProxyHeader(
  conn: ProxyHeaderReader,
  options: ReadProxyHeaderOptions = {},
): Promise<ProxyHeaderRead> {
  const maxV2Length = checkMaxV2Length(options.maxV2Length);
  const timeout = checkTimeout(options.timeout);
  const { exact = false, signal } = options;
  signal?.throwIfAborted();
  const capacity = Math.max(
    PROXY_V1_MAX_LENGTH,
    PROXY_V2_FIXED_LENGTH + maxV2Length,
  );
  const buffer = new Uint8Array(capacity);
  const { promise: stopped, reject } = Promise.withResolvers<never>();
  stopped.catch(() => {});
  const timer = setTimeout(() => {
    reject(
      new Deno.errors.TimedOut(`No complete PROXY header within ${timeout} ms`),
    );
  }, timeout);
  const onAbort = (): void => reject(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let have = 0;
    for (;;) {
      const result = parseProxyHeader(buffer.subarray(0, have), {
        maxV2Length,
      });
      if (result.done) {
        const { header, length } = result;
        return { header, length, rest: buffer.slice(length, have) };
      }
      const end = exact ? have + result.needed : capacity;
      const reading = conn.read(buffer.subarray(have, end));
      // Left pending on a timeout: it ends when the caller closes the conn.
      reading.catch(() => {});
      const n = await Promise.race([reading, stopped]);
      if (n === null) {
        throw new ProxyHeaderError(
          have === 0
            ? "Connection closed before a PROXY header"
            : `Connection closed after ${have} bytes of a PROXY header`,
        );
      }
      have += n;
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

function checkTimeout(value: number | undefined): number {
  if (value === undefined) return DEFAULT_PROXY_HEADER_TIMEOUT;
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw new RangeError(
      `Invalid timeout "${value}": expected a whole number of ms from 1 to 2147483647`,
    );
  }
  return value;
}
