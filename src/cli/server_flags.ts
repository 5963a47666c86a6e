// Copyright the deno-echo authors. MIT license.

// The server program's options: one table that the parser reads and the
// usage text is printed from, with the library's defaults interpolated.

import type { FlagSpec } from "./args.ts";
import { type LimitKey, SERVE_DEFAULTS } from "../server/options.ts";
import { DEFAULT_UDP_RATE_PER_SOURCE } from "../udp/udp_server.ts";
import { DEFAULT_MAX_DATAGRAM_SIZE } from "../udp/udp_socket.ts";

const D = SERVE_DEFAULTS;

/** How the value of an option that sets a number is read. */
export type NumberReader = "duration" | "count" | "size";

/** One option of `echo-server`. */
export interface ServerFlag extends FlagSpec {
  /** What its value is called in the usage text, e.g. `HOST`. */
  arg?: string;
  /** Its description in the usage text, line by line. */
  help: readonly string[];
  /** The `serve()` limit it sets, and how its value is read. */
  sets?: readonly [LimitKey, NumberReader];
}

/** A default duration as the usage text shows it: `5s`, `5m`, `250ms`. */
function shown(ms: number): string {
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Every option of `echo-server`, in the order `--help` lists them. */
export const SERVER_FLAGS = {
  hostname: {
    type: "string",
    short: "H",
    arg: "HOST",
    help: [
      `Where to listen (default: ${D.hostname}, which is`,
      "127.0.0.1 and ::1). A name means every address it",
      "resolves to; :: means every interface, IPv4 and IPv6.",
    ],
  },
  port: {
    type: "string",
    short: "p",
    arg: "PORT",
    help: [`Port to listen on, 0 for any free port (default: ${D.port})`],
  },
  listen: {
    type: "string",
    short: "l",
    multiple: true,
    arg: "URL",
    help: [
      "Listen on URL instead; repeat for several listeners:",
      "tcp://HOST:PORT, tls://HOST:PORT, unix:PATH,",
      "udp://HOST:PORT (HOST as for --hostname, [IPV6] in",
      "brackets)",
    ],
  },
  cert: {
    type: "string",
    arg: "FILE",
    help: ["TLS certificate chain (PEM), for tls:// listeners"],
  },
  key: {
    type: "string",
    arg: "FILE",
    help: ["TLS private key (PEM), for tls:// listeners"],
  },
  "client-ca": {
    type: "string",
    arg: "FILE",
    help: [
      "Mutual TLS: require a client certificate signed by",
      "a CA in FILE (PEM) on tls:// listeners; others are",
      "refused and logged, accepted ones logged with their",
      "subject. Those listeners speak TLS 1.2, so that the",
      "client's proof of its key can be checked",
    ],
  },
  "proxy-protocol": {
    type: "boolean",
    help: [
      "Every tcp:// and tls:// listener takes the PROXY",
      "protocol (v1 or v2, as HAProxy's send-proxy sends):",
      "each connection must begin with a PROXY header, or",
      "it is closed and logged; the client address in it is",
      "the one logged and counted by --max-per-ip. Or per",
      "listener: tcp://HOST:PORT?proxy-protocol",
    ],
  },
  "proxy-from": {
    type: "string",
    multiple: true,
    arg: "CIDR",
    help: [
      "Only peers in CIDR (10.0.0.0/8, 2001:db8::/32, one",
      "address) may connect to PROXY listeners: your load",
      "balancers; others are refused and logged. Repeat",
      "for more. Without it, anyone who can connect may",
      "claim any client address",
    ],
  },
  "udp-rate": {
    type: "string",
    arg: "N",
    help: [
      "Datagrams per second echoed to one source address",
      `on udp:// listeners (0 = no limit; default: ${DEFAULT_UDP_RATE_PER_SOURCE})`,
    ],
  },
  "max-datagram": {
    type: "string",
    arg: "SIZE",
    help: [
      `Larger datagrams are dropped (default: ${DEFAULT_MAX_DATAGRAM_SIZE})`,
    ],
  },
  "handshake-timeout": {
    type: "string",
    arg: "TIME",
    help: [
      "Close a TLS client that has not finished its",
      "handshake, or a PROXY listener's peer that has not",
      `sent its header, after TIME (default: ${shown(D.handshakeTimeout)})`,
    ],
  },
  "quit-word": {
    type: "string",
    arg: "WORD",
    help: [
      "Close a connection after echoing a line that says",
      `WORD (default: ${D.quitWord})`,
    ],
  },
  "no-quit": {
    type: "boolean",
    help: ["Never close on a word: a pure RFC 862 echo"],
  },
  "drain-timeout": {
    type: "string",
    arg: "TIME",
    sets: ["drainTimeout", "duration"],
    help: [
      "On Ctrl-C, SIGTERM or SIGHUP, let connections finish",
      `for up to TIME (500ms, 5s, 2m; default: ${shown(D.drainTimeout)})`,
    ],
  },
  "idle-timeout": {
    type: "string",
    arg: "TIME",
    sets: ["idleTimeout", "duration"],
    help: [
      "Close a connection after TIME without traffic",
      `(0 = never; default: ${shown(D.idleTimeout)})`,
    ],
  },
  "max-connections": {
    type: "string",
    arg: "N",
    sets: ["maxConnections", "count"],
    help: [
      "Connections open at once; more are closed at once",
      `(0 = no limit; default: ${D.maxConnections})`,
    ],
  },
  "max-per-ip": {
    type: "string",
    arg: "N",
    sets: ["maxPerIp", "count"],
    help: [
      "Connections open at once from one address (IPv6:",
      "one /64; all unix: peers count as one address);",
      "raise it or give 0 behind a NAT or a load balancer",
      `(0 = no limit; default: ${D.maxPerIp})`,
    ],
  },
  "max-bytes": {
    type: "string",
    arg: "SIZE",
    sets: ["maxBytes", "size"],
    help: [
      "Close a connection after echoing SIZE bytes",
      `(64K, 10M, 1G; 0 = no limit; default: ${D.maxBytes})`,
    ],
  },
  workers: {
    type: "string",
    short: "w",
    arg: "N",
    help: [
      "Accept in N isolates sharing each TCP and TLS port,",
      "to use N CPU cores; auto = one per core, or 1 where",
      `workers cannot run (default: ${D.workers}).`,
      "Linux only; needs Deno's --unstable-net flag, which",
      "deno task server and echo-server have",
    ],
  },
  quiet: {
    type: "boolean",
    short: "q",
    help: ["Do not log each connection"],
  },
  "log-format": {
    type: "string",
    arg: "FORMAT",
    help: [
      "text (default): a timestamped line per event; json:",
      "one JSON object per line (ts, level, event, id, peer,",
      "listener, bytes, duration_ms, reason, message, ...)",
    ],
  },
  metrics: {
    type: "string",
    arg: "HOST:PORT",
    help: [
      "Serve Prometheus metrics at http://HOST:PORT/metrics",
      "and 200 ok at /healthz, on a port of its own (off",
      'by default; port 0 picks one, printed as "Metrics on',
      'http://HOST:PORT/metrics" on stdout)',
    ],
  },
  help: {
    type: "boolean",
    short: "h",
    help: ["Show this help and exit"],
  },
  version: {
    type: "boolean",
    short: "V",
    help: ["Show the version and exit"],
  },
} as const satisfies Record<string, ServerFlag>;

/** Where descriptions start in the usage text. */
const HELP_COLUMN = 27;

/** The options part of the usage text, from {@linkcode SERVER_FLAGS}. */
function optionLines(): string[] {
  const out: string[] = [];
  const flags: Record<string, ServerFlag> = SERVER_FLAGS;
  for (const [name, flag] of Object.entries(flags)) {
    const short = flag.short === undefined ? "    " : `-${flag.short}, `;
    const left = `  ${short}--${name}${flag.arg ? ` ${flag.arg}` : ""}`;
    const [first = "", ...rest] = flag.help;
    if (left.length < HELP_COLUMN) {
      out.push(left.padEnd(HELP_COLUMN) + first);
    } else {
      out.push(left, " ".repeat(HELP_COLUMN) + first);
    }
    for (const line of rest) out.push(" ".repeat(HELP_COLUMN) + line);
  }
  return out;
}

/** What `echo-server --help` prints. */
export const SERVER_USAGE = `Usage: echo-server [OPTIONS]

A TCP echo server: every byte a client sends comes back unchanged. A line
that says ${D.quitWord} (surrounding whitespace ignored) is echoed, then the server
closes that connection.

Options:
${optionLines().join("\n")}

Output: one "Listening on HOST:PORT" line per bound TCP address on stdout
(tls://HOST:PORT, unix:PATH, udp://HOST:PORT for the others); a log line per
connection opened and closed, and errors, on stderr.

Exit codes: 0 stopped cleanly, 1 unexpected failure, 2 bad command line,
3 address in use, 4 permission denied, 5 address not available, 6 TLS
certificate or key unusable, 129/130/143 a second SIGHUP/SIGINT/SIGTERM
closed connections without waiting.
`;
