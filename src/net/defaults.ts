// Copyright the deno-echo authors. MIT license.

/**
 * The port the textbook echo clients dial, and every listener and client of
 * this package uses when none is given.
 */
export const DEFAULT_PORT = 2000;

/**
 * Where servers listen and clients connect when no host is given: both
 * loopbacks, so nothing is exposed beyond the machine until asked.
 */
export const DEFAULT_HOSTNAME = "localhost";
