// Copyright the deno-echo authors. MIT license.

/**
 * Calls an embedder's hook; a hook that throws must not take the server down.
 *
 * @param hook The hook, if one was given.
 * @param args What it is told.
 */
export function callHook<A extends unknown[]>(
  hook: ((...args: A) => void) | undefined,
  ...args: A
): void {
  if (hook === undefined) return;
  try {
    hook(...args);
  } catch {
    // Hooks are the embedder's; their failures are theirs to report.
  }
}

/**
 * Closes a server when a signal aborts (at once if it has already), and
 * stops listening to the signal once the server has finished.
 *
 * @param signal The embedder's signal, if any.
 * @param server Anything with `close()` and `finished`.
 */
export function closeOnAbort(
  signal: AbortSignal | undefined,
  server: { close(): unknown; readonly finished: Promise<unknown> },
): void {
  if (signal === undefined) return;
  if (signal.aborted) server.close();
  const onAbort = (): void => void server.close();
  signal.addEventListener("abort", onAbort, { once: true });
  server.finished.then(() => signal.removeEventListener("abort", onAbort));
}
