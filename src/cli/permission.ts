// Copyright the deno-echo authors. MIT license.

// Failures that are Deno's permissions at work, and the flag that grants
// what was denied. Shared by both programs' exit tables.

import { UnknownHostError } from "../net/resolve.ts";
import { errorText } from "./cli.ts";

/** A permission Deno denied, and the flag that grants it. */
export interface DeniedPermission {
  /** What was denied, as Deno words it: `net access to "127.0.0.1:7"`. */
  what: string;
  /** The flag to run with: `--allow-net`. */
  flag: string;
}

/**
 * Tells whether an error is Deno denying a permission: a `NotCapable`
 * error, or a name lookup that node:dns failed with `EPERM` because net
 * access to the name is not granted.
 *
 * @param error Anything a run threw.
 * @returns What was denied and the flag to add, or `undefined`.
 *
 * @example Name the flag
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { deniedPermission } from "./permission.ts";
 *
 * const error = new Deno.errors.NotCapable(
 *   'Requires read access to "ca.pem", run again with the --allow-read flag',
 * );
 * assertEquals(deniedPermission(error), {
 *   what: 'read access to "ca.pem"',
 *   flag: "--allow-read",
 * });
 * assertEquals(deniedPermission(new Error("other")), undefined);
 * ```
 */
export function deniedPermission(error: unknown): DeniedPermission | undefined {
  if (error instanceof Deno.errors.NotCapable) {
    const message = errorText(error);
    return {
      what: /^Requires (.+?), run again/.exec(message)?.[1] ?? message,
      flag: /--allow-[a-z-]+/.exec(message)?.[0] ?? "the --allow flag it needs",
    };
  }
  // A lookup fails with EPERM only when Deno denies it (getaddrinfo itself
  // has no such error).
  if (
    error instanceof UnknownHostError &&
    (error.cause as { code?: unknown } | undefined)?.code === "EPERM"
  ) {
    return {
      what: `net access to look up "${error.hostname}"`,
      flag: "--allow-net",
    };
  }
  return undefined;
}
