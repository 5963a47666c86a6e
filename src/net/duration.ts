// Copyright the deno-echo authors. MIT license.

/**
 * The longest timeout a timer can wait, in milliseconds: 2^31 - 1, about
 * 24.8 days. `setTimeout` runs a longer delay after 1 ms instead (with a
 * `TimeoutOverflowWarning`), so every duration option is checked against it.
 */
export const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * Checks a duration option: a number of milliseconds from `min` to
 * {@linkcode MAX_TIMEOUT}.
 *
 * @example Accept and refuse durations
 * ```ts
 * import { checkDuration, MAX_TIMEOUT } from "./duration.ts";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(checkDuration("idleTimeout", 0), 0);
 * assertEquals(checkDuration("idleTimeout", MAX_TIMEOUT), MAX_TIMEOUT);
 * assertThrows(() => checkDuration("idleTimeout", MAX_TIMEOUT + 1), RangeError);
 * assertThrows(() => checkDuration("timeout", 0, 1), RangeError);
 * ```
 *
 * @param name The option's name, for the message.
 * @param value Its value.
 * @param min The least value allowed: 0, or 1 where 0 would mean at once.
 * @returns The value.
 * @throws {TypeError} If it is not a number.
 * @throws {RangeError} If it is NaN, below `min` or above
 * {@linkcode MAX_TIMEOUT}.
 */
export function checkDuration(name: string, value: number, min = 0): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Invalid ${name} ${JSON.stringify(value)}: expected a number of ms`,
    );
  }
  if (!(value >= min && value <= MAX_TIMEOUT)) {
    throw new RangeError(
      `Invalid ${name} ${value}: expected ${min} to ${MAX_TIMEOUT} ms (about 24.8 days)`,
    );
  }
  return value;
}
