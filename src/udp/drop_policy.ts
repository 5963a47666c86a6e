// Copyright the deno-echo authors. MIT license.

// Which datagrams the UDP echo server refuses to echo: the rules that keep
// it out of reflection and loop attacks, and the size and rate limits.

import { unmapIPv4 } from "../net/address.ts";
import type { SourceLimiter } from "./source_limiter.ts";

/**
 * Source ports of UDP services that answer whatever reaches them. A datagram
 * "from" one of them is never echoed, whatever the options: an echo sent to
 * such a service is answered, that answer is echoed, and so on for ever.
 * With a spoofed source address one datagram starts a loop between two
 * servers (the classic echo-chargen storm; CVE-2024-2169, "Loop DoS"), and
 * the services that amplify (DNS, NTP, SSDP, memcached, ...) make reflection
 * attacks through the echo worse. The list:
 *
 * 7 echo, 13 daytime, 17 qotd, 19 chargen, 37 time, 53 dns, 69 tftp,
 * 111 portmap, 123 ntp, 137 netbios-ns, 161 snmp, 389 cldap, 1900 ssdp,
 * 5353 mdns, 11211 memcached.
 *
 * @example Check a port
 * ```ts
 * import { REFLECTOR_PORTS } from "@deno-echo/echo";
 * import { assert } from "@std/assert";
 *
 * assert(REFLECTOR_PORTS.has(19) && !REFLECTOR_PORTS.has(2000));
 * ```
 */
export const REFLECTOR_PORTS: ReadonlySet<number> = new Set([
  7, // echo: two echo servers answer each other for ever
  13, // daytime
  17, // qotd
  19, // chargen: answers anything with a line of characters
  37, // time
  53, // dns
  69, // tftp: answers garbage with an error packet
  111, // portmap
  123, // ntp
  137, // netbios-ns
  161, // snmp
  389, // cldap
  1900, // ssdp
  5353, // mdns
  11211, // memcached
]);

/** The first port that is not privileged (only root may bind below it). */
const FIRST_UNPRIVILEGED_PORT = 1024;

/** Why a datagram was not echoed. */
export type UdpDropReason =
  /** From a port below 1024 (or port 0) without `allowPrivilegedSourcePorts`. */
  | "privileged-port"
  /** From a port in {@linkcode REFLECTOR_PORTS}. */
  | "reflector-port"
  /** Larger than `maxDatagramSize`. */
  | "oversize"
  /** The source address went over `ratePerSource` (and `burst`). */
  | "rate-limit"
  /** Too many echoes were waiting to be sent. */
  | "overload";

/** The rules a datagram must pass to be echoed (the server adds its load). */
export class DropPolicy {
  readonly #maxDatagramSize: number;
  readonly #allowPrivileged: boolean;
  readonly #limiter: SourceLimiter | undefined;

  /**
   * Takes validated limits.
   *
   * @param maxDatagramSize Larger datagrams are dropped.
   * @param allowPrivileged Echo datagrams from source ports below 1024.
   * @param limiter The rate limit per source address, if any.
   */
  constructor(
    maxDatagramSize: number,
    allowPrivileged: boolean,
    limiter: SourceLimiter | undefined,
  ) {
    this.#maxDatagramSize = maxDatagramSize;
    this.#allowPrivileged = allowPrivileged;
    this.#limiter = limiter;
  }

  /**
   * Checks a datagram, in order: reflector port, privileged port, size,
   * rate (which spends one of the source's tokens when it passes).
   *
   * @param port The source port.
   * @param address The source address, as received.
   * @param size The payload's size in bytes.
   * @returns Why it must be dropped, or `undefined` to echo it.
   */
  check(
    port: number,
    address: string,
    size: number,
  ): UdpDropReason | undefined {
    const limiter = this.#limiter;
    return REFLECTOR_PORTS.has(port)
      ? "reflector-port"
      : port === 0 || (port < FIRST_UNPRIVILEGED_PORT && !this.#allowPrivileged)
      ? "privileged-port"
      : size > this.#maxDatagramSize
      ? "oversize"
      : limiter !== undefined && !limiter.allow(unmapIPv4(address))
      ? "rate-limit"
      : undefined;
  }
}
