// Copyright the deno-echo authors. MIT license.

// A client's chosen local address, shared by the TCP, TLS and UDP clients.

import { ipFamily } from "./address.ts";
import type { IPFamily } from "./resolve.ts";

/** A local address (and port) to connect from. */
export interface SourceAddress {
  /** An IP literal of this host (IPv6 without brackets); `0.0.0.0` or `::` leave the choice to the system. */
  hostname: string;
  /**
   * The local port; 0 lets the system pick.
   *
   * @default {0}
   */
  port?: number;
}

/**
 * The family of a source address, checked against `-4`/`-6`.
 *
 * @param source The source.
 * @param family The family asked for, if any.
 * @returns The source's family.
 * @throws {RangeError} If the source is no IP literal, or of the other
 * family.
 */
export function sourceFamily(
  source: SourceAddress,
  family: IPFamily | undefined,
): IPFamily {
  const own = ipFamily(source.hostname);
  if (own === 0) {
    throw new RangeError(
      `Invalid source "${source.hostname}": expected an IP address of this host`,
    );
  }
  if (family !== undefined && family !== own) {
    throw new RangeError(
      `Source ${source.hostname} is IPv${own}, but IPv${family} was asked for`,
    );
  }
  return own;
}
