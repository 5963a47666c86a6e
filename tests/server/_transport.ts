// Copyright the deno-echo authors. MIT license.

// What the transport tests share: echo-server and echo-client as real
// processes, their "Listening on" lines, and the library-level TLS client.

import { escape } from "@std/regexp";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { dialTls } from "../../mod.ts";
import {
  type Command,
  lines,
  logLine,
  type Proc,
  type ProcessResult,
  projectPath,
  readExactly,
  run,
  runClient,
  spawn,
  stackFrames,
  writeAll,
} from "../_helpers/cli.ts";
import type { TlsFixtures } from "../_helpers/tls.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the unix: and TLS file options need besides the network. */
const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write"];
export const SERVER: Command = [
  Deno.execPath(),
  "run",
  ...PERMISSIONS,
  projectPath("server.ts"),
];
export const CLIENT: Command = [
  Deno.execPath(),
  "run",
  ...PERMISSIONS,
  projectPath("client.ts"),
];

export const NO_OPENSSL =
  "openssl is not installed, so there are no TLS fixtures";

/** A temporary directory, removed on dispose. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "deno_echo_unix_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** One parsed `Listening on` line. */
export interface Listening {
  /** What follows "Listening on ". */
  text: string;
  transport: "tcp" | "tls" | "udp" | "unix";
  /** Empty for unix:. */
  hostname: string;
  /** 0 for unix:. */
  port: number;
  /** Empty unless unix:. */
  path: string;
}

const NET_LINE =
  /^Listening on (?:(tls|udp):\/\/)?(?:\[([^\]\s]+)\]|([^\s:[\]/]+)):([0-9]+)$/;
const UNIX_LINE = /^Listening on unix:(\S.*)$/;

export function parseListening(stdout: string): Listening[] {
  const found: Listening[] = [];
  // Complete lines only: a line still being written is not ready.
  const complete = stdout.slice(0, stdout.lastIndexOf("\n") + 1);
  for (const line of complete.split("\n")) {
    const text = line.slice("Listening on ".length);
    const unix = UNIX_LINE.exec(line);
    if (unix !== null) {
      found.push({
        text,
        transport: "unix",
        hostname: "",
        port: 0,
        path: unix[1]!,
      });
      continue;
    }
    const net = NET_LINE.exec(line);
    if (net === null) continue;
    found.push({
      text,
      transport: (net[1] ?? "tcp") as "tcp" | "tls" | "udp",
      hostname: net[2] ?? net[3]!,
      port: Number(net[4]),
      path: "",
    });
  }
  return found;
}

/** An echo-server process that has printed its `Listening on` lines. */
export interface ListeningServer extends Proc {
  /** The lines seen when it became ready (at least `count`). */
  readonly listening: Listening[];
}

/**
 * Starts `echo-server ...args` and waits for `count` `Listening on` lines
 * (all listeners are bound before the first line is printed).
 */
export async function startListening(
  args: readonly string[],
  count = 1,
): Promise<ListeningServer> {
  const proc = spawn(SERVER, args);
  let stdout: string;
  try {
    stdout = await proc.waitFor(
      "stdout",
      (text) => parseListening(text).length >= count,
    );
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
  return Object.assign(proc, { listening: parseListening(stdout) });
}

/** Runs echo-server to completion (it is expected to fail to start). */
export function runServerOnce(args: readonly string[]): Promise<ProcessResult> {
  return run(SERVER, args);
}

/** Runs echo-client with piped input and expects every line echoed. */
export async function assertClientEchoes(
  args: readonly string[],
  input = "one\ntwo\n",
): Promise<ProcessResult> {
  const result = await runClient(args, input, CLIENT);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout, input);
  assertEquals(stackFrames(result.stderr), []);
  return result;
}

/** Exit `code`, nothing on stdout, exactly one stderr line matching. */
export function assertOneLineFailure(
  result: ProcessResult,
  code: number,
  message: RegExp,
): void {
  assertEquals(result.code, code, result.stderr);
  assertEquals(result.stdout, "");
  assertEquals(stackFrames(result.stderr), [], result.stderr);
  const errorLines = lines(result.stderr);
  assertEquals(errorLines.length, 1, result.stderr);
  assertMatch(errorLines[0]!, message);
}

/** Writes `text` and reads back exactly as many bytes. */
export async function assertEchoes(
  conn: Deno.Conn,
  text: string,
): Promise<void> {
  await writeAll(conn, text);
  const echoed = await readExactly(conn, encoder.encode(text).length);
  assertEquals(decoder.decode(echoed), text);
}

export function dialGood(
  fx: TlsFixtures,
  port: number,
): Promise<Deno.TlsConn> {
  return dialTls({
    hostname: "localhost",
    port,
    family: 4,
    caCerts: [fx.ca],
    timeout: 5000,
  });
}

/** The server's summary line for a udp:// listener, parsed. */
export function udpSummary(
  stderr: string,
  url: string,
): { echoed: number; dropped: Record<string, number> } {
  const match = logLine(
    `${escape(url)}: ([0-9]+) datagrams? echoed; dropped: (.+)`,
  ).exec(stderr);
  assert(match, `no summary line for ${url} in:\n${stderr}`);
  const dropped: Record<string, number> = {};
  if (match[2] !== "none") {
    for (const part of match[2]!.split(", ")) {
      const [count, reason] = part.split(" ");
      dropped[reason!] = Number(count);
    }
  }
  return { echoed: Number(match[1]), dropped };
}
