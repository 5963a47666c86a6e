// Copyright the deno-echo authors. MIT license.

import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import { checkDuration } from "../net/duration.ts";
import {
  formatListener,
  type ListenerSpec,
  parseListenUrl,
} from "../net/listen_url.ts";
import { DEFAULT_QUIT_WORD, validateQuitWord } from "../echo/quit_word.ts";
import type { ServeOptions } from "./types.ts";

const defaults = {
  /** Where to listen. */
  hostname: DEFAULT_HOSTNAME as string,
  /** The port. */
  port: DEFAULT_PORT as number,
  /** Isolates accepting connections. */
  workers: 1,
  /** The word that ends a connection; `null` for none. */
  quitWord: DEFAULT_QUIT_WORD as string | null,
  /** How long `shutdown()` lets connections finish, in ms. */
  drainTimeout: 5000,
  /** How long a connection may stay idle, in ms (5 min). */
  idleTimeout: 300_000,
  /** Connections open at once; 0 means no limit. */
  maxConnections: 10_000,
  /**
   * Connections open at once from one address (an IPv6 /64); 0 means no
   * limit. Not 0, so that one address cannot hold every slot by trickling.
   */
  maxPerIp: 256,
  /** Bytes echoed on one connection; 0 means no limit. */
  maxBytes: 0,
  /** How long a TLS client has to complete its handshake, in ms. */
  handshakeTimeout: 10_000,
};

/** Each server option that has a default: its name and type. */
export type ServeDefaults = typeof defaults;

/**
 * Every server option that has a default, with that default: the one place
 * they are written. The `DEFAULT_*` constants, the settings a server runs
 * with, what workers are sent and the server program's usage text all read
 * them from here.
 */
export const SERVE_DEFAULTS: Readonly<ServeDefaults> = Object.freeze(defaults);

/** How long {@linkcode EchoServer.shutdown} lets connections finish, in ms. */
export const DEFAULT_DRAIN_TIMEOUT: number = SERVE_DEFAULTS.drainTimeout;
/** How long a connection may stay idle before it is closed, in ms (5 min). */
export const DEFAULT_IDLE_TIMEOUT: number = SERVE_DEFAULTS.idleTimeout;
/** How many connections may be open at once. */
export const DEFAULT_MAX_CONNECTIONS: number = SERVE_DEFAULTS.maxConnections;
/** How many connections one client address may have open at once. */
export const DEFAULT_MAX_PER_IP: number = SERVE_DEFAULTS.maxPerIp;
/** How long a TLS client has to complete its handshake, in ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT: number =
  SERVE_DEFAULTS.handshakeTimeout;

/** The limits that are durations, in ms: 0 to `MAX_TIMEOUT`. */
const DURATION_KEYS = ["drainTimeout", "idleTimeout"] as const;
/** The limits that are counts: whole numbers, 0 or more. */
const COUNT_KEYS = ["maxConnections", "maxPerIp", "maxBytes"] as const;

/** The options that are limits: numbers, 0 or more (0 often "none"). */
export const LIMIT_KEYS = [...DURATION_KEYS, ...COUNT_KEYS] as const;

/** One of {@linkcode LIMIT_KEYS}. */
export type LimitKey = typeof LIMIT_KEYS[number];

/**
 * What one server runs with: the options every isolate applies the same
 * way, defaults applied and checked. Workers are sent exactly this.
 */
export type Settings = Pick<ServeDefaults, "quitWord" | LimitKey>;

/**
 * Applies the defaults to the options a server runs with, and checks them
 * (the TLS handshake timeout too, though it is not a setting).
 *
 * @param options As given to `serve()`.
 * @returns The settings.
 * @throws {RangeError} If a count is negative, not a whole number or not a
 * number, or a duration is negative or longer than `MAX_TIMEOUT`.
 * @throws {TypeError} If the quit word is not one.
 */
export function resolveSettings(options: ServeOptions): Settings {
  const { quitWord = SERVE_DEFAULTS.quitWord } = options;
  if (quitWord !== null && typeof quitWord !== "string") {
    throw new TypeError(
      `Invalid quitWord ${JSON.stringify(quitWord)}: expected a string or null`,
    );
  }
  const settings = { quitWord } as Settings;
  for (const key of DURATION_KEYS) {
    settings[key] = checkDuration(key, options[key] ?? SERVE_DEFAULTS[key]);
  }
  for (const key of COUNT_KEYS) {
    settings[key] = checkCount(key, options[key] ?? SERVE_DEFAULTS[key]);
  }
  if (options.tls?.handshakeTimeout !== undefined) {
    checkDuration("tls.handshakeTimeout", options.tls.handshakeTimeout, 1);
  }
  if (quitWord !== null) validateQuitWord(quitWord);
  return settings;
}

function checkCount(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Invalid ${name} ${value}: expected 0 or more`);
  }
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(
      `Invalid ${name} ${value}: expected a whole number, 0 or more`,
    );
  }
  return value;
}

/**
 * The listeners the options ask for: `listen`, or the one `tcp://` listener
 * that `hostname` and `port` are the short form of.
 *
 * @param options As given to `serve()`.
 * @returns One spec per listener, checked.
 * @throws {TypeError} If both forms are given, `tls://` lacks `tls`, a
 * listener object is not one (an unknown transport, no path, no hostname),
 * or two listeners are the same.
 * @throws {RangeError} If there is no listener or a port is out of range.
 */
export function listenerSpecs(options: ServeOptions): ListenerSpec[] {
  const { listen } = options;
  if (listen !== undefined) {
    if (options.hostname !== undefined || options.port !== undefined) {
      throw new TypeError("Give either listen or hostname and port, not both");
    }
    if (listen.length === 0) throw new RangeError("No listeners given");
  }
  const specs =
    listen?.map((entry) =>
      typeof entry === "string"
        ? parseListenUrl(entry, DEFAULT_PORT)
        : checkSpec(entry)
    ) ?? [{
      transport: "tcp",
      hostname: options.hostname ?? SERVE_DEFAULTS.hostname,
      port: options.port ?? SERVE_DEFAULTS.port,
    }];
  for (const spec of specs) {
    if (spec.transport === "unix") continue;
    const { port } = spec;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Invalid port ${port}: expected 0 to 65535`);
    }
    if (spec.transport === "tls" && options.tls === undefined) {
      throw new TypeError("A tls:// listener needs the tls option");
    }
  }
  return assertDistinct(specs);
}

const TRANSPORTS: readonly string[] = ["tcp", "tls", "unix", "udp"];

/** Checks a listener given as an object (TypeScript may not have). */
function checkSpec(entry: ListenerSpec): ListenerSpec {
  const spec: Partial<Record<string, unknown>> = entry ?? {};
  const { transport } = spec;
  if (typeof transport !== "string" || !TRANSPORTS.includes(transport)) {
    throw new TypeError(
      `Invalid listener transport ${
        JSON.stringify(transport)
      }: expected "tcp", "tls", "unix" or "udp"`,
    );
  }
  const field = transport === "unix" ? "path" : "hostname";
  const value = spec[field];
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(
      `A ${transport} listener needs a ${field}, got ${JSON.stringify(value)}`,
    );
  }
  return entry;
}

/**
 * Checks that no two listeners are the same: the same Unix socket path, or
 * the same host and (non-zero) port for TCP and TLS, or for UDP. Each would
 * fail to bind, with an error that blames another program.
 *
 * @example Name the listener given twice
 * ```ts
 * import { assertDistinct } from "./options.ts";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(
 *   () => assertDistinct([
 *     { transport: "unix", path: "/tmp/e.sock" },
 *     { transport: "unix", path: "/tmp/e.sock" },
 *   ]),
 *   TypeError,
 *   'Listener "unix:/tmp/e.sock" is given twice',
 * );
 * ```
 *
 * @param specs The listeners.
 * @returns The same listeners.
 * @throws {TypeError} Naming the listener given twice.
 */
export function assertDistinct<S extends ListenerSpec>(
  specs: readonly S[],
): S[] {
  const seen = new Map<string, string>();
  for (const spec of specs) {
    const url = spec.transport === "unix"
      ? formatListener("unix", spec)
      : formatListener(spec.transport, { ...spec, transport: "tcp" });
    // tcp:// and tls:// listeners take TCP ports; port 0 is a new one each.
    const key = spec.transport === "unix"
      ? url
      : spec.port === 0
      ? undefined
      : `${
        spec.transport === "udp" ? "udp" : "tcp"
      } ${spec.hostname.toLowerCase()} ${spec.port}`;
    if (key === undefined) continue;
    const before = seen.get(key);
    if (before === url) {
      throw new TypeError(`Listener "${url}" is given twice`);
    }
    if (before !== undefined) {
      throw new TypeError(
        `Listeners "${before}" and "${url}" use the same address`,
      );
    }
    seen.set(key, url);
  }
  return [...specs];
}
