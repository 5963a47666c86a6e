#!/usr/bin/env -S deno run --allow-net
// Copyright the deno-echo authors. MIT license.

/**
 * `echo-client`: talks to a TCP echo server. On a terminal it is the
 * textbook conversation (prompt, send a line, print its echo, stop after
 * `BYE`); with pipes it is a scriptable tool that streams stdin through the
 * server to stdout.
 *
 * Run it with `deno task client HOST [PORT]` (or
 * `deno run --allow-net client.ts`); `--help` lists the options. As a module
 * it exports {@linkcode connect} (by options, `HOST:PORT`, or a `tcp://`,
 * `tls://` or `unix:` URL), {@linkcode EchoClient} (over any `Deno.Conn`),
 * {@linkcode runSession}, {@linkcode runUdpSession} and the load generator
 * behind `echo-client bench`, {@linkcode runBench}.
 *
 * @example Dial a server from a program
 * ```ts
 * import { connect } from "@deno-echo/echo/client";
 * import { serve } from "@deno-echo/echo/server";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * await using client = await connect(server.addrs[0]!);
 * assertEquals(await client.send("hi"), "hi");
 * ```
 *
 * @module
 */

import type { BenchOptions } from "./src/bench/options.ts";
import type { BenchResult } from "./src/bench/result.ts";
import type {
  PingHooks,
  PingOptions,
  PingSummary,
} from "./src/client/ping_types.ts";
import { type ClientCommand, parseClientArgs } from "./src/cli/client_args.ts";
import { benchMain } from "./src/cli/client_bench.ts";
import {
  reportFailure,
  reportInfo,
  reportRun,
  reportUsageError,
} from "./src/cli/client_report.ts";
import { runClient } from "./src/cli/client_run.ts";
import { errorText, writeText } from "./src/cli/cli.ts";
import { ClientExitCode } from "./src/cli/client_exit.ts";

// Types only: the load generator itself is loaded by runBench() when called.
export type { BenchOptions, BenchTlsOptions } from "./src/bench/options.ts";
export type {
  BenchErrors,
  BenchInterval,
  BenchProgress,
  BenchResult,
  BenchSeries,
  BenchTransport,
} from "./src/bench/result.ts";
export { Histogram } from "./src/bench/histogram.ts";
export {
  connect,
  type ConnectAddressOptions,
  type ConnectOptions,
} from "./src/client/connect.ts";
export {
  ConnectTimeoutError,
  dial,
  type DialOptions,
  dialTls,
  type DialTlsOptions,
  dialUnix,
} from "./src/client/dial.ts";
export {
  EchoClient,
  type EchoClientOptions,
} from "./src/client/echo_client.ts";
export { type IPFamily, UnknownHostError } from "./src/net/resolve.ts";
export type { UdpClientOptions } from "./src/udp/udp_client.ts";
export {
  runUdpSession,
  type UdpLostLine,
  type UdpSessionOptions,
  type UdpSessionResult,
} from "./src/client/udp_session.ts";
export {
  type EchoMismatchContext,
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
  runSession,
  type SessionOptions,
  type SessionResult,
} from "./src/client/session.ts";
export { ClientExitCode };
// Types only: the ping code is loaded by runPing() when called.
export type {
  PingHooks,
  PingLinkEvent,
  PingMismatch,
  PingOptions,
  PingProbe,
  PingRtt,
  PingSummary,
  PingTransport,
} from "./src/client/ping_types.ts";
export type {
  ProxyHeaderOption,
  RouteOptions,
  RouteTimings,
  SourceAddress,
} from "./src/client/proxy_dial.ts";
export type { ProxyConfig, ProxyScheme } from "./src/client/proxy_url.ts";
export { ProxyError, type ProxyFailure } from "./src/client/proxy_errors.ts";

/**
 * Generates load on an echo server and measures it: opens `connections`
 * connections, sends `size`-byte messages on each (closed loop with
 * `pipeline` in flight, or open loop at a fixed `rate`), checks every echoed
 * byte, and reports round trips a second, bytes a second, the latency
 * distribution, how evenly the connections were served, and every failure.
 * The load generator is loaded on the first call.
 *
 * @example Measure 50 round trips against an in-process server
 * ```ts
 * import { serve } from "@deno-echo/echo";
 * import { runBench } from "@deno-echo/echo/client";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * const result = await runBench({
 *   hostname: "127.0.0.1",
 *   port: server.addrs[0]!.port,
 *   connections: 2,
 *   messages: 50,
 * });
 * assertEquals(result.roundTrips, 50);
 * assertEquals(result.firstError, null);
 * ```
 *
 * @param options The server, the load, and how long to measure.
 * @returns The measurements; the run resolves even when connections fail
 * (see `errors`).
 * @throws {RangeError} If an option is out of range.
 * @throws {Deno.errors.ConnectionRefused} If a connection is refused (as for
 * the other errors of {@linkcode dial}, no load is sent then).
 */
export async function runBench(
  options: BenchOptions = {},
): Promise<BenchResult> {
  const bench = await import("./src/bench/bench.ts");
  return await bench.runBench(options);
}

/**
 * Pings an echo server, as `echo-client ping` does: a probe every
 * `interval` carrying its sequence number, each echo checked byte for byte
 * and timed; over one connection (made again with back-off when it is
 * lost), a new connection per probe (`newConnection`, with connect, proxy
 * and TLS times apart), or UDP. The first connection must succeed; after
 * that, failures are counted and the run goes on until `count` probes or
 * until `signal` aborts, and resolves with the summary. The ping code is
 * loaded on the first call.
 *
 * @example Three probes, each echoed
 * ```ts
 * import { serve } from "@deno-echo/echo";
 * import { runPing } from "@deno-echo/echo/client";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * const lines: string[] = [];
 * const summary = await runPing(
 *   { hostname: "127.0.0.1", port: server.addrs[0]!.port, count: 3, interval: 10 },
 *   { onProbe: (probe) => void lines.push(`seq=${probe.seq} ${probe.status}`) },
 * );
 * assertEquals(lines, ["seq=1 echoed", "seq=2 echoed", "seq=3 echoed"]);
 * assertEquals(summary.lost, 0);
 * ```
 *
 * @param options The target, the probes, the route (`proxy`, `source`,
 * TLS) and the cancellation.
 * @param hooks Hears each probe's outcome and each change of the
 * connection.
 * @returns What the run measured.
 * @throws {RangeError} If an option is out of range.
 * @throws {ProxyError} If the first connection fails at the proxy.
 * @throws {Deno.errors.ConnectionRefused} If the first connection is
 * refused (and the other errors of {@linkcode dial}).
 */
export async function runPing(
  options: PingOptions = {},
  hooks: PingHooks = {},
): Promise<PingSummary> {
  const ping = await import("./src/client/ping.ts");
  return await ping.runPing(options, hooks);
}

/** `echo-client ARGS`: parse, run, report. Returns the exit code. */
async function main(args: string[]): Promise<number> {
  if (args[0] === "bench") return await benchMain(args.slice(1));
  if (args[0] === "ping") {
    // Loaded only when asked for, as the load generator is.
    const { pingMain } = await import("./src/cli/ping_main.ts");
    return await pingMain(args.slice(1));
  }
  let command: ClientCommand;
  try {
    command = parseClientArgs(args, Deno.stdin.isTerminal());
  } catch (error) {
    return reportUsageError(error);
  }
  if (command === "help" || command === "version") return reportInfo(command);
  try {
    return reportRun(await runClient(command));
  } catch (error) {
    return reportFailure(error, command);
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    writeText(
      Deno.stderr,
      `echo-client: unexpected error: ${errorText(error)}\n`,
    );
    code = ClientExitCode.Failure;
  }
  // Exit now: a read of standard input may still be pending, and it would
  // keep the process alive until the user typed another line.
  Deno.exit(code);
}
