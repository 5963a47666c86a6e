// Copyright the deno-echo authors. MIT license.

// `--proxy URL` and `--source ADDR[:PORT]`: how `echo-client` and
// `echo-client ping` reach a server, shared by both option tables.

import { ipFamily, parseHostPort } from "../net/address.ts";
import type { IPFamily } from "../net/resolve.ts";
import { parseProxyUrl, type ProxyConfig } from "../client/proxy_url.ts";
import type { SourceAddress } from "../client/source_dial.ts";
import type { ProxyHeaderOption } from "../client/proxy_dial.ts";
import type { FlagSpec } from "./args.ts";
import { UsageError } from "./cli.ts";

/** The route options, for an option table. */
export const ROUTE_FLAGS = {
  proxy: { type: "string" },
  source: { type: "string" },
} as const satisfies Record<string, FlagSpec>;

/** `--proxy-header v1|v2` and `--proxy-source ADDR:PORT`. */
export const PROXY_HEADER_FLAGS = {
  "proxy-header": { type: "string" },
  "proxy-source": { type: "string" },
} as const satisfies Record<string, FlagSpec>;

/** The PROXY protocol header a client sends first, if any. */
export interface ProxyHeaderArgs {
  /** `--proxy-header` and `--proxy-source`. */
  proxyHeader: ProxyHeaderOption | undefined;
}

/**
 * Reads `--proxy-header` and `--proxy-source`.
 *
 * @param values The two options as given.
 * @param transport The transport they would apply to.
 * @returns The header to send, if any.
 * @throws {UsageError} If a value is malformed or does not go with the
 * transport.
 */
export function parseProxyHeader(
  values: { "proxy-header"?: string; "proxy-source"?: string },
  transport: string,
): ProxyHeaderArgs {
  const version = values["proxy-header"];
  const stated = values["proxy-source"];
  if (version === undefined) {
    if (stated !== undefined) {
      throw new UsageError("--proxy-source goes with --proxy-header v1|v2");
    }
    return { proxyHeader: undefined };
  }
  if (version !== "v1" && version !== "v2") {
    throw new UsageError(
      `Invalid --proxy-header "${version}": expected v1 or v2`,
    );
  }
  if (transport !== "tcp" && transport !== "tls") {
    throw new UsageError(
      `--proxy-header goes with TCP and TLS, not with a ${transport} target`,
    );
  }
  const proxyHeader: ProxyHeaderOption = { version: version === "v1" ? 1 : 2 };
  if (stated !== undefined) {
    let where;
    try {
      where = parseHostPort(stated);
    } catch (error) {
      throw new UsageError(
        `Invalid --proxy-source "${stated}": ${(error as Error).message}`,
      );
    }
    if (ipFamily(where.hostname) === 0 || where.port === undefined) {
      throw new UsageError(
        `Invalid --proxy-source "${stated}": expected ADDR:PORT with an IP address, such as 203.0.113.7:51234 or [2001:db8::7]:51234`,
      );
    }
    proxyHeader.source = { hostname: where.hostname, port: where.port };
  }
  return { proxyHeader };
}

/** Which way a client goes: through a proxy, from a source, or neither. */
export interface ClientRoute {
  /** `--proxy`. */
  proxy: ProxyConfig | undefined;
  /** `--source`. */
  source: SourceAddress | undefined;
}

/**
 * Reads `--proxy` and `--source`.
 *
 * @param values The two options as given.
 * @param transport The transport they would apply to.
 * @param family `-4` or `-6`, if given.
 * @returns The route.
 * @throws {UsageError} If a value is malformed or does not go with the
 * transport.
 */
export function parseRoute(
  values: { proxy?: string; source?: string },
  transport: string,
  family: IPFamily | undefined,
): ClientRoute {
  let proxy: ProxyConfig | undefined;
  if (values.proxy !== undefined) {
    if (transport === "unix" || transport === "udp") {
      throw new UsageError(
        `--proxy carries TCP streams; a ${transport} target cannot go through it`,
      );
    }
    try {
      proxy = parseProxyUrl(values.proxy);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return { proxy, source: parseSource(values.source, transport, family) };
}

function parseSource(
  text: string | undefined,
  transport: string,
  family: IPFamily | undefined,
): SourceAddress | undefined {
  if (text === undefined) return undefined;
  if (transport === "unix") {
    throw new UsageError("--source binds an IP address; unix: has none");
  }
  let where;
  try {
    where = parseHostPort(text);
  } catch (error) {
    throw new UsageError(
      `Invalid --source "${text}": ${(error as Error).message}`,
    );
  }
  const own = ipFamily(where.hostname);
  if (own === 0) {
    throw new UsageError(
      `Invalid --source "${text}": expected an IP address of this host, such as 127.0.0.2 or [::1]:40000`,
    );
  }
  if (family !== undefined && family !== own) {
    throw new UsageError(
      `--source ${text} is IPv${own}; it cannot go with -${family}`,
    );
  }
  return where.port === undefined
    ? { hostname: where.hostname }
    : { hostname: where.hostname, port: where.port };
}
