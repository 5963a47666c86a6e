// Copyright the deno-echo authors. MIT license.

// `--metrics HOST:PORT`: where the metrics are served, never where an echo
// listener is.

import { errorText, UsageError } from "./cli.ts";
import { parseHostname, parseHostPort } from "../net/address.ts";
import type { ListenerSpec } from "../net/listen_url.ts";

/** Where `--metrics` serves. */
export interface MetricsAddress {
  /** An IP address or a name. */
  hostname: string;
  /** The port; 0 picks a free one. */
  port: number;
}

/** Where the echo listeners are, as the command line says. */
export interface EchoWhere {
  listen: readonly ListenerSpec[];
  hostname: string;
  port: number;
}

const WILDCARDS = new Set(["0.0.0.0", "::", "localhost"]);

/** Whether two listeners on the same port may be on the same address. */
function overlaps(a: string, b: string): boolean {
  return a === b || WILDCARDS.has(a) || WILDCARDS.has(b);
}

/**
 * Reads `--metrics`.
 *
 * @param text The value, if given.
 * @param echo Where the echo listeners are.
 * @returns The address, or `undefined` when metrics are off.
 * @throws {UsageError} When the value is not `HOST:PORT`, or names the
 * address and port of an echo listener.
 */
export function metricsAddress(
  text: string | undefined,
  echo: EchoWhere,
): MetricsAddress | undefined {
  if (text === undefined) return undefined;
  if (text.trim() === "") {
    throw new UsageError(
      `--metrics needs HOST:PORT, e.g. 127.0.0.1:9100 (a port the echo does not use)`,
    );
  }
  let hostname: string;
  let port: number | undefined;
  try {
    ({ hostname, port } = parseHostPort(text));
    hostname = parseHostname(hostname);
  } catch (error) {
    throw new UsageError(`--metrics: ${errorText(error)}`);
  }
  if (port === undefined) {
    throw new UsageError(
      `--metrics "${text}": expected HOST:PORT, e.g. 127.0.0.1:9100`,
    );
  }
  const echoes = echo.listen.length > 0
    ? echo.listen.filter((spec) => spec.transport !== "unix")
    : [{ hostname: echo.hostname, port: echo.port }];
  for (const spec of echoes) {
    if (
      "hostname" in spec && port !== 0 && spec.port === port &&
      overlaps(spec.hostname, hostname)
    ) {
      throw new UsageError(
        `--metrics "${text}": an echo listener is on port ${port}; give the metrics a port of their own`,
      );
    }
  }
  return { hostname, port };
}
