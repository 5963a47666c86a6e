// Copyright the deno-echo authors. MIT license.

// echo-client through real proxies (tinyproxy for HTTP CONNECT, Dante for
// SOCKS5) and from a chosen source, as a real process: lines, --raw and
// ping, and the exit code of each way a proxy says no. Ignored (and counted
// so) where a proxy is not installed.

import { assertEquals, assertMatch } from "@std/assert";
import {
  CLIENT_COMMAND,
  lines,
  run,
  runClient,
  stackFrames,
} from "../_helpers/cli.ts";
import {
  findProgram,
  startDante,
  startTinyproxy,
} from "../_helpers/proxies.ts";
import { assertFailed, closedPort, recordingServer } from "./_client.ts";

const tinyproxy = await findProgram("tinyproxy");
const danted = await findProgram("danted");

Deno.test({
  name:
    "echo-client --proxy http:// echoes lines and raw bytes through tinyproxy",
  ignore: tinyproxy === undefined,
  async fn(): Promise<void> {
    await using echo = await recordingServer();
    await using proxy = await startTinyproxy({
      connectPorts: [echo.port],
      basicAuth: { user: "alice", password: "s3cret" },
    });
    const via = ["--proxy", proxy.url("alice:s3cret")];
    const result = await runClient(
      [...via, `127.0.0.1:${echo.port}`],
      "one\ntwo\nBYE\n",
    );
    assertEquals([result.code, result.stdout, result.stderr], [
      0,
      "one\ntwo\nBYE\n",
      "",
    ]);
    // Input that ends without the quit word: the client half-closes, which
    // tinyproxy answers by tearing the tunnel down; the echo must be in.
    for (let i = 0; i < 5; i++) {
      const ended = await runClient(
        [...via, `127.0.0.1:${echo.port}`],
        "last\n",
      );
      assertEquals([ended.code, ended.stdout], [0, "last\n"], ended.stderr);
    }
    const raw = await runClient(
      [...via, "--raw", `127.0.0.1:${echo.port}`],
      new Uint8Array([0, 255, 10, 13]),
    );
    assertEquals(raw.code, 0, raw.stderr);
    assertEquals(raw.stdoutBytes, new Uint8Array([0, 255, 10, 13]));
    // At a prompt, the line it connected with names the server, and the
    // proxy it went through (not the proxy as the server).
    const prompted = await runClient(
      [...via, "-i", `127.0.0.1:${echo.port}`],
      "hi\n",
    );
    assertEquals([prompted.code, prompted.stdout], [0, "> hi\n> \n"]);
    assertEquals(
      prompted.stderr,
      `Connected to 127.0.0.1:${echo.port} via ${
        proxy.url("alice:s3cret").replace(":s3cret", "")
      } (type BYE to quit)\n`,
    );
  },
});

Deno.test({
  name:
    "echo-client --proxy socks5:// and socks5h:// echo through Dante, IPv4 and IPv6",
  ignore: danted === undefined,
  async fn(t): Promise<void> {
    for (
      const [hostname, target] of [
        ["127.0.0.1", "127.0.0.1"],
        ["127.0.0.1", "localhost"],
        ["::1", "[::1]"],
      ] as const
    ) {
      await t.step(`${hostname} to ${target}`, async () => {
        await using echo = await recordingServer({ hostname });
        await using proxy = await startDante({
          hostname,
          allowPorts: [echo.port],
        });
        for (const scheme of ["socks5", "socks5h"]) {
          const url = proxy.url().replace("socks5", scheme);
          const result = await runClient(
            ["--proxy", url, "-6", `${target}:${echo.port}`].filter((a) =>
              a !== "-6" || hostname === "::1"
            ),
            "via socks\n",
          );
          assertEquals(result.code, 0, result.stderr);
          assertEquals(result.stdout, "via socks\n");
        }
      });
    }
  },
});

Deno.test({
  name: "echo-client ping --proxy probes through each proxy",
  ignore: tinyproxy === undefined || danted === undefined,
  async fn(): Promise<void> {
    await using echo = await recordingServer();
    await using dante = await startDante({ allowPorts: [echo.port] });
    await using http = await startTinyproxy({ connectPorts: [echo.port] });
    for (const proxy of [dante.url(), http.url()]) {
      const result = await run(CLIENT_COMMAND, [
        "ping",
        "--new-connection",
        "-c",
        "2",
        "-i",
        "20ms",
        "--proxy",
        proxy,
        `127.0.0.1:${echo.port}`,
      ]);
      assertEquals(result.code, 0, result.stderr);
      const out = lines(result.stdout);
      assertMatch(
        out[0]!,
        new RegExp(
          `: 64 bytes over tcp via ${
            proxy.replace(/[/.]/g, "\\$&")
          }, a new connection each$`,
        ),
      );
      assertMatch(
        out[1]!,
        new RegExp(
          `^64 bytes from 127\\.0\\.0\\.1:${echo.port}: seq=1 connect=[\\d.]+ ms proxy=[\\d.]+ ms time=[\\d.]+ ms$`,
        ),
      );
    }
  },
});

Deno.test({
  name:
    "echo-client exits 15, 16 or 14 when a proxy wants credentials, cannot reach the server, or refuses",
  ignore: tinyproxy === undefined || danted === undefined,
  async fn(t): Promise<void> {
    const down = closedPort();
    await using echo = await recordingServer();
    await using http = await startTinyproxy({
      connectPorts: [down, echo.port],
      basicAuth: { user: "alice", password: "s3cret" },
    });
    await using dante = await startDante({ allowPorts: [down] });
    const cases: [string, string, number, number, RegExp][] = [
      [
        "HTTP: no credentials",
        http.url(),
        echo.port,
        15,
        /Proxy http:\/\/127\.0\.0\.1:\d+: it wants credentials \(407 Proxy Authentication Required\); give them as http:\/\/USER:PASS@HOST:PORT$/,
      ],
      [
        "HTTP: wrong credentials",
        http.url("alice:no"),
        echo.port,
        15,
        /it refused the credentials/,
      ],
      [
        "HTTP: server down",
        http.url("alice:s3cret"),
        down,
        16,
        new RegExp(
          `could not reach 127\\.0\\.0\\.1:${down} \\(500 Unable to connect\\)$`,
        ),
      ],
      [
        "HTTP: port not allowed",
        http.url("alice:s3cret"),
        1,
        14,
        /refused to connect to 127\.0\.0\.1:1 \(403 /,
      ],
      [
        "SOCKS: server down",
        dante.url(),
        down,
        16,
        new RegExp(
          `could not reach 127\\.0\\.0\\.1:${down} \\(connection refused\\)$`,
        ),
      ],
      [
        "SOCKS: blocked",
        dante.url(),
        echo.port,
        14,
        /\(connection not allowed by ruleset\)$/,
      ],
      [
        "proxy down",
        `socks5://127.0.0.1:${down}`,
        echo.port,
        14,
        new RegExp(
          `Proxy socks5://127\\.0\\.0\\.1:${down}: cannot connect to it: `,
        ),
      ],
    ];
    for (const [what, proxy, port, code, message] of cases) {
      await t.step(what, async () => {
        const result = await runClient(
          ["--proxy", proxy, `127.0.0.1:${port}`],
          "a\n",
        );
        assertFailed(result, code, message);
      });
    }
    await t.step("ping fails the same way", async () => {
      const result = await run(CLIENT_COMMAND, [
        "ping",
        "-c",
        "1",
        "--proxy",
        http.url(),
        `127.0.0.1:${echo.port}`,
      ]);
      assertEquals(result.code, 15, result.stderr);
      assertMatch(
        result.stderr,
        /^echo-client ping: Proxy http:\/\/.*wants credentials/,
      );
      assertEquals(stackFrames(result.stderr), []);
    });
  },
});

Deno.test("echo-client --source connects from the address and port given", async () => {
  await using echo = await recordingServer();
  using probe = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const result = await runClient(
    ["--source", `127.0.0.2:${port}`, `127.0.0.1:${echo.port}`],
    "from 127.0.0.2\n",
  );
  assertEquals(
    [result.code, result.stdout],
    [0, "from 127.0.0.2\n"],
    result.stderr,
  );
  assertEquals(echo.opened[0]!.remoteAddr, {
    transport: "tcp",
    hostname: "127.0.0.2",
    port,
  });
  const v6 = await recordingServer({ hostname: "::1" });
  try {
    const result = await runClient(
      ["--source", "[::1]", `[::1]:${v6.port}`],
      "from ::1\n",
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals((v6.opened[0]!.remoteAddr as Deno.NetAddr).hostname, "::1");
  } finally {
    await v6[Symbol.asyncDispose]();
  }
});

Deno.test("echo-client refuses --proxy and --source where they cannot apply", async (t) => {
  const cases: [string[], RegExp][] = [
    [
      ["--proxy", "socks5://127.0.0.1:1", "unix:/tmp/x.sock"],
      /--proxy carries TCP streams; a unix target/,
    ],
    [
      ["--source", "127.0.0.2", "unix:/tmp/x.sock"],
      /--source binds an IP address; unix: has none/,
    ],
    [
      ["--source", "127.0.0.2", "-6", "localhost"],
      /--source 127\.0\.0\.2 is IPv4; it cannot go with -6/,
    ],
    [["--proxy", "http://proxy:0", "localhost"], /port 0 cannot be dialed/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const result = await runClient(args, "");
      assertEquals(result.code, 2, result.stderr);
      assertMatch(result.stderr, message);
    });
  }
});
