// Copyright the deno-echo authors. MIT license.

// echo-server as a real process: what it prints, how it echoes, how it stops.

import { escape } from "@std/regexp";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertNotMatch,
} from "@std/assert";
import denoJson from "../../deno.json" with { type: "json" };
import {
  assertNoCrash,
  assertNotServed,
  assertStopsCleanly,
  assertUsage,
  connectTo,
  lines,
  logLine,
  projectPath,
  randomBytes,
  readExactly,
  readToEnd,
  readUntilClosed,
  roundTrip,
  runServer,
  type ServerProc,
  stackFrames,
  startServer,
  writeAll,
} from "../_helpers/cli.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("echo-server prints one Listening line per bound address with the real port", async (t) => {
  await t.step("default hostname localhost: 127.0.0.1 and [::1]", async () => {
    await using server = await startServer([], { listening: 2 });
    const [v4, v6] = server.addrs;
    assert(v4 && v6);
    assertNotEquals(server.port, 0);
    assertEquals(v4.text, `127.0.0.1:${server.port}`);
    assertEquals(v6.text, `[::1]:${server.port}`);
    for (const addr of server.addrs) {
      using conn = await connectTo(addr);
      assertEquals(decoder.decode(await roundTrip(conn, "hi\n")), "hi\n");
    }
    const result = await server.stop();
    assertEquals(result.code, 0, result.stderr);
    assertEquals(lines(result.stdout), [
      `Listening on 127.0.0.1:${server.port}`,
      `Listening on [::1]:${server.port}`,
    ]);
  });

  for (
    const [hostname, shown] of [
      ["127.0.0.1", "127.0.0.1"],
      ["::1", "[::1]"],
    ]
  ) {
    await t.step(`--hostname ${hostname}`, async () => {
      await using server = await startServer(["--hostname", hostname!]);
      assertNotEquals(server.port, 0);
      using conn = await connectTo({ hostname: hostname!, port: server.port });
      assertEquals(decoder.decode(await roundTrip(conn, "hi\n")), "hi\n");
      const result = await server.stop();
      assertEquals(result.code, 0, result.stderr);
      assertEquals(lines(result.stdout), [
        `Listening on ${shown}:${server.port}`,
      ]);
    });
  }

  await t.step(
    "--hostname :: serves IPv4 peers, logged without ::ffff:",
    async () => {
      await using server = await startServer(["--hostname", "::"]);
      assertEquals(server.addrs[0]!.text, `[::]:${server.port}`);
      using conn = await connectTo({
        hostname: "127.0.0.1",
        port: server.port,
      });
      const peer = `127.0.0.1:${conn.localAddr.port}`;
      assertEquals(decoder.decode(await roundTrip(conn, "v4\n")), "v4\n");
      await server.waitFor("stderr", `${peer} closed`);
      const result = await server.stop();
      assertEquals(result.code, 0, result.stderr);
      assertMatch(
        result.stderr,
        logLine(`#1 ${escape(peer)} connected \\(1 open\\)`),
      );
      assertNotMatch(result.stderr, /::ffff:/);
      // Dual-stack `::` may or may not need a second, 0.0.0.0 listener.
      for (const line of lines(result.stdout)) {
        assertMatch(line, /^Listening on (\[::\]|0\.0\.0\.0):\d+$/);
      }
    },
  );
});

Deno.test("echo-server echoes and logs each connection's open and close with peer, bytes and reason", async (t) => {
  await using server = await startServer(["--hostname", "127.0.0.1"]);

  await t.step("client closes: reason 'client closed'", async () => {
    using conn = await connectTo(server.addrs[0]!);
    const peer = escape(`127.0.0.1:${conn.localAddr.port}`);
    assertEquals(decoder.decode(await roundTrip(conn, "hello\n")), "hello\n");
    const stderr = await server.waitFor(
      "stderr",
      `${conn.localAddr.port} closed`,
    );
    assertMatch(stderr, logLine(`#1 ${peer} connected \\(1 open\\)`));
    assertMatch(
      stderr,
      logLine(
        `#1 ${peer} closed: client closed; 6 bytes echoed in [0-9.]+ m?s \\(0 open\\)`,
      ),
    );
  });

  await t.step(
    "BYE line: echoed, then the server closes; reason 'quit word'",
    async () => {
      using conn = await connectTo(server.addrs[0]!);
      const peer = escape(`127.0.0.1:${conn.localAddr.port}`);
      await writeAll(conn, "hi\nBYE\nnot echoed\n");
      // No half-close from us: the server ends the connection itself.
      assertEquals(decoder.decode(await readToEnd(conn)), "hi\nBYE\n");
      const stderr = await server.waitFor(
        "stderr",
        `${conn.localAddr.port} closed`,
      );
      assertMatch(
        stderr,
        logLine(
          `#2 ${peer} closed: quit word; 7 bytes echoed in [0-9.]+ m?s \\(0 open\\)`,
        ),
      );
    },
  );

  const result = await server.stop();
  assertEquals(result.code, 0, result.stderr);
  assertEquals(stackFrames(result.stderr), []);
});

Deno.test("echo-server echoes 20 concurrent clients byte-exactly", async () => {
  const clients = 20;
  await using server = await startServer(["--hostname", "127.0.0.1"]);
  const echoes = await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const data = encoder.encode(
        Array.from({ length: 2000 }, (_, j) => `client ${i} line ${j}\n`).join(
          "",
        ),
      );
      using conn = await connectTo(server.addrs[0]!);
      return { data, echoed: await roundTrip(conn, data) };
    }),
  );
  for (const [i, { data, echoed }] of echoes.entries()) {
    assertEquals(echoed.length, data.length, `client ${i}`);
    assertEquals(echoed, data, `client ${i}`);
  }
  const stderr = await server.waitFor(
    "stderr",
    (text) => (text.match(/closed: client closed/g) ?? []).length === clients,
  );
  assertEquals((stderr.match(/ connected \(/g) ?? []).length, clients);
  const result = await server.stop();
  assertEquals(result.code, 0, result.stderr);
});

Deno.test("echo-server keeps serving a client mid-transfer when another resets mid-stream", async () => {
  await using server = await startServer([
    "--hostname",
    "127.0.0.1",
    "--no-quit",
  ]);
  const addr = server.addrs[0]!;
  const first = randomBytes(256 * 1024);
  const second = randomBytes(256 * 1024);

  // B: half of its data sent and echoed; the connection stays open.
  using b = await connectTo(addr);
  const [, firstEcho] = await Promise.all([
    writeAll(b, first),
    readExactly(b, first.length),
  ]);
  assertEquals(firstEcho, first);

  // A: floods the server without reading, reads a little of the echo (so the
  // server is mid-stream, writing to it), then closes with unread data: the
  // kernel answers with a reset.
  const a = await connectTo(addr);
  const aPort = a.localAddr.port;
  const chunk = randomBytes(64 * 1024);
  const flood = (async () => {
    try {
      for (let i = 0; i < 256; i++) await writeAll(a, chunk);
    } catch {
      // Interrupted by our close, or reset by the server: expected.
    }
  })();
  await readExactly(a, 64 * 1024);
  a.close();
  await flood;
  const stderr = await server.waitFor("stderr", `127.0.0.1:${aPort} closed`);
  assertMatch(stderr, new RegExp(`127\\.0\\.0\\.1:${aPort} closed: error`));

  // B carries on, byte-exact, and a new client is served too.
  assertEquals(await roundTrip(b, second), second);
  using c = await connectTo(addr);
  assertEquals(
    decoder.decode(await roundTrip(c, "still serving\n")),
    "still serving\n",
  );
  await server.waitFor("stderr", `127.0.0.1:${c.localAddr.port} closed`);

  const result = await server.stop();
  assertEquals(result.code, 0, result.stderr);
  assertMatch(
    result.stderr,
    new RegExp(
      `127\\.0\\.0\\.1:${b.localAddr.port} closed: client closed; ${
        first.length + second.length
      } bytes`,
    ),
  );
  assertEquals(stackFrames(result.stderr), []);
});

Deno.test("echo-server exits 0 quickly on SIGTERM when idle", async () => {
  await using server = await startServer(["--hostname", "127.0.0.1"]);
  // One served connection first: the server is past start-up (see the next
  // test for a SIGTERM sent the moment it prints Listening).
  using conn = await connectTo(server.addrs[0]!);
  assertEquals(decoder.decode(await roundTrip(conn, "x\n")), "x\n");
  await server.waitFor("stderr", "closed: client closed");

  const started = performance.now();
  const result = await server.stop("SIGTERM");
  const elapsed = performance.now() - started;
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.signal, null);
  assert(elapsed < 2000, `took ${elapsed} ms`);
  assertMatch(
    result.stderr,
    /SIGTERM: stopped accepting; waiting up to 5\.0 s for 0 open connections/,
  );
  assertMatch(result.stderr, logLine("stopped"));
});

Deno.test("echo-server handles a SIGTERM sent as soon as it prints Listening", async () => {
  // A supervisor may signal the moment the server says it is ready. Several
  // servers at once, since a start-up race shows only some of the time.
  const results = await Promise.all(
    Array.from({ length: 8 }, async () => {
      await using server = await startServer(["--hostname", "127.0.0.1"]);
      return await server.stop("SIGTERM");
    }),
  );
  for (const result of results) {
    assertEquals(
      { code: result.code, signal: result.signal },
      { code: 0, signal: null },
      `killed by the signal instead of stopping cleanly; stderr: ${
        JSON.stringify(result.stderr)
      }`,
    );
    assertMatch(result.stderr, logLine("stopped"));
  }
});

/** An echo-server with one client connected; both closed on dispose. */
interface ServerWithClient extends AsyncDisposable {
  server: ServerProc;
  conn: Deno.TcpConn;
}

/**
 * Starts `echo-server --hostname 127.0.0.1 --drain-timeout <drainTimeout>`
 * and connects a client that has had `line` echoed: a live connection for
 * the server to drain.
 */
async function serverWithClient(
  drainTimeout: string,
  line: string,
): Promise<ServerWithClient> {
  await using stack = new AsyncDisposableStack();
  const server = stack.use(
    await startServer([
      "--hostname",
      "127.0.0.1",
      "--drain-timeout",
      drainTimeout,
    ]),
  );
  const conn = stack.use(await connectTo(server.addrs[0]!));
  await writeAll(conn, line);
  assertEquals(decoder.decode(await readExactly(conn, line.length)), line);
  const owned = stack.move();
  return { server, conn, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

Deno.test("echo-server on SIGTERM lets a live connection finish, then exits 0", async () => {
  await using live = await serverWithClient("30s", "before\n");
  const { server, conn } = live;

  server.kill("SIGTERM");
  await server.waitFor(
    "stderr",
    /SIGTERM: stopped accepting; waiting up to 30\.0 s for 1 open connections/,
  );
  await assertNotServed(
    { hostname: "127.0.0.1", port: server.port },
    "a client during the drain",
  );

  // The live connection still echoes during the drain.
  await writeAll(conn, "during\n");
  assertEquals(decoder.decode(await readExactly(conn, 7)), "during\n");
  assertEquals(server.exited, false);

  const closed = performance.now();
  await conn.closeWrite();
  assertEquals((await readToEnd(conn)).length, 0);
  const result = await server.wait();
  const elapsed = performance.now() - closed;
  assertEquals(result.code, 0, result.stderr);
  assert(elapsed < 5000, `exit took ${elapsed} ms after the close`);
  assertMatch(result.stderr, /closed: client closed; 14 bytes/);
  assertMatch(result.stderr, logLine("stopped"));
});

Deno.test("echo-server closes connections at once and exits 143 on a second SIGTERM during the drain", async () => {
  await using live = await serverWithClient("30s", "x\n");
  const { server, conn } = live;

  server.kill("SIGTERM");
  const signalled = performance.now();
  await server.waitFor("stderr", "SIGTERM: stopped accepting");
  // A repeat within 200 ms is the same signal delivered twice; meanwhile the
  // live connection is still served (bounded: 300 ms of round trips).
  let echoed = 2;
  while (performance.now() - signalled < 300) {
    await writeAll(conn, "d\n");
    assertEquals(decoder.decode(await readExactly(conn, 2)), "d\n");
    echoed += 2;
  }
  const started = performance.now();
  const result = await server.stop("SIGTERM");
  const elapsed = performance.now() - started;
  assertEquals(result.code, 143, result.stderr);
  assertEquals(
    result.signal,
    null,
    "exit code set by the server, not death by signal",
  );
  assert(elapsed < 5000, `took ${elapsed} ms`);
  assertMatch(result.stderr, /SIGTERM again: closing 1 connections now/);
  assertMatch(
    result.stderr,
    new RegExp(`closed: server shutting down; ${echoed} bytes`),
  );
  assertEquals((await readUntilClosed(conn)).length, 0);
});

Deno.test("echo-server takes the same signal again within 200 ms (deno task forwarding Ctrl-C) as one: it still drains", async () => {
  await using live = await serverWithClient("30s", "x\n");
  const { server, conn } = live;
  // As deno task does: the terminal's SIGINT, then the forwarded one just
  // after the first was handled (two at the same instant merge into one).
  server.kill("SIGINT");
  await server.waitFor("stderr", "SIGINT: stopped accepting");
  server.kill("SIGINT");
  // Still served after both: draining, not closed.
  await writeAll(conn, "still\n");
  assertEquals(decoder.decode(await readExactly(conn, 6)), "still\n");
  conn.closeWrite();
  assertEquals((await readUntilClosed(conn)).length, 0);
  const result = await server.wait();
  assertEquals(result.code, 0, result.stderr);
  assertNotMatch(result.stderr, /SIGINT again/);
  assertMatch(result.stderr, /closed: client closed; 8 bytes/);
});

Deno.test("echo-server closes connections when --drain-timeout expires and exits 0", async () => {
  await using live = await serverWithClient("300ms", "x\n");
  const { server, conn } = live;

  const started = performance.now();
  server.kill("SIGTERM");
  assertEquals((await readUntilClosed(conn)).length, 0);
  const closedAfter = performance.now() - started;
  const result = await server.wait();
  assertEquals(result.code, 0, result.stderr);
  assert(closedAfter >= 250, `closed after ${closedAfter} ms`);
  assert(closedAfter < 5000, `closed after ${closedAfter} ms`);
  assertMatch(result.stderr, /waiting up to 300 ms for 1 open connections/);
  assertMatch(result.stderr, /closed: server shutting down; 2 bytes/);
});

Deno.test("echo-server exits 3 with a message naming the port when the port is in use", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = taken.addr.port;
  const result = await runServer([
    "--hostname",
    "127.0.0.1",
    "--port",
    String(port),
  ]);
  assertEquals(result.code, 3, result.stderr);
  assertEquals(result.stdout, "");
  const errorLines = lines(result.stderr);
  assertEquals(errorLines.length, 1, result.stderr);
  assertMatch(errorLines[0]!, new RegExp(`^echo-server: .*\\b${port}\\b`));
  assertMatch(errorLines[0]!, /in use/);
});

Deno.test("echo-server rejects bad arguments with exit 2, a one-line message and a --help hint", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--port", "-1"], /port/i],
    [["--port", "65536"], /65536/],
    [["--port", "abc"], /abc/],
    [["--port", "1e3"], /1e3/],
    [["--bogus"], /--bogus/],
    [["--quit-word", ""], /quit word/i],
    [["--handshake-timeout", "0"], /--handshake-timeout/],
    [["--listen", "ftp://localhost"], /ftp/],
  ];
  for (const [args, mentions] of cases) {
    await t.step(args.map((a) => a === "" ? '""' : a).join(" "), async () => {
      assertUsage(await runServer(args), "echo-server", mentions);
    });
  }
});

Deno.test("echo-server --help and --version print to stdout and exit 0", async (t) => {
  await t.step("--help prints usage, options and exit codes", async () => {
    const result = await runServer(["--help"]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stderr, "");
    assertMatch(result.stdout, /^Usage: echo-server/);
    for (
      const flag of [
        "--hostname",
        "--port",
        "--quit-word",
        "--no-quit",
        "--drain-timeout",
      ]
    ) {
      assert(result.stdout.includes(flag), `mentions ${flag}`);
    }
    assertMatch(result.stdout, /Exit codes/);
  });

  await t.step("--version prints the version from deno.json", async () => {
    const result = await runServer(["--version"]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, `echo-server ${denoJson.version}\n`);
  });
});

Deno.test("echo-server --no-quit keeps the connection open after BYE", async () => {
  await using server = await startServer([
    "--hostname",
    "127.0.0.1",
    "--no-quit",
  ]);
  using conn = await connectTo(server.addrs[0]!);
  await writeAll(conn, "BYE\n");
  assertEquals(decoder.decode(await readExactly(conn, 4)), "BYE\n");
  await writeAll(conn, "still here\n");
  assertEquals(decoder.decode(await readExactly(conn, 11)), "still here\n");
  await conn.closeWrite();
  assertEquals((await readToEnd(conn)).length, 0);
  const stderr = await server.waitFor("stderr", /closed: /);
  assertMatch(stderr, /closed: client closed; 15 bytes/);
  const result = await server.stop();
  assertEquals(result.code, 0, result.stderr);
});

/**
 * How to run the server with workers: the compiled binary has
 * `--unstable-net` baked in; `deno run` needs it, and --allow-read for the
 * worker module.
 */
const WORKERS_COMMAND = Deno.env.get("ECHO_SERVER_BIN")
  ? [Deno.env.get("ECHO_SERVER_BIN")!]
  : [
    Deno.execPath(),
    "run",
    "--unstable-net",
    "--allow-net",
    "--allow-read",
    projectPath("server.ts"),
  ];

Deno.test("echo-server --workers", async (t) => {
  await t.step(
    "--workers 2 serves from both isolates, logs the worker, stops on SIGTERM",
    async () => {
      await using server = await startServer(
        ["--workers", "2", "--hostname", "127.0.0.1"],
        { command: WORKERS_COMMAND },
      );
      await server.waitFor("stderr", "2 workers accept on each TCP");
      // 24 connections on 2 listeners all on one: once in 8 million runs.
      for (let i = 0; i < 24; i++) {
        using conn = await connectTo(server.addrs[0]!);
        assertEquals(decoder.decode(await roundTrip(conn, `${i}\n`)), `${i}\n`);
      }
      const log = await server.waitFor(
        "stderr",
        (text) => (text.match(/closed: client closed/g) ?? []).length === 24,
      );
      assertMatch(log, / on worker 0 connected/);
      assertMatch(log, / on worker 1 connected/);
      await assertStopsCleanly(server);
    },
  );

  await t.step("--workers 1 is the plain server", async () => {
    await using server = await startServer(["--workers", "1"], {
      command: WORKERS_COMMAND,
      listening: 2,
    });
    using conn = await connectTo(server.addrs[0]!);
    assertEquals(decoder.decode(await roundTrip(conn, "one\n")), "one\n");
    const log = await server.waitFor("stderr", "closed: client closed");
    assertNotMatch(log, /worker/);
    await assertStopsCleanly(server);
  });

  for (const bad of ["0", "x", "1.5", "257"]) {
    await t.step(`--workers ${bad} is a usage error`, async () => {
      assertUsage(
        await runServer(["--workers", bad], WORKERS_COMMAND),
        "echo-server",
        /--workers/,
      );
    });
  }

  if (Deno.env.get("ECHO_SERVER_BIN")) return;
  await t.step(
    "without --unstable-net: exit 2, saying which flag is missing",
    async () => {
      assertUsage(
        await runServer(["--workers", "2", "--port", "0"]),
        "echo-server",
        /--workers 2: workers need Deno's --unstable-net flag/,
      );
    },
  );

  await t.step(
    "--workers auto without --unstable-net: one isolate, no error",
    async () => {
      await using server = await startServer(
        ["--workers", "auto", "--hostname", "127.0.0.1"],
      );
      using conn = await connectTo(server.addrs[0]!);
      assertEquals(decoder.decode(await roundTrip(conn, "auto\n")), "auto\n");
      const log = await server.waitFor("stderr", "closed: client closed");
      assertNotMatch(log, /worker/);
      await assertStopsCleanly(server);
    },
  );

  await t.step(
    "without --allow-read: exit 4, saying what to allow",
    async () => {
      const result = await runServer(
        ["--workers", "2", "--port", "0"],
        [
          Deno.execPath(),
          "run",
          "--unstable-net",
          "--allow-net",
          projectPath("server.ts"),
        ],
      );
      assertEquals(result.code, 4, result.stderr);
      assertNoCrash(result.stderr);
      assertMatch(
        result.stderr,
        /read access to their module .*worker_main\.ts/,
      );
      assertMatch(result.stderr, /--allow-read for --workers/);
    },
  );
});
