// Copyright the deno-echo authors. MIT license.

import { ipFamily } from "./address.ts";

/** An IP family: 4 or 6. */
export type IPFamily = 4 | 6;

/** One address a hostname names. */
export interface ResolvedAddress {
  /** An IP literal. */
  address: string;
  /**
   * Added by convention rather than named by the resolver (`localhost` as
   * both loopbacks): failing to use it is not an error.
   */
  optional: boolean;
}

/**
 * Raised when a hostname names no address (of the wanted family).
 *
 * @example Tell an unknown host from other failures
 * ```ts
 * import { connect, UnknownHostError } from "@deno-echo/echo";
 * import { assert } from "@std/assert";
 *
 * try {
 *   await connect({ hostname: "no-such-host.invalid", port: 7 });
 * } catch (error) {
 *   assert(error instanceof UnknownHostError);
 * }
 * ```
 */
export class UnknownHostError extends Error {
  /** The name that was looked up. */
  readonly hostname: string;
  /**
   * The lookup could not be made (the name server did not answer,
   * `EAI_AGAIN`), so the name may well exist: trying again later may work.
   */
  readonly temporary: boolean;

  /**
   * Makes the error for one name.
   *
   * @param hostname The name that was looked up.
   * @param detail Why, in a few words.
   * @param options The underlying error as `cause`; `temporary` when the
   * lookup could not be made (default `false`).
   */
  constructor(
    hostname: string,
    detail: string,
    options?: ErrorOptions & { temporary?: boolean },
  ) {
    super(`Unknown host "${hostname}": ${detail}`, options);
    this.name = "UnknownHostError";
    this.hostname = hostname;
    this.temporary = options?.temporary ?? false;
  }
}

const LOOPBACKS: readonly string[] = ["127.0.0.1", "::1"];

/**
 * Every address a hostname names, in the resolver's order, IPv4-only or
 * IPv6-only when a family is given. `localhost` always includes both
 * loopbacks (the extra ones marked optional); `::` and `0.0.0.0` are
 * returned as they are.
 *
 * @param hostname A name or an IP literal (without brackets).
 * @param family Keep only this family.
 * @returns At least one address.
 * @throws {UnknownHostError} If the name resolves to nothing usable.
 */
export async function resolveAll(
  hostname: string,
  family?: IPFamily,
): Promise<ResolvedAddress[]> {
  const literal = ipFamily(hostname);
  if (literal !== 0) {
    if (family !== undefined && literal !== family) {
      throw new UnknownHostError(
        hostname,
        `it is an IPv${literal} address but IPv${family} was asked for`,
      );
    }
    return [{ address: hostname, optional: false }];
  }
  let found: { address: string; family: number }[];
  try {
    // Loaded on first use: node:dns costs ~5 ms at start, and IP literals
    // never need it.
    const { lookup } = await import("node:dns/promises");
    found = await lookup(hostname, { all: true });
  } catch (error) {
    throw lookupError(hostname, error);
  }
  const result: ResolvedAddress[] = [];
  const add = (address: string, optional: boolean): void => {
    if (family !== undefined && ipFamily(address) !== family) return;
    if (result.some((r) => r.address === address)) return;
    result.push({ address, optional });
  };
  for (const entry of found) add(entry.address, false);
  if (/^localhost\.?$/i.test(hostname)) {
    for (const address of LOOPBACKS) add(address, true);
  }
  if (result.length === 0) {
    throw new UnknownHostError(
      hostname,
      `it has no IPv${family} address`,
    );
  }
  return result;
}

/**
 * What a failed `node:dns` lookup means: no such name (`ENOTFOUND`,
 * `ENODATA`), a name server that did not answer (`EAI_AGAIN`, `ETIMEOUT`:
 * temporary), or another failure, named by its code.
 *
 * @param hostname The name looked up.
 * @param error What the lookup threw.
 * @returns The error to throw, with `error` as its cause.
 */
export function lookupError(
  hostname: string,
  error: unknown,
): UnknownHostError {
  const code = (error as { code?: string }).code;
  const temporary = code === "EAI_AGAIN" || code === "ETIMEOUT";
  const detail = code === "ENOTFOUND" || code === "ENODATA"
    ? "no such name"
    : temporary
    ? `the name server did not answer (${code})`
    : `name lookup failed (${code ?? String(error)})`;
  return new UnknownHostError(hostname, detail, { cause: error, temporary });
}
