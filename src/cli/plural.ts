// Copyright the deno-echo authors. MIT license.

/**
 * A count and the noun it counts, singular for exactly one: `1 connection`,
 * `0 connections`, `3 datagrams`.
 *
 * @example Count things
 * ```ts
 * import { plural } from "./plural.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(plural(1, "connection"), "1 connection");
 * assertEquals(plural(0, "open connection"), "0 open connections");
 * assertEquals(plural(2, "more address", "more addresses"), "2 more addresses");
 * ```
 *
 * @param count How many.
 * @param one The noun for one.
 * @param many The noun for any other count.
 * @returns Both, with a space between.
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
