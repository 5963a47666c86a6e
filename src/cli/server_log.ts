// Copyright the deno-echo authors. MIT license.

// What echo-server logs while it runs: a line per server event, rate-limited,
// in text or JSON, with every peer-controlled string escaped.

import { errorText, formatDuration } from "./cli.ts";
import { LogLimiter } from "./log_limiter.ts";
import { escapeLogField } from "./escape.ts";
import { plural } from "./plural.ts";
import type { ServerArgs } from "./server_args.ts";
import {
  type LogEntry,
  logEntry,
  type LogFields,
  type LogLevel,
} from "./server_log_output.ts";
import { formatAddress } from "../net/address.ts";
import type {
  ConnectionInfo,
  ConnectionResult,
  RejectReason,
  ServerEvent,
} from "../server/types.ts";
import type { UdpActivityInfo } from "../udp/udp_server.ts";

/**
 * Logs one line: timestamped text, or a JSON object with `event` and the
 * fields given, as `--log-format` says. Never blocks.
 *
 * @param text The line, without its newline; peer-controlled parts escaped.
 * @param event What happened, for the JSON `event` field.
 * @param fields More JSON fields.
 * @param level How much it matters.
 */
export function log(
  text: string,
  event: string = "log",
  fields: LogFields = {},
  level: LogLevel = "info",
): void {
  logEntry({ event, text, fields, level });
}

/** An error's message, escaped: it may quote what a peer sent. */
function errorField(error: unknown): string {
  return escapeText(errorText(error));
}

/**
 * Escapes free text (an error message) for a log line: like
 * `escapeLogField`, but quotes and backslashes are left as they are.
 */
function escapeText(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (c) => escapeLogField(c));
}

/** A peer's address for a log line, a Unix socket path escaped. */
export function peerText(addr: Deno.NetAddr | Deno.UnixAddr): string {
  return "path" in addr
    ? `unix:${addr.path ? escapeLogField(addr.path) : "(unnamed)"}`
    : formatAddress(addr);
}

/** The closing part of a `closed:` line: why, how much, how long. */
function describeClose(result: ConnectionResult): string {
  const how = result.reason === "eof"
    ? "client closed"
    : result.reason === "quit"
    ? "quit word"
    : result.reason === "idle"
    ? "idle timeout"
    : result.reason === "limit"
    ? "byte limit reached"
    : result.reason === "aborted"
    ? "server shutting down"
    : `error: ${errorField(result.error)}`;
  return `${how}; ${plural(result.bytes, "byte")} echoed in ${
    formatDuration(result.durationMs)
  }`;
}

/** What the event log needs to know of the command line. */
export type EventLogArgs = Pick<
  ServerArgs,
  "listen" | "workers" | "quiet" | "maxConnections" | "maxPerIp"
>;

/** The JSON fields every line about a connection has. */
function connFields(conn: ConnectionInfo): LogFields {
  return {
    id: conn.id,
    peer: formatAddress(conn.remoteAddr),
    listener: conn.listener,
    worker: conn.worker,
    proxy: conn.proxy === undefined ? undefined : formatAddress(conn.proxy),
    proxy_alpn: conn.proxyAlpn,
    proxy_authority: conn.proxyAuthority,
    client_subject: conn.clientSubject,
  };
}

function rejectText(args: EventLogArgs, reason: RejectReason): string {
  return reason === "proxy-untrusted"
    ? "not a trusted proxy (--proxy-from)"
    : reason === "max-connections"
    ? `${plural(args.maxConnections, "connection")} open (--max-connections)`
    : `${
      plural(args.maxPerIp, "connection")
    } open from this address (--max-per-ip)`;
}

/**
 * Logs a server's events: a flood of connections or of failing accepts
 * must not flood the log, so each kind of line has its own rate limit,
 * and what is left out is counted in a summary line. Disposing writes the
 * last summaries.
 */
export class EventLog implements Disposable {
  readonly #args: EventLogArgs;
  /** Connections open now (0 until the server is known). */
  readonly #open: () => number;
  /** What a limiter writes itself: its summary of the lines it left out. */
  readonly #write = (text: string): void => {
    logEntry({ event: "log-rate-limit", text, level: "warn" });
  };
  readonly #connections = new LogLimiter(this.#write, {
    burst: 200,
    perSecond: 50,
    what: "connection log lines",
    one: "connection log line",
  });
  readonly #accepts = new LogLimiter(this.#write, {
    burst: 1,
    perSecond: 1,
    what: "more accept failures",
    one: "more accept failure",
  });
  readonly #udp = new LogLimiter(this.#write, {
    burst: 10,
    perSecond: 1,
    what: "more dropped datagrams",
    one: "more dropped datagram",
  });
  readonly #udpActivity = new LogLimiter(this.#write, {
    burst: 20,
    perSecond: 2,
    what: "more udp activity lines",
    one: "more udp activity line",
  });
  readonly #handshakes = new LogLimiter(this.#write, {
    burst: 20,
    perSecond: 5,
    what: "more failed TLS handshakes",
    one: "more failed TLS handshake",
  });
  readonly #proxyErrors = new LogLimiter(this.#write, {
    burst: 20,
    perSecond: 5,
    what: "more refused PROXY headers",
    one: "more refused PROXY header",
  });

  constructor(args: EventLogArgs, open: () => number) {
    this.#args = args;
    this.#open = open;
  }

  /** Writes an entry if `limiter` allows; it is only built if so. */
  #limited(limiter: LogLimiter, make: () => LogEntry): void {
    if (limiter.take()) logEntry(make());
  }

  /** For `onEvent`. */
  readonly onEvent = (event: ServerEvent): void => {
    switch (event.type) {
      case "open":
      case "close":
        if (!this.#args.quiet) this.#connectionLine(event);
        return;
      case "reject":
        // Logged even with --quiet: rejections mean lost service.
        return this.#limited(this.#connections, () => ({
          event: "reject",
          level: "warn",
          text: `${this.#who(event.conn)} rejected: ${
            rejectText(this.#args, event.reason)
          }`,
          fields: { ...connFields(event.conn), reason: event.reason },
        }));
      case "handshake-error":
      case "proxy-error":
        return this.#limited(
          event.type === "proxy-error" ? this.#proxyErrors : this.#handshakes,
          () => ({
            event: event.type,
            level: "warn",
            text: `${this.#who(event.conn)}${this.#via(event.conn)} ${
              event.type === "proxy-error"
                ? "PROXY header refused"
                : "TLS handshake failed"
            }: ${errorField(event.error)}`,
            fields: {
              ...connFields(event.conn),
              error: errorText(event.error),
            },
          }),
        );
      case "accept-error":
        return this.#limited(this.#accepts, () => ({
          event: "accept-error",
          level: "error",
          text: `accept failed: ${errorField(event.error)}`,
          fields: { error: errorText(event.error) },
        }));
      case "udp-drop":
        // Drops are what the UDP guards are for: counted in a summary line
        // rather than logged one by one under a flood.
        return this.#limited(this.#udp, () => ({
          event: "udp-drop",
          level: "warn",
          text: `udp ${formatAddress(event.drop.remoteAddr)} datagram of ${
            plural(event.drop.size, "byte")
          } dropped: ${event.drop.reason}`,
          fields: {
            peer: formatAddress(event.drop.remoteAddr),
            local: formatAddress(event.drop.localAddr),
            bytes: event.drop.size,
            reason: event.drop.reason,
          },
        }));
      case "udp-activity":
        // For whoever checks that datagrams get through: at most one line
        // per source per interval, and a cap on all of them.
        if (this.#args.quiet) return;
        return this.#limited(this.#udpActivity, () => ({
          event: "udp-activity",
          text: udpActivityLine(event.activity),
          fields: {
            peer: formatAddress(event.activity.remoteAddr),
            datagrams: event.activity.datagrams,
            bytes: event.activity.bytes,
            duration_ms: Math.round(event.activity.durationMs),
          },
        }));
      case "stale-socket":
        return log(
          `replaced stale socket ${
            escapeLogField(event.path)
          } (no server was listening on it)`,
          "stale-socket",
          { path: event.path },
        );
    }
  };

  /** Under a flood, a line left out costs a count: no closure, no clock. */
  #connectionLine(
    event: Extract<ServerEvent, { type: "open" | "close" }>,
  ): void {
    if (this.#connections.take()) logEntry(this.#connectionEntry(event));
  }

  #connectionEntry(
    event: Extract<ServerEvent, { type: "open" | "close" }>,
  ): LogEntry {
    const open = this.#open();
    if (event.type === "open") {
      return {
        event: "open",
        text: `${this.#who(event.conn)}${this.#via(event.conn)} connected${
          openDetails(event.conn)
        } (${open} open)`,
        fields: { ...connFields(event.conn), open },
      };
    }
    const { result } = event;
    return {
      event: "close",
      level: result.reason === "error" ? "warn" : "info",
      text: `${this.#who(event.conn)} closed: ${
        describeClose(result)
      } (${open} open)`,
      fields: {
        ...connFields(event.conn),
        bytes: result.bytes,
        duration_ms: Math.round(result.durationMs),
        reason: result.reason,
        error: result.reason === "error" ? errorText(result.error) : undefined,
        open,
      },
    };
  }

  #who(conn: ConnectionInfo): string {
    return `#${conn.id} ${peerText(conn.remoteAddr)}${proxyPart(conn)}`;
  }

  /** With several listeners or workers, which one a connection came by. */
  #via(conn: ConnectionInfo): string {
    return (this.#args.listen.length > 0 ? ` via ${conn.listener}` : "") +
      (this.#args.workers > 1 ? ` on worker ${conn.worker}` : "");
  }

  [Symbol.dispose](): void {
    this.#connections[Symbol.dispose]();
    this.#accepts[Symbol.dispose]();
    this.#udp[Symbol.dispose]();
    this.#udpActivity[Symbol.dispose]();
    this.#handshakes[Symbol.dispose]();
    this.#proxyErrors[Symbol.dispose]();
  }
}

/**
 * Which proxy relayed a connection, as a PROXY header told: `via proxy
 * ADDR`; a v2 `LOCAL` header, or one with no client address, says so.
 */
function proxyPart(conn: ConnectionInfo): string {
  const { proxy } = conn;
  if (proxy === undefined) return "";
  if (conn.proxyLocal) return " (PROXY LOCAL: the proxy's own connection)";
  if (conn.remoteAddr === proxy) {
    return " via proxy (PROXY header without a client address)";
  }
  return ` via proxy ${formatAddress(proxy)}`;
}

/** What an open line adds: PROXY TLVs, a client certificate's subject. */
function openDetails(conn: ConnectionInfo): string {
  const parts: string[] = [];
  if (conn.proxyAlpn !== undefined) {
    parts.push(`ALPN "${escapeLogField(conn.proxyAlpn)}"`);
  }
  if (conn.proxyAuthority !== undefined) {
    parts.push(`authority "${escapeLogField(conn.proxyAuthority)}"`);
  }
  if (conn.clientSubject !== undefined) {
    parts.push(`client certificate "${escapeLogField(conn.clientSubject)}"`);
  }
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

/**
 * A `udp-activity` event as a log line:
 * `udp from 192.0.2.7: 3 datagrams echoed in 1.2 s (60 bytes)`.
 *
 * @param activity What the event says.
 * @returns The line.
 */
export function udpActivityLine(activity: UdpActivityInfo): string {
  const { hostname } = activity.remoteAddr;
  const from = hostname.includes(":") ? `[${hostname}]` : hostname;
  const { datagrams, bytes, durationMs } = activity;
  return `udp from ${from}: ${plural(datagrams, "datagram")} echoed${
    datagrams === 1 ? "" : ` in ${formatDuration(durationMs)}`
  } (${plural(bytes, "byte")})`;
}
