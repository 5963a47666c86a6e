// Copyright the deno-echo authors. MIT license.

// `echo-client bench` as a real process: the report, --json, exit codes and
// its command line.

import { assert, assertEquals, assertMatch } from "@std/assert";
import { serve } from "../../mod.ts";
import { runClient } from "../_helpers/cli.ts";
import { echoing, NO_ERRORS, scriptedServer } from "./_scripted_server.ts";

Deno.test("echo-client bench --json prints one object with the documented fields", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const port = server.addrs[0]!.port;
  const result = await runClient([
    "bench",
    `127.0.0.1:${port}`,
    "-c",
    "2",
    "-n",
    "200",
    "-s",
    "1K",
    "--pipeline",
    "4",
    "--json",
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stderr, "");
  assertEquals(result.stdout.trimEnd().split("\n").length, 1);
  const json = JSON.parse(result.stdout);
  assertEquals(Object.keys(json), [
    "target",
    "connections",
    "size",
    "pipeline",
    "rate",
    "warmupMs",
    "elapsedMs",
    "sent",
    "roundTrips",
    "roundTripsPerSecond",
    "bytesSent",
    "bytesReceived",
    "sentMBps",
    "receivedMBps",
    "latencyUs",
    "fairness",
    "minShare",
    "errors",
    "firstError",
    "perConnection",
    "transport",
    "startedAt",
    "latencyBucketsNs",
    "series",
  ]);
  assertEquals(json.target, `127.0.0.1:${port}`);
  assertEquals(json.connections, 2);
  assertEquals(json.size, 1024);
  assertEquals(json.pipeline, 4);
  assertEquals(json.rate, 0);
  assertEquals(json.warmupMs, 0);
  assertEquals(json.roundTrips, 200);
  assertEquals(json.bytesReceived, 200 * 1024);
  assertEquals(json.perConnection, [100, 100]);
  assertEquals(Object.keys(json.latencyUs), [
    "min",
    "mean",
    "p50",
    "p90",
    "p99",
    "p999",
    "max",
  ]);
  const { min, p50, p99, max } = json.latencyUs;
  assert(0 < min && min <= p50 && p50 <= p99 && p99 <= max, result.stdout);
  assertEquals(json.errors, { total: 0, ...NO_ERRORS });
  assertEquals(json.firstError, null);
});

Deno.test("echo-client bench prints a report and a histogram", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const result = await runClient([
    "bench",
    "127.0.0.1",
    String(server.addrs[0]!.port),
    "-n",
    "300",
    "-r",
    "3000",
  ]);
  assertEquals(result.code, 0, result.stderr);
  // Not a terminal: no progress line.
  assertEquals(result.stderr, "");
  for (
    const label of [
      "Target",
      "Load",
      "Round trips",
      "Sent",
      "Received",
      "Latency",
      "Fairness",
      "Errors",
    ]
  ) {
    assertMatch(result.stdout, new RegExp(`^${label} +\\S`, "m"));
  }
  assertMatch(result.stdout, /open loop/);
  assertMatch(result.stdout, /^Errors +0$/m);
  assertMatch(result.stdout, /^Latency histogram \(log scale\)$/m);
  assertMatch(result.stdout, /\|#+ *\| +[0-9,]+ +[0-9.]+%$/m);
});

Deno.test("echo-client bench exits 9 when an echo differs", async () => {
  await using server = scriptedServer(echoing((offset, chunk) => {
    if (offset === 0) chunk[0]! ^= 1;
  }));
  const result = await runClient([
    "bench",
    `127.0.0.1:${server.port}`,
    "-c",
    "1",
    "-n",
    "5",
    "--json",
  ]);
  assertEquals(result.code, 9, result.stderr);
  assertEquals(JSON.parse(result.stdout).errors.mismatches, 1);
  assertMatch(
    result.stderr,
    /^echo-client bench: connection 1: echoed byte 0 is/,
  );
});

Deno.test("echo-client bench exits 2 on a bad command line", async (t) => {
  for (
    const [args, message] of [
      [["--bogus"], /Unknown option --bogus/],
      [["-c", "0"], /Invalid --connections "0"/],
      [["-s", "1X"], /Invalid --size "1X"/],
      [["-d", "1s", "-n", "5"], /--duration or --messages, not both/],
      [["-d", "0"], /Invalid --duration "0"/],
      [["--pipeline", "9999999"], /Invalid --pipeline "9999999": at most/],
      // -p is the port in echo-client, so it is not --pipeline here.
      [["-p", "4"], /Unknown option -p/],
      [["-c", "10", "-n", "5"], /fewer than the 10 connections/],
      [["localhost:1", "2"], /Give the port once/],
      [["a", "b", "c"], /Too many arguments/],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const result = await runClient(["bench", ...args]);
      assertEquals(result.code, 2);
      assertEquals(result.stdout, "");
      assertMatch(result.stderr, message);
      assertMatch(result.stderr, /Try 'echo-client bench --help'/);
    });
  }
  await t.step("--help", async () => {
    const result = await runClient(["bench", "--help"]);
    assertEquals(result.code, 0);
    assertMatch(result.stdout, /^Usage: echo-client bench /);
    assertMatch(result.stdout, /--connections N/);
  });
});
