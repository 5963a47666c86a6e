// Copyright the deno-echo authors. MIT license.

// echo-server's PROXY protocol and mutual TLS options on the command line:
// what --help says about them, the usage errors (exit 2, one line), and the
// escaping of what a PROXY header states in the log.

import { assertEquals, assertMatch } from "@std/assert";
import { concat } from "@std/bytes";
import {
  assertStopsCleanly,
  assertUsage,
  roundTrip,
  run,
} from "../_helpers/cli.ts";
import { SERVER_COMMAND, spawn } from "../_helpers/proc.ts";
import { bytes } from "../_helpers/util.ts";
import { v2 } from "../proxy/v2_bytes.ts";

Deno.test("echo-server --help documents --proxy-protocol, --proxy-from (and what its absence means) and --client-ca", async () => {
  const result = await run(SERVER_COMMAND, ["--help"]);
  assertEquals(result.code, 0, result.stderr);
  const help = result.stdout;
  assertMatch(
    help,
    /--proxy-protocol +Every tcp:\/\/ and tls:\/\/ listener takes the PROXY/,
  );
  assertMatch(help, /tcp:\/\/HOST:PORT\?proxy-protocol/);
  assertMatch(help, /--proxy-from CIDR +Only peers in CIDR/);
  assertMatch(
    help,
    /Without it, anyone who can connect may\n +claim any client address/,
  );
  assertMatch(
    help,
    /--client-ca FILE +Mutual TLS: require a client certificate/,
  );
  const ours = help.slice(
    help.indexOf("--client-ca"),
    help.indexOf("--udp-rate"),
  );
  for (const line of ours.split("\n")) {
    assertEquals(line.length <= 80, true, `longer than 80 columns: ${line}`);
  }
});

const USAGE: [string, string[], RegExp][] = [
  [
    "a --proxy-from that is not CIDR",
    ["--proxy-protocol", "--proxy-from", "10.0.0.1/8"],
    /^echo-server: --proxy-from: Invalid CIDR "10\.0\.0\.1\/8"/,
  ],
  [
    "--proxy-from without a PROXY listener",
    ["--proxy-from", "10.0.0.0/8"],
    /^echo-server: --proxy-from goes with --proxy-protocol or a \?proxy-protocol listener$/,
  ],
  [
    "--proxy-protocol with only unix: listeners",
    ["--proxy-protocol", "--listen", "unix:/tmp/never-bound.sock"],
    /^echo-server: --proxy-protocol goes with tcp:\/\/ or tls:\/\/ listeners$/,
  ],
  [
    "?proxy-protocol on udp://",
    ["--listen", "udp://127.0.0.1:0?proxy-protocol"],
    /\?proxy-protocol, for tcp:\/\/ and tls:\/\//,
  ],
  [
    "--client-ca without a tls:// listener",
    ["--client-ca", "ca.pem"],
    /^echo-server: --client-ca goes with a tls:\/\/ listener$/,
  ],
];

for (const [what, args, message] of USAGE) {
  Deno.test(`echo-server refuses ${what}: exit 2, one line`, async () => {
    const result = await run(SERVER_COMMAND, args);
    assertUsage(result, "echo-server", message);
  });
}

/** A `sun_path` field: the text, NUL-padded to 108 bytes. */
function sunPath(text: string): number[] {
  const encoded = [...new TextEncoder().encode(text)];
  return [...encoded, ...new Array<number>(108 - encoded.length).fill(0)];
}

Deno.test("echo-server escapes the Unix client path a PROXY v2 header states: no forged log line", async () => {
  await using server = spawn(SERVER_COMMAND, [
    "--listen",
    "tcp://127.0.0.1:0?proxy-protocol",
  ]);
  const stdout = await server.waitFor("stdout", /Listening on \S+:\d+/);
  const port = Number(/Listening on \S+:(\d+)/.exec(stdout)![1]);
  const forged =
    "/tmp/x\n2026-12-01T00:00:00.000Z #9 10.0.0.1:1 \x1b[2Jconnected";
  const header = v2({
    family: 0x31,
    body: [...sunPath(forged), ...sunPath("/tmp/y")],
  });
  {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const echoed = await roundTrip(conn, concat([header, bytes("hi\n")]));
    assertEquals(new TextDecoder().decode(echoed), "hi\n");
  }
  const log = await server.waitFor("stderr", / closed: /);
  const logged = log.split("\n").filter((line: string) => line.length > 0);
  assertMatch(
    logged[0]!,
    /^\S+ #1 unix:\/tmp\/x\\n2026-12-01T00:00:00\.000Z #9 10\.0\.0\.1:1 \\x1b\[2Jconnected via proxy 127\.0\.0\.1:\d+ via tcp:\/\/\S+ connected \(1 open\)$/,
  );
  assertEquals(log.includes("\x1b"), false, "no raw escape in the log");
  await assertStopsCleanly(server);
});
