// Copyright the deno-echo authors. MIT license.

// echo-client as a real process: how it fails (exit codes and one-line
// messages), bad command lines, --help and --version.

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertNotMatch,
} from "@std/assert";
import denoJson from "../../deno.json" with { type: "json" };
import { assertUsage, runClient } from "../_helpers/cli.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip } from "../_helpers/util.ts";
import { CLIENT, NO_OPENSSL } from "../server/_transport.ts";
import { assertFailed, closedPort, recordingServer } from "./_client.ts";

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
      // It may be ::1 port 2000 the user meant.
      assertMatch(result.stderr, /Did you mean \[::1\]:2000\?$/m);
    },
  );
});

Deno.test({
  name:
    "echo-client reports a zone that names no interface as unreachable (5), with or without brackets",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    for (const host of ["[fe80::1%nosuch]:2000", "fe80::1%nosuch"]) {
      const result = await runClient([host, "--timeout", "500ms"], "a\n");
      assertFailed(result, 5, /no network interface of the name or number/);
    }
  },
});

Deno.test("echo-client rejects bad command lines with exit 2 and a --help hint", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["unclosed bracket", ["[::1"], /\[::1.*missing "\]"/],
    [
      "too many arguments",
      ["localhost", "2000", "extra"],
      /Too many arguments/,
    ],
    [
      "port 0",
      ["--port", "0", "127.0.0.1"],
      /Port 0 cannot be dialed: expected a whole number from 1 to 65535/,
    ],
    [
      "port out of range, in HOST:PORT",
      ["127.0.0.1:70000"],
      /"70000": expected a whole number from 1 to 65535/,
    ],
    [
      "empty host",
      [":2000"],
      /Empty host: give a name or address, like localhost:2000$/,
    ],
    [
      "an interface name as zone of ::1, in brackets",
      ["[::1%lo]:2000"],
      /zone \("%lo"\).*link-local/,
    ],
    ["port given twice", ["127.0.0.1:2000", "2001"], /port once/i],
    ["IPv6 with a port but no brackets", ["::1:65000"], /\[ADDRESS\]:PORT/],
    ["port out of range", ["127.0.0.1", "65536"], /65536/],
    ["unknown option", ["--bogus"], /--bogus/],
    ["-4 with -6", ["-4", "-6", "localhost"], /-4 or -6/],
    [
      "-4 with an IPv6 address",
      ["-4", "::1"],
      /-4 conflicts with the IPv6 address ::1/,
    ],
    [
      "-6 with an IPv4 address",
      ["-6", "127.0.0.1"],
      /-6 conflicts with the IPv4 address 127\.0\.0\.1/,
    ],
    [
      "a scheme echo-client does not speak",
      ["http://localhost:2000"],
      /Unsupported scheme "http:\/\/" .*tcp:\/\/, tls:\/\/, udp:\/\/ and unix:PATH/,
    ],
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

Deno.test("echo-client checks its TLS files before it dials: exit 2 for a file with no PEM in it, or a --key that is not --cert's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const notPem = `${dir}/ca.txt`;
    await Deno.writeTextFile(notPem, "serial 01\n");
    assertFailed(
      await runClient(["tls://localhost:9", "--ca", notPem], "a\n", CLIENT),
      2,
      /The CA certificate .*ca\.txt holds no PEM "CERTIFICATE" block/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  assertFailed(
    await runClient(
      [
        "tls://localhost:9",
        "--ca",
        fx.caFile,
        "--cert",
        fx.certFile,
        "--key",
        fx.otherKeyFile,
      ],
      "a\n",
      CLIENT,
    ),
    2,
    /--cert .* and --key .* do not match: the key is not the certificate's/,
  );
});
