// Copyright the deno-echo authors. MIT license.

// echo-client as a real process, against an in-process server from mod.ts
// (whose hooks tell which address family each client came in on).

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertNotMatch,
} from "@std/assert";
import denoJson from "../../deno.json" with { type: "json" };
import {
  type ConnectionCloseInfo,
  type ConnectionInfo,
  type EchoServer,
  serve,
  type ServeOptions,
} from "../../mod.ts";
import {
  assertUsage,
  CLIENT_COMMAND,
  DEFAULT_TIMEOUT,
  lines,
  type ProcessResult,
  randomBytes,
  runClient,
  spawn,
  stackFrames,
} from "../_helpers/cli.ts";

/** A server on port 0 that records the connections it saw. */
interface RecordingServer extends AsyncDisposable {
  readonly server: EchoServer;
  readonly port: number;
  readonly opened: ConnectionInfo[];
  readonly closed: ConnectionCloseInfo[];
  /** Resolves once `n` connections have closed (bounded by the test). */
  closedCount(n: number): Promise<ConnectionCloseInfo[]>;
}

async function recordingServer(
  options: ServeOptions = {},
): Promise<RecordingServer> {
  const opened: ConnectionInfo[] = [];
  const closed: ConnectionCloseInfo[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = await serve({
    hostname: "127.0.0.1",
    ...options,
    port: 0,
    onOpen: (info) => opened.push(info),
    onClose: (info) => {
      closed.push(info);
      for (const waiter of waiters) {
        if (closed.length >= waiter.n) waiter.resolve();
      }
    },
  });
  return {
    server,
    port: server.addrs[0]!.port,
    opened,
    closed,
    async closedCount(n: number): Promise<ConnectionCloseInfo[]> {
      if (closed.length < n) {
        const { promise, resolve, reject } = Promise.withResolvers<void>();
        waiters.push({ n, resolve });
        const timer = setTimeout(
          () =>
            reject(new Error(`${closed.length} of ${n} connections closed`)),
          DEFAULT_TIMEOUT,
        );
        try {
          await promise;
        } finally {
          clearTimeout(timer);
        }
      }
      return closed;
    },
    async [Symbol.asyncDispose](): Promise<void> {
      await server.close();
    },
  };
}

/** Asserts a clean run: exit 0, `stdout` exactly, nothing on stderr. */
function assertEchoed(result: ProcessResult, stdout: string): void {
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout, stdout);
  assertEquals(result.stderr, "");
}

/** Asserts a failure: `code`, and one line on stderr that matches. */
function assertFailed(
  result: ProcessResult,
  code: number,
  message: RegExp,
): void {
  assertEquals(result.code, code, result.stderr);
  const errorLines = lines(result.stderr);
  assertEquals(errorLines.length, 1, `one line: ${result.stderr}`);
  assertMatch(errorLines[0]!, /^echo-client: \S/);
  assertMatch(errorLines[0]!, message);
  assertEquals(stackFrames(result.stderr), []);
}

/** A port with nothing listening on 127.0.0.1 (bound, then released). */
function closedPort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

Deno.test("echo-client writes the echo of piped lines to stdout and exits 0", async (t) => {
  await using echo = await recordingServer();
  const target = ["127.0.0.1", String(echo.port)];

  await t.step("lines ending in \\n", async () => {
    assertEchoed(await runClient(target, "a\nb\n"), "a\nb\n");
  });
  await t.step("\\r\\n line endings come back as \\n", async () => {
    assertEchoed(await runClient(target, "a\r\nb\r\n"), "a\nb\n");
  });
  await t.step("a last line without a newline gets one", async () => {
    assertEchoed(await runClient(target, "a\nb"), "a\nb\n");
  });
  await t.step("empty input", async () => {
    assertEchoed(await runClient(target, ""), "");
  });
  await t.step("UTF-8 text", async () => {
    assertEchoed(await runClient(target, "héllo wörld ✓\n"), "héllo wörld ✓\n");
  });
});

Deno.test("echo-client ends the session after the quit line and exits 0", async (t) => {
  await t.step("BYE: echoed, input after it not sent", async () => {
    await using echo = await recordingServer({ quitWord: null });
    const result = await runClient(
      ["127.0.0.1", String(echo.port)],
      "a\nBYE\nnot sent\n",
    );
    assertEchoed(result, "a\nBYE\n");
    const [closed] = await echo.closedCount(1);
    assertEquals(
      closed!.bytes,
      "a\nBYE\n".length,
      "the server saw nothing after BYE",
    );
  });

  await t.step("--quit-word STOP", async () => {
    await using echo = await recordingServer({ quitWord: null });
    const result = await runClient(
      ["--quit-word", "STOP", "127.0.0.1", String(echo.port)],
      "a\nBYE\nSTOP\nnot sent\n",
    );
    assertEchoed(result, "a\nBYE\nSTOP\n");
  });

  await t.step("--no-quit sends every line", async () => {
    await using echo = await recordingServer({ quitWord: null });
    const result = await runClient(
      ["--no-quit", "127.0.0.1", String(echo.port)],
      "a\nBYE\nb\n",
    );
    assertEchoed(result, "a\nBYE\nb\n");
  });
});

Deno.test("echo-client --raw round-trips bytes exactly", async (t) => {
  await using echo = await recordingServer({ quitWord: null });
  const args = ["--raw", "127.0.0.1", String(echo.port)];

  await t.step("all 256 byte values", async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const result = await runClient(args, bytes);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdoutBytes, bytes);
  });

  await t.step("1 MiB of random bytes", async () => {
    const bytes = randomBytes(1024 * 1024);
    const result = await runClient(args, bytes);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdoutBytes.length, bytes.length);
    assert(
      result.stdoutBytes.every((byte, i) => byte === bytes[i]),
      "the echo differs from the input",
    );
  });
});

Deno.test("echo-client --interactive prompts for each line and prints its echo in order", async (t) => {
  await using echo = await recordingServer();
  const target = ["127.0.0.1", String(echo.port)];

  await t.step("piped lines", async () => {
    const result = await runClient(["--interactive", ...target], "a\nb\n");
    assertEquals(result.code, 0, result.stderr);
    // End of input at a prompt ends the prompt's line, as on Ctrl-D.
    assertEquals(result.stdout, "> a\n> b\n> \n");
    assertEquals(
      result.stderr,
      `Connected to 127.0.0.1:${echo.port} (type BYE to quit)\n`,
    );
  });

  await t.step(
    "BYE ends it: no prompt after, input after it not sent",
    async () => {
      const result = await runClient(["-i", "-q", ...target], "a\nBYE\nc\n");
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout, "> a\n> BYE\n");
      assertEquals(result.stderr, "", "-q: no Connected line");
    },
  );

  await t.step("lines typed one at a time", async () => {
    await using client = spawn(CLIENT_COMMAND, ["-i", "-q", ...target], {
      stdin: true,
    });
    await client.waitFor("stdout", (text) => text === "> ");
    await client.write("first\n");
    await client.waitFor("stdout", (text) => text === "> first\n> ");
    await client.write("second\r\n");
    await client.waitFor("stdout", (text) => text === "> first\n> second\n> ");
    await client.closeStdin();
    const result = await client.wait();
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "> first\n> second\n> \n");
  });
});

Deno.test("echo-client accepts every documented form of host and port", async (t) => {
  // localhost: 127.0.0.1 and ::1 on one port.
  await using echo = await recordingServer({ hostname: "localhost" });
  assertEquals(echo.server.addrs.length, 2);
  const port = String(echo.port);
  const cases: [string[], "127.0.0.1" | "::1" | "either"][] = [
    [["127.0.0.1", port], "127.0.0.1"],
    [[`127.0.0.1:${port}`], "127.0.0.1"],
    [[`[::1]:${port}`], "::1"],
    [["::1", port], "::1"],
    [["[::1]", port], "::1"],
    [["localhost", port], "either"],
    [[`localhost:${port}`], "either"],
    [["-p", port], "either"],
    [["--port", port, "127.0.0.1"], "127.0.0.1"],
    [["-4", "localhost", port], "127.0.0.1"],
    [["-6", "localhost", port], "::1"],
  ];
  for (const [args, peer] of cases) {
    await t.step(args.join(" "), async () => {
      const before = echo.opened.length;
      assertEchoed(await runClient(args, "hi\n"), "hi\n");
      assertEquals(echo.opened.length, before + 1);
      const seen = (echo.opened[before]!.remoteAddr as Deno.NetAddr).hostname;
      if (peer === "either") {
        assert(["127.0.0.1", "::1"].includes(seen), seen);
      } else {
        assertEquals(seen, peer);
      }
    });
  }
});

Deno.test("echo-client exits with the documented code and a one-line message when it fails", async (t) => {
  await t.step("connection refused: 3", async () => {
    const port = closedPort();
    const result = await runClient(["127.0.0.1", String(port)], "a\n");
    assertFailed(result, 3, new RegExp(`127\\.0\\.0\\.1:${port} refused`));
  });

  await t.step("unknown host: 4", async () => {
    const result = await runClient(["no-such-host.invalid", "7"], "a\n");
    assertFailed(result, 4, /no-such-host\.invalid/);
  });

  await t.step("server closes before everything is echoed: 8", async () => {
    // The server's default quit word ends the connection; the client's
    // --no-quit has sent "b\n" too, which never comes back.
    await using echo = await recordingServer();
    const result = await runClient(
      ["--no-quit", "127.0.0.1", String(echo.port)],
      "a\nBYE\nb\n",
    );
    assertEquals(result.stdout, "a\nBYE\n");
    assertFailed(result, 8, /before echoing everything: 2 bytes/);
  });

  await t.step(
    "server drops the connection mid-stream: reset (7) or closed early (8)",
    async () => {
      // The peer reads 64 KiB of a 10 MB stream and closes with unread input.
      // Linux answers the client's next segment with a reset (7); some
      // network stacks (gVisor) report a closed pipe instead, which the
      // client reports as closed before everything was echoed (8).
      using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const dropper = (async () => {
        using conn = await listener.accept();
        const buffer = new Uint8Array(8192);
        for (let got = 0; got < 65536;) {
          got += (await conn.read(buffer)) ?? 65536;
        }
      })();
      const result = await runClient(
        ["127.0.0.1", String(listener.addr.port)],
        "x\n".repeat(5_000_000),
      );
      await dropper;
      if (result.code === 7) assertFailed(result, 7, /reset/i);
      else assertFailed(result, 8, /closed the connection before echoing/);
    },
  );

  await t.step(
    "an address that is not this machine's: unreachable (5) or timed out (6)",
    async () => {
      // `::1:2000` is a bare IPv6 literal, so a host (port 2000 by default),
      // not ::1 port 2000. It is no loopback: with no route it fails at once
      // (5), with a route the attempt times out (6).
      const result = await runClient(["::1:2000", "--timeout", "500ms"], "a\n");
      assertEquals(result.stdout, "");
      assert(
        [5, 6].includes(result.code),
        `exit ${result.code}, expected 5 or 6: ${result.stderr}`,
      );
      assertFailed(result, result.code, /::1:2000/);
    },
  );
});

Deno.test("echo-client rejects bad command lines with exit 2 and a --help hint", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["unclosed bracket", ["[::1"], /\[::1.*missing "\]"/],
    [
      "too many arguments",
      ["localhost", "2000", "extra"],
      /Too many arguments/,
    ],
    ["port 0", ["--port", "0", "127.0.0.1"], /Port 0/],
    ["port given twice", ["127.0.0.1:2000", "2001"], /port once/i],
    ["IPv6 with a port but no brackets", ["::1:65000"], /\[ADDRESS\]:PORT/],
    ["port out of range", ["127.0.0.1", "65536"], /65536/],
    ["unknown option", ["--bogus"], /--bogus/],
    ["-4 with -6", ["-4", "-6", "localhost"], /-4 or -6/],
  ];
  for (const [name, args, message] of cases) {
    await t.step(`${name}: ${args.join(" ")}`, async () => {
      assertUsage(await runClient(args, "a\n"), "echo-client", message);
    });
  }

  await t.step(
    "a bare IPv6 literal is a host, so -p is not a second port",
    async () => {
      // Parsed as host ::1:2000; were it ::1 port 2000, -p would be refused
      // as a second port.
      const result = await runClient(
        ["::1:2000", "-p", String(closedPort()), "--timeout", "300ms"],
        "a\n",
      );
      assertNotEquals(result.code, 2, result.stderr);
      assertNotEquals(result.code, 0, result.stderr);
      assertNotMatch(result.stderr, /--help/);
      assertMatch(result.stderr, /::1:2000/);
    },
  );
});

Deno.test("echo-client --help and --version print to stdout and exit 0", async (t) => {
  await t.step("--help lists options and exit codes", async () => {
    const result = await runClient(["--help"]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stderr, "");
    assertMatch(result.stdout, /^Usage: echo-client/);
    for (
      const flag of [
        "--port",
        "-4",
        "-6",
        "--timeout",
        "--raw",
        "--interactive",
        "--quit-word",
        "--no-quit",
      ]
    ) {
      assert(result.stdout.includes(flag), `mentions ${flag}`);
    }
    assertMatch(result.stdout, /Exit codes/);
  });

  await t.step("--version prints the version from deno.json", async () => {
    const result = await runClient(["--version"]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, `echo-client ${denoJson.version}\n`);
  });
});
