// Copyright the deno-echo authors. MIT license.

// How an echo-server run can end, and the one place each ending is given
// its exit code (and, for a failure to start, its message).

import { errorText, type OutputError } from "./cli.ts";
import {
  formatAddress,
  portInAddress,
  zoneFailure,
  zoneOf,
} from "../net/address.ts";
import type { ListenerSpec } from "../net/listen_url.ts";
import { UnknownHostError } from "../net/resolve.ts";
import { deniedPermission } from "./permission.ts";
import type { ShutdownResult } from "../server/types.ts";
import type { UdpEchoStats } from "../udp/udp_server.ts";

/**
 * Exit codes of `echo-server`.
 *
 * @example Tell a clean stop from a port in use
 * ```ts
 * import { ServerExitCode } from "@deno-echo/echo/server";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(ServerExitCode.Ok, 0);
 * assertEquals(ServerExitCode.AddressInUse, 3);
 * ```
 */
export const ServerExitCode = {
  /** Stopped cleanly (signal, drain finished). */
  Ok: 0,
  /** An unexpected failure, or standard output cannot be written. */
  Failure: 1,
  /** Bad command line. */
  Usage: 2,
  /** The port is already in use. */
  AddressInUse: 3,
  /** Not allowed to listen (a port below 1024, or Deno's --allow-net). */
  PermissionDenied: 4,
  /** The address cannot be listened on (not this host's, unknown name). */
  AddressUnavailable: 5,
  /** The TLS certificate or key cannot be read or used. */
  TlsSetup: 6,
  /** A second SIGHUP closed live connections without waiting (128 + 1). */
  ForcedSighup: 129,
  /** A second signal closed live connections without waiting (128 + 2). */
  ForcedSigint: 130,
  /** A second SIGTERM closed live connections without waiting (128 + 15). */
  ForcedSigterm: 143,
} as const;

/** How a run of `echo-server` ended. */
export type ServerOutcome =
  | { type: "help" }
  | { type: "version" }
  | { type: "usage"; message: string }
  /** The certificate or key file could not be read. */
  | { type: "tls-files"; error: unknown; file: TlsFile }
  /** `serve()` failed, opening `spec` (or before any listener). */
  | { type: "start-failed"; error: unknown; spec: ListenerSpec }
  | {
    type: "stopped";
    /** The signal that, sent again, closed connections without waiting. */
    forced: "SIGINT" | "SIGTERM" | "SIGHUP" | undefined;
    /** What the drain did, when a signal started one. */
    drain: ShutdownResult | undefined;
    /** What each `udp://` listener did. */
    udpStats: ReadonlyMap<string, UdpEchoStats>;
  }
  /**
   * Standard output failed (a full disk; a closed pipe is no failure):
   * the usage, or the `Listening on` lines, could not be written.
   */
  | { type: "output-failed"; error: OutputError }
  | { type: "crashed"; error: unknown };

/**
 * The exit code for how a run ended.
 *
 * @param outcome How it ended.
 * @returns One of {@linkcode ServerExitCode}.
 */
export function exitCode(outcome: ServerOutcome): number {
  switch (outcome.type) {
    case "help":
    case "version":
      return ServerExitCode.Ok;
    case "usage":
      return ServerExitCode.Usage;
    case "tls-files":
      return tlsFileFailure(outcome.error, outcome.file).code;
    case "start-failed":
      return startFailure(outcome.error, outcome.spec).code;
    case "stopped":
      return outcome.forced === "SIGHUP"
        ? ServerExitCode.ForcedSighup
        : outcome.forced === "SIGINT"
        ? ServerExitCode.ForcedSigint
        : outcome.forced === "SIGTERM"
        ? ServerExitCode.ForcedSigterm
        : ServerExitCode.Ok;
    case "output-failed":
    case "crashed":
      return ServerExitCode.Failure;
  }
}

/**
 * What `echo-server` says when standard output failed: the cause and what
 * to do.
 *
 * @param error The failed write.
 * @returns The message, without the program name.
 */
export function outputFailure(error: OutputError): string {
  return `${error.message}. ${error.hint}`;
}

/**
 * Why `serve()` could not start, in words that say what to do, and the
 * exit code that goes with it.
 *
 * @param error What `serve()` threw.
 * @param spec The listener it was opening.
 * @returns The message (without the program name) and the exit code.
 */
export function startFailure(
  error: unknown,
  spec: ListenerSpec,
): { message: string; code: number } {
  const where = spec.transport === "unix"
    ? `unix:${spec.path}`
    : spec.transport === "tcp"
    ? formatAddress(spec)
    : `${spec.transport}://${formatAddress(spec)}`;
  const port = spec.transport === "unix" ? 0 : spec.port;
  const failed = (code: number, why: string): {
    message: string;
    code: number;
  } => ({ code, message: `Cannot listen on ${where}: ${why}` });
  if (error instanceof Deno.errors.AddrInUse) {
    return failed(
      ServerExitCode.AddressInUse,
      spec.transport === "unix"
        ? `${errorText(error)}. Stop it or choose another path`
        : `port ${port} is already in use (another echo-server?). ` +
          `Stop the other program or choose another port (0 picks a free one)`,
    );
  }
  if (error instanceof Deno.errors.AlreadyExists) {
    return failed(ServerExitCode.AddressInUse, errorText(error));
  }
  if (spec.transport === "unix" && isMissingFolder(error)) {
    const folder = JSON.stringify(parentOf(spec.path));
    return failed(
      ServerExitCode.AddressUnavailable,
      `the folder ${folder} does not exist or is not a folder ` +
        `(${errorText(error)}). Create it first, or choose a path in a ` +
        "folder that exists",
    );
  }
  if (error instanceof Deno.errors.InvalidData && spec.transport === "tls") {
    return failed(
      ServerExitCode.TlsSetup,
      `the certificate or key is unusable (${
        errorText(error)
      }). Give a PEM certificate chain with --cert and its PEM key with --key`,
    );
  }
  const denied = deniedPermission(error);
  if (denied !== undefined) {
    return failed(
      ServerExitCode.PermissionDenied,
      `Deno denied ${denied.what}. Run with ${denied.flag} ` +
        "(all it may use: --allow-net --allow-read --allow-write)",
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return failed(
      ServerExitCode.PermissionDenied,
      port > 0 && port < 1024
        ? "ports below 1024 need root or CAP_NET_BIND_SERVICE. Choose a port of 1024 or more"
        : errorText(error),
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return failed(
      ServerExitCode.AddressUnavailable,
      "the address is not on this machine. " +
        "Use one of its addresses, localhost, or :: for every interface" +
        portHint(spec),
    );
  }
  if (error instanceof UnknownHostError && error.temporary) {
    return failed(
      ServerExitCode.AddressUnavailable,
      `${error.message}. Try again; if it persists, check the network and ` +
        "its name servers, or use an IP address",
    );
  }
  if (error instanceof UnknownHostError) {
    return failed(
      ServerExitCode.AddressUnavailable,
      `${error.message}. Check the spelling, or use one of this machine's ` +
        "addresses, localhost, or :: for every interface",
    );
  }
  const zone = spec.transport === "unix" ? undefined : zoneProblem(error, spec);
  if (zone !== undefined) {
    return failed(ServerExitCode.AddressUnavailable, zone);
  }
  return failed(ServerExitCode.Failure, errorText(error));
}

/**
 * For an IPv6 literal whose last group reads as a port (`::1:2990`), how to
 * write what may have been meant.
 */
function portHint(spec: ListenerSpec): string {
  const meant = spec.transport === "unix"
    ? undefined
    : portInAddress(spec.hostname);
  if (meant === undefined) return "";
  const { hostname, port } = meant;
  return `. If ${port} was meant as the port, give it separately: ` +
    `--hostname ${hostname} --port ${port}, or --listen ${spec.transport}://[${hostname}]:${port}`;
}

/**
 * Why an IPv6 literal with a zone that names no interface (`fe80::1%nosuch`,
 * `fe80::1%99`), or a link-local one without a zone, cannot be listened on.
 */
function zoneProblem(
  error: unknown,
  spec: { hostname: string },
): string | undefined {
  switch (zoneFailure(spec.hostname, error)) {
    case "no-interface":
      return `this machine has no network interface "${
        zoneOf(spec.hostname)
      }" (the zone after %). Name one of its interfaces, as in fe80::1%eth0`;
    case "needs-zone":
      return "a link-local address needs the interface after %, as in " +
        `${spec.hostname}%eth0`;
    case undefined:
      return undefined;
  }
}

/** A path's folder: what must exist for a socket to be made in it. */
function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/** ENOENT or ENOTDIR: a folder on the way to the socket is missing. */
function isMissingFolder(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotADirectory ||
    /\(os error (2|20)\)/.test(errorText(error));
}

/** A TLS file named on the command line. */
export interface TlsFile {
  /** The option that named it. */
  flag: "--cert" | "--key" | "--client-ca";
  /** Its path. */
  path: string;
}

const TLS_FILE_NAMES: Record<TlsFile["flag"], string> = {
  "--cert": "the TLS certificate",
  "--key": "the TLS private key",
  "--client-ca": "the client CA file",
};

/**
 * What to say, and the exit code, when a TLS file cannot be read: a Deno
 * permission is exit 4, like every other; anything else is exit 6.
 *
 * @param error What reading it threw.
 * @param file Which file.
 * @returns The message (without the program's name) and the code.
 */
export function tlsFileFailure(
  error: unknown,
  file: TlsFile,
): { code: number; message: string } {
  const what = `${TLS_FILE_NAMES[file.flag]} ${JSON.stringify(file.path)}`;
  if (deniedPermission(error) !== undefined) {
    return {
      code: ServerExitCode.PermissionDenied,
      message:
        `Deno denied reading ${what} (${file.flag}). Run with --allow-read`,
    };
  }
  const hint = error instanceof Deno.errors.NotFound
    ? `: no such file. Check the path given to ${file.flag}`
    : `: ${errorText(error)}`;
  return {
    code: ServerExitCode.TlsSetup,
    message: `Cannot read ${what} (${file.flag})${hint}`,
  };
}
