// Copyright the deno-echo authors. MIT license.

// The accept loop both servers use (the echo listeners and the metrics
// endpoint): a failed accept never ends it, and running out of descriptors
// makes it back off instead of spinning.

/** Errors of `accept()` that concern one would-be connection, not the listener. */
const PER_CONNECTION_ERRORS = [
  Deno.errors.ConnectionAborted,
  Deno.errors.ConnectionReset,
  Deno.errors.NotConnected,
];
/** First wait after an accept that failed for the listener, in ms. */
const BACKOFF_MIN = 5;
/** Longest wait between accepts that fail, in ms. */
const BACKOFF_MAX = 1000;

/**
 * Accepts connections until `stop` aborts or the listener is closed, and
 * hands each to `onConn`. An error that concerns one connection (a client
 * that reset before it was accepted) is skipped; any other (out of file
 * descriptors) waits 5 ms, doubling up to 1 s while accepts keep failing,
 * and tries again.
 *
 * @example Serve until stopped
 * ```ts
 * import { acceptLoop } from "./accept_loop.ts";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stop = new AbortController();
 * const seen: Deno.Conn[] = [];
 * const loop = acceptLoop(listener, stop.signal, (conn) => {
 *   seen.push(conn);
 *   conn.close();
 *   stop.abort();
 * });
 * const { port } = listener.addr;
 * using _client = await Deno.connect({ hostname: "127.0.0.1", port });
 * await loop;
 * assertEquals(seen.length, 1);
 * ```
 *
 * @param listener Where to accept.
 * @param stop Ends the loop (close the listener too, to end a pending accept).
 * @param onConn Takes each connection accepted.
 * @param onError Told of every failed accept, before the loop goes on.
 * @returns Settles when the loop has ended.
 */
export async function acceptLoop(
  listener: { accept(): Promise<Deno.Conn> },
  stop: AbortSignal,
  onConn: (conn: Deno.Conn) => void,
  onError?: (error: Error) => void,
): Promise<void> {
  let backoff = 0;
  while (!stop.aborted) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (stop.aborted || error instanceof Deno.errors.BadResource) return;
      onError?.(error as Error);
      if (PER_CONNECTION_ERRORS.some((type) => error instanceof type)) {
        continue;
      }
      backoff = Math.min(Math.max(backoff * 2, BACKOFF_MIN), BACKOFF_MAX);
      await sleep(backoff, stop);
      continue;
    }
    backoff = 0;
    onConn(conn);
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
