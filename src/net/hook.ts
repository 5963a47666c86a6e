// Copyright the deno-echo authors. MIT license.

/**
 * Calls an embedder's hook; a hook that throws, or an async hook whose
 * promise rejects, must not take the server down.
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
    // Typed as returning void, but an async function fits that type too.
    const result: unknown = hook(...args);
    if (isThenable(result)) result.then(undefined, ignore);
  } catch {
    // Hooks are the embedder's; their failures are theirs to report.
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

function ignore(): void {}

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
