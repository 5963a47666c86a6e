// Copyright the deno-echo authors. MIT license.

// Every transport from one echo-server process, and the command lines that
// misuse them.

import { escape } from "@std/regexp";
import { assertEquals, assertMatch, assertRejects } from "@std/assert";
import {
  assertStopsCleanly,
  assertUsage,
  logLine,
  runClient,
} from "../_helpers/cli.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip } from "../_helpers/util.ts";
import {
  assertClientEchoes,
  CLIENT,
  NO_OPENSSL,
  runServerOnce,
  startListening,
  tempDir,
  udpSummary,
} from "./_transport.ts";

Deno.test("echo-server serves tcp://, tls://, unix: and udp:// listeners from one process and names the listener in its log", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using dir = await tempDir();
  const path = `${dir.path}/all.sock`;
  await using server = await startListening([
    "-l",
    "tcp://127.0.0.1:0",
    "-l",
    "tls://127.0.0.1:0",
    "-l",
    `unix:${path}`,
    "-l",
    "udp://127.0.0.1:0",
    "--cert",
    fx.certFile,
    "--key",
    fx.keyFile,
  ], 4);
  const byTransport = new Map(server.listening.map((l) => [l.transport, l]));
  assertEquals(server.listening.length, 4);
  const tcp = byTransport.get("tcp")!;
  const tls = byTransport.get("tls")!;
  const udp = byTransport.get("udp")!;
  assertEquals(tcp.text, `127.0.0.1:${tcp.port}`);
  assertEquals(tls.text, `tls://127.0.0.1:${tls.port}`);
  assertEquals(byTransport.get("unix")?.text, `unix:${path}`);
  assertEquals(udp.text, `udp://127.0.0.1:${udp.port}`);

  await Promise.all([
    assertClientEchoes([`127.0.0.1:${tcp.port}`], "over tcp\n"),
    assertClientEchoes(
      [`tls://localhost:${tls.port}`, "--ca", fx.caFile],
      "over tls\n",
    ),
    assertClientEchoes([`unix:${path}`], "over unix\n"),
    assertClientEchoes([`udp://127.0.0.1:${udp.port}`], "over udp\n"),
  ]);

  const result = await assertStopsCleanly(server);
  for (
    const via of [
      `tcp://127.0.0.1:${tcp.port}`,
      `tls://127.0.0.1:${tls.port}`,
      `unix:${path}`,
    ]
  ) {
    assertMatch(
      result.stderr,
      logLine(`#\\d+ \\S+ via ${escape(via)} connected \\(\\d+ open\\)`),
    );
  }
  assertEquals(
    udpSummary(result.stderr, `udp://127.0.0.1:${udp.port}`),
    { echoed: 1, dropped: {} },
  );
  await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
});

// ---------------------------------------------------------------------------
// Bad command lines

Deno.test("echo-server and echo-client reject transport misuse with exit 2 and a one-line message", async (t) => {
  const serverCases: [string, string[], RegExp][] = [
    [
      "an unknown scheme",
      ["--listen", "ftp://x"],
      /Invalid listener "ftp:\/\/x": expected tcp:\/\/HOST:PORT, tls:\/\/HOST:PORT, udp:\/\/HOST:PORT or unix:PATH/,
    ],
    [
      "tls:// without --cert and --key",
      ["--listen", "tls://localhost:0"],
      /A tls:\/\/ listener needs --cert FILE and --key FILE/,
    ],
    [
      "--cert without a tls:// listener",
      [
        "--listen",
        "tcp://127.0.0.1:0",
        "--cert",
        "cert.pem",
        "--key",
        "key.pem",
      ],
      /--cert and --key go with a tls:\/\/ listener/,
    ],
    [
      "--listen with --port",
      ["--listen", "tcp://127.0.0.1:0", "--port", "0"],
      /Use --listen, or --hostname and --port, not both/,
    ],
  ];
  const clientCases: [string, string[], RegExp][] = [
    [
      "--ca without TLS",
      ["127.0.0.1:2000", "--ca", "ca.pem"],
      /--ca goes with TLS \(--tls or tls:\/\/\)/,
    ],
    [
      "--ca with udp://",
      ["udp://127.0.0.1:2000", "--ca", "ca.pem"],
      /--ca goes with TLS/,
    ],
    [
      "unix: with a second argument as port",
      ["unix:/tmp/none.sock", "2000"],
      /A unix: socket takes no port/,
    ],
    [
      "unix: with --port",
      ["unix:/tmp/none.sock", "--port", "2000"],
      /A unix: socket takes no port/,
    ],
  ];
  const [serverResults, clientResults] = await Promise.all([
    Promise.all(serverCases.map(([, args]) => runServerOnce(args))),
    Promise.all(
      clientCases.map(([, args]) => runClient(args, "a\n", CLIENT)),
    ),
  ]);
  for (const [i, [name, args, message]] of serverCases.entries()) {
    await t.step(`echo-server ${name}: ${args.join(" ")}`, () => {
      assertUsage(serverResults[i]!, "echo-server", message);
    });
  }
  for (const [i, [name, args, message]] of clientCases.entries()) {
    await t.step(`echo-client ${name}: ${args.join(" ")}`, () => {
      assertUsage(clientResults[i]!, "echo-client", message);
    });
  }
});

// ---------------------------------------------------------------------------
// Bugs found while writing these tests (failing on purpose until fixed)

Deno.test("echo-server rejects an out-of-range --max-datagram as a bad command line (exit 2)", async (t) => {
  // README: exit 2 = bad command line. The size is only checked when the
  // udp:// listener opens, which exits 1 ("unexpected failure") with the
  // library's option name (maxDatagramSize) and no --help hint.
  for (const size of ["0", "70000"]) {
    await t.step(`--max-datagram ${size}`, async () => {
      const result = await runServerOnce([
        "--listen",
        "udp://127.0.0.1:0",
        "--max-datagram",
        size,
      ]);
      assertUsage(result, "echo-server", /--max-datagram/);
    });
  }
});
