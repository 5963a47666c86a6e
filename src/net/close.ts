// Copyright the deno-echo authors. MIT license.

/**
 * Closes a connection or listener that may be closed already (a connection
 * closes itself when its readable stream ends, for one).
 *
 * @param resource Anything with a `close()` that throws once closed.
 */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}
