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
  assertUsage,
  connectTo,
  lines,
  logLine,
  projectPath,
  randomBytes,
  readExactly,
  readToEnd,
  roundTrip,
  runServer,
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

Deno.test("echo-server says how to write an IPv6 host with a port or a zone", async (t) => {
  // Exit 2, a bad command line, as for 127.0.0.1:2990.
  const usage: [string[], RegExp][] = [
    [
      ["-H", "127.0.0.1:2990"],
      /give the port separately with --port: --hostname 127\.0\.0\.1 --port 2990$/,
    ],
    [
      ["-H", "[::1]:2990"],
      /give the port separately with --port: --hostname ::1 --port 2990$/,
    ],
    [
      ["-l", "tcp://::1:0"],
      /write the IPv6 address in brackets: tcp:\/\/\[::1\]:0$/,
    ],
    [["-H", "[::1%lo]", "-p", "0"], /zone \("%lo"\).*link-local/],
    [["-H", ":2000"], /^echo-server: Empty host in ":2000": give a name/],
    [["-H", ""], /Empty host: give a name or address, like localhost$/],
  ];
  for (const [args, mentions] of usage) {
    await t.step(args.map((a) => a === "" ? '""' : a).join(" "), async () => {
      assertUsage(await runServer(args), "echo-server", mentions);
    });
  }

  await t.step(
    "::1:2990 is an IPv6 address: exit 5, with the port it may mean",
    async () => {
      const result = await runServer(["-H", "::1:2990"]);
      assertEquals(result.code, 5, result.stderr);
      assertEquals(lines(result.stderr).length, 1, result.stderr);
      assertMatch(
        result.stderr,
        /not on this machine.*If 2990 was meant as the port, give it separately: --hostname ::1 --port 2990, or --listen tcp:\/\/\[::1\]:2990$/m,
      );
    },
  );

  await t.step({
    name: "a zone that names no interface: exit 5, not an unexpected failure",
    ignore: Deno.build.os !== "linux",
    fn: async () => {
      for (const host of ["fe80::1%nosuch", "[fe80::1%nosuch]"]) {
        const result = await runServer(["-H", host, "-p", "0"]);
        assertEquals(result.code, 5, result.stderr);
        assertEquals(lines(result.stderr).length, 1, result.stderr);
        assertMatch(result.stderr, /no network interface "nosuch"/);
      }
    },
  });
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

Deno.test("echo-server names the TLS file it cannot read: exit 4 when Deno denies it, 6 when it is missing", async () => {
  const tls = ["-l", "tls://127.0.0.1:0", "--cert", "cert.pem", "--key"];
  // Run with --allow-net only: reading the certificate is denied.
  const denied = await runServer([...tls, "key.pem"]);
  assertEquals(denied.code, 4, denied.stderr);
  assertEquals(
    lines(denied.stderr),
    [
      'echo-server: Deno denied reading the TLS certificate "cert.pem" (--cert). Run with --allow-read',
    ],
  );
  // With --allow-read, the missing file is named with its option.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cert.pem`, "");
    await Deno.writeTextFile(`${dir}/key.pem`, "");
    const missing = await runServer(
      [
        "-l",
        "tls://127.0.0.1:0",
        "--cert",
        `${dir}/cert.pem`,
        "--key",
        `${dir}/key.pem`,
        "--client-ca",
        `${dir}/ca.pem`,
      ],
      [
        Deno.execPath(),
        "run",
        "--allow-net",
        "--allow-read",
        projectPath("server.ts"),
      ],
    );
    assertEquals(missing.code, 6, missing.stderr);
    assertEquals(lines(missing.stderr), [
      `echo-server: Cannot read the client CA file "${dir}/ca.pem" (--client-ca): no such file. Check the path given to --client-ca`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
