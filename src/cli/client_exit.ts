// Copyright the deno-echo authors. MIT license.

// Every exit code of `echo-client` and `echo-client bench`, and the one
// table that says which failure gets which code and what to tell the user.

import type { BenchErrors } from "../bench/bench.ts";
import { ConnectTimeoutError } from "../client/dial.ts";
import {
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
} from "../client/session_errors.ts";
import {
  formatAddress,
  isLinkLocal,
  portInAddress,
  zoneFailure,
} from "../net/address.ts";
import { UnknownHostError } from "../net/resolve.ts";
import { ProxyError } from "../client/proxy_errors.ts";
import { errorText, OutputError } from "./cli.ts";
import { InterruptedError } from "./line_editor.ts";
import { deniedPermission } from "./permission.ts";

/**
 * Exit codes of `echo-client`, as documented in the README.
 *
 * @example Tell a refused connection from a bad command line
 * ```ts
 * import { ClientExitCode } from "@deno-echo/echo/client";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(ClientExitCode.Usage, 2);
 * assertEquals(ClientExitCode.Refused, 3);
 * ```
 */
export const ClientExitCode = {
  /** Everything sent was echoed. */
  Ok: 0,
  /** An unexpected failure, or standard output cannot be written. */
  Failure: 1,
  /** Bad command line. */
  Usage: 2,
  /** Nothing listens at that address and port. */
  Refused: 3,
  /** The host name does not resolve. */
  UnknownHost: 4,
  /** Deno denied a permission (the message names the `--allow-…` flag). */
  PermissionDenied: 4,
  /** No route to the network or host. */
  Unreachable: 5,
  /** The connection attempt timed out. */
  Timeout: 6,
  /** The server reset the connection. */
  ConnectionReset: 7,
  /** The server closed the connection before echoing everything. */
  ClosedEarly: 8,
  /** `--verify` or `bench`: an echoed byte differs from the byte sent. */
  Mismatch: 9,
  /** `bench --rate`: the server fell too far behind the rate. */
  Overrun: 10,
  /** UDP: some lines got no echo, even after retries. */
  DatagramsLost: 11,
  /** TLS: the handshake failed (untrusted or mismatched certificate). */
  TlsFailure: 12,
  /** `ping`: some or all probes got no echo. */
  PingLost: 13,
  /** `--proxy`: the proxy cannot be reached, refused, or broke its protocol. */
  ProxyFailure: 14,
  /** `--proxy`: the proxy wants credentials, or refused the ones given. */
  ProxyAuth: 15,
  /** `--proxy`: the proxy could not reach the server. */
  ProxyTarget: 16,
  /** Ctrl-C at the prompt (128 + SIGINT). */
  Interrupted: 130,
} as const;

/** The name of an exit code. */
export type ClientExitName = keyof typeof ClientExitCode;

/** One exit code of `echo-client`. */
export type ClientExitValue = (typeof ClientExitCode)[ClientExitName];

/**
 * What `echo-client --help` says each code means; `null` for codes only
 * `echo-client bench` uses, and for a second name of a code.
 */
export const EXIT_SUMMARIES: Readonly<Record<ClientExitName, string | null>> = {
  Ok: "everything echoed",
  Failure: "unexpected failure",
  Usage: "bad command line",
  Refused: "connection refused",
  UnknownHost: "unknown host or permission denied",
  PermissionDenied: null,
  Unreachable: "network unreachable",
  Timeout: "timed out (connecting, or waiting for echoes)",
  ConnectionReset: "connection reset",
  ClosedEarly: "closed before everything was echoed",
  Mismatch: "echo differs from what was sent (--verify, ping)",
  Overrun: null,
  DatagramsLost: "UDP lines lost",
  TlsFailure: "TLS handshake failed",
  PingLost: "ping: probes lost",
  ProxyFailure: "proxy failed or refused",
  ProxyAuth: "proxy authentication needed or refused",
  ProxyTarget: "proxy could not reach the server",
  Interrupted: "interrupted (Ctrl-C at the prompt)",
};

/** The exit code of `echo-client bench` for its worst kind of failure. */
export const BENCH_EXIT_CODES: Readonly<
  Record<keyof BenchErrors, ClientExitValue>
> = {
  mismatches: ClientExitCode.Mismatch,
  closedEarly: ClientExitCode.ClosedEarly,
  resets: ClientExitCode.ConnectionReset,
  timeouts: ClientExitCode.Timeout,
  overruns: ClientExitCode.Overrun,
  lost: ClientExitCode.DatagramsLost,
  other: ClientExitCode.Failure,
};

/** Where the client was going, for messages. */
export interface FailureTarget {
  hostname: string;
  port: number;
  transport?: string;
  path?: string;
}

/** How one kind of failure is reported. */
interface FailureRule {
  /** The exit code. */
  code: ClientExitValue;
  /** Whether the rule explains this error. */
  matches(error: unknown, target: FailureTarget): boolean;
  /** What went wrong, in one sentence; `where` names the target. */
  message(error: unknown, where: string): string;
  /** What to do about it, when something helps. */
  hint?: string;
}

const isResetLike = (error: unknown): boolean =>
  error instanceof Deno.errors.ConnectionReset ||
  error instanceof Deno.errors.ConnectionAborted ||
  error instanceof Deno.errors.BrokenPipe;

const isUnreachable = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Deno.errors.NetworkUnreachable ||
    code === "EHOSTUNREACH" || code === "ENETUNREACH" ||
    /unreachable|no route to host/i.test(errorText(error));
};

const text = (error: unknown): string => errorText(error);

/** The failures `echo-client` tells apart, the first that matches wins. */
const FAILURES: readonly FailureRule[] = [
  {
    code: ClientExitCode.PermissionDenied,
    matches: (error) => deniedPermission(error) !== undefined,
    message: (error) => {
      const { what, flag } = deniedPermission(error)!;
      return `Deno denied ${what}. Run with ${flag} ` +
        "(all it may use: --allow-net --allow-read --allow-write)";
    },
  },
  {
    code: ClientExitCode.Interrupted,
    matches: (error) => error instanceof InterruptedError,
    message: text,
  },
  {
    // A full disk, say: what went to stdout is incomplete. (A closed pipe,
    // as with `| head -1`, is no failure and never gets here.)
    code: ClientExitCode.Failure,
    matches: (error) => error instanceof OutputError,
    message: (error) => `${text(error)}. ${(error as OutputError).hint}`,
  },
  {
    code: ClientExitCode.ProxyAuth,
    matches: (error) => error instanceof ProxyError && error.failure === "auth",
    message: text,
  },
  {
    code: ClientExitCode.ProxyTarget,
    matches: (error) =>
      error instanceof ProxyError && error.failure === "target",
    message: text,
  },
  {
    code: ClientExitCode.ProxyFailure,
    matches: (error) => error instanceof ProxyError,
    message: text,
  },
  {
    code: ClientExitCode.Failure,
    matches: (error) => error instanceof Deno.errors.AddrInUse,
    message: text,
    hint: "Give --source an address of this host, and another port or none",
  },
  {
    code: ClientExitCode.Refused,
    matches: (error, target) =>
      target.transport === "unix" && error instanceof Deno.errors.NotFound,
    message: (_, where) =>
      `No socket at ${where}: the server may not be running, or the path is wrong`,
  },
  {
    // Our own ClientHello came back: an echo server without TLS on that port.
    code: ClientExitCode.TlsFailure,
    matches: (error, target) =>
      target.transport === "tls" && /got ClientHello/.test(text(error)),
    message: (_, where) =>
      `TLS handshake with ${where} failed: the server sent our own TLS hello ` +
      "back, so it is not speaking TLS on that port (a plain echo server?)",
    hint: "Dial it without TLS, or give the port of its tls:// listener",
  },
  {
    // The server hung up in the middle of the handshake.
    code: ClientExitCode.TlsFailure,
    matches: (error, target) =>
      target.transport === "tls" && /^unexpected end of file/.test(text(error)),
    message: (_, where) =>
      `TLS handshake with ${where} failed: the server closed the connection during it`,
    hint:
      "It may require a client certificate (give --cert FILE --key FILE), or not speak TLS on that port",
  },
  {
    // Closed without TLS's own close: what a server with mutual TLS does to
    // a client certificate it refuses once the handshake is done.
    code: ClientExitCode.ClosedEarly,
    matches: (error, target) =>
      target.transport === "tls" && /close_notify/.test(text(error)),
    message: (_, where) =>
      `${where} closed the TLS connection without closing TLS first (no close_notify)`,
    hint:
      "A server with mutual TLS does this when it refuses the client certificate: give --cert and --key of one its CA signed (its log says why)",
  },
  {
    code: ClientExitCode.TlsFailure,
    matches: (error, target) =>
      error instanceof Deno.errors.InvalidData && target.transport === "tls",
    message: (error, where) =>
      `TLS handshake with ${where} failed: ${text(error)}`,
    hint:
      "For a private CA give --ca FILE; check the name you dial is in the certificate",
  },
  {
    code: ClientExitCode.Refused,
    matches: (error) => error instanceof Deno.errors.ConnectionRefused,
    message: (_, where) =>
      `Connection to ${where} refused: the server may not be running, or the port is wrong`,
  },
  {
    code: ClientExitCode.Unreachable,
    matches: (error, target) =>
      zoneFailure(target.hostname, error) === "no-interface",
    message: (_, where) =>
      `Cannot reach ${where}: this machine has no network interface of the name or number after %`,
    hint: "Name one of its interfaces, as in fe80::1%eth0",
  },
  {
    code: ClientExitCode.Unreachable,
    matches: (error, target) =>
      zoneFailure(target.hostname, error) === "needs-zone",
    message: (_, where) =>
      `Cannot reach ${where}: a link-local address needs the interface after %`,
    hint: "Add it, as in fe80::1%eth0",
  },
  {
    code: ClientExitCode.UnknownHost,
    matches: (error) => error instanceof UnknownHostError && error.temporary,
    message: text,
    hint: "Try again; if it persists, check the network and its name " +
      "servers, or use an IP address",
  },
  {
    code: ClientExitCode.UnknownHost,
    matches: (error) => error instanceof UnknownHostError,
    message: text,
    hint: "Check the spelling, or use an IP address",
  },
  {
    code: ClientExitCode.Unreachable,
    matches: isUnreachable,
    message: (error, where) => `Cannot reach ${where}: ${text(error)}`,
    hint: "Check the address and your network",
  },
  {
    code: ClientExitCode.Timeout,
    matches: (error) => error instanceof EchoTimeoutError,
    message: text,
    hint: "Raise --read-timeout to wait longer",
  },
  {
    code: ClientExitCode.Mismatch,
    matches: (error) => error instanceof EchoMismatchError,
    message: text,
  },
  {
    code: ClientExitCode.Timeout,
    matches: (error) =>
      error instanceof ConnectTimeoutError ||
      error instanceof Deno.errors.TimedOut,
    message: (error) =>
      `${text(error)}: a firewall may be dropping packets, or the host is down`,
    hint: "Raise --timeout to wait longer",
  },
  {
    code: ClientExitCode.ClosedEarly,
    matches: (error) =>
      error instanceof IncompleteEchoError && error.result.echoed === 0,
    message: text,
    hint:
      "A server closes a connection at once when a limit is reached (echo-server's --max-connections or --max-per-ip; its log says so)",
  },
  {
    code: ClientExitCode.ClosedEarly,
    matches: (error) => error instanceof IncompleteEchoError,
    message: text,
    hint:
      "echo-server stops by itself after a line that says its quit word (BYE unless --quit-word says otherwise) and at --max-bytes",
  },
  {
    code: ClientExitCode.ConnectionReset,
    matches: isResetLike,
    message: (error, where) => `Connection to ${where} lost: ${text(error)}`,
  },
];

/** Failures to reach a host, where a mistyped address may be the cause. */
const DIAL_FAILURES: ReadonlySet<ClientExitValue> = new Set([
  ClientExitCode.Refused,
  ClientExitCode.UnknownHost,
  ClientExitCode.Unreachable,
  ClientExitCode.Timeout,
]);

/** The target as the messages name it: `HOST:PORT`, `tls://…`, `unix:…`. */
function describe(target: FailureTarget): string {
  if (target.transport === "unix") return `unix:${target.path}`;
  const scheme = target.transport === "tls" || target.transport === "udp"
    ? `${target.transport}://`
    : "";
  const { hostname, port } = target;
  return `${scheme}${formatAddress({ hostname, port })}`;
}

/**
 * Turns a failure into a one-line message and an exit code.
 *
 * @param error What the run threw.
 * @param target Where the client was going.
 * @returns The exit code and the message (without the program name).
 */
export function failure(
  error: unknown,
  target: FailureTarget,
): { code: ClientExitValue; message: string } {
  const rule = FAILURES.find((rule) => rule.matches(error, target));
  if (rule === undefined) {
    return { code: ClientExitCode.Failure, message: text(error) };
  }
  let message = rule.message(error, describe(target));
  if (rule.hint !== undefined) message = `${message}. ${rule.hint}`;
  const split = portInAddress(target.hostname);
  // A link-local address without a zone cannot be dialed, with a port or not.
  const meant = split === undefined || isLinkLocal(split.hostname)
    ? undefined
    : formatAddress(split);
  const dialing = DIAL_FAILURES.has(rule.code) &&
    !(error instanceof EchoTimeoutError);
  if (meant !== undefined && dialing) {
    message = `${message}. Did you mean ${meant}?`;
  }
  return { code: rule.code, message };
}
