// Copyright the deno-echo authors. MIT license.

// `echo-client bench` over tls://, unix: and udp:// as a real process: the
// report, the JSON, the exit codes (11 for lost datagrams, 12 for a failed
// TLS handshake) and the options each transport takes.

import { assertEquals, assertMatch } from "@std/assert";
import { createSocket } from "node:dgram";
import { serve } from "../../mod.ts";
import {
  CLIENT_COMMAND,
  type Command,
  projectPath,
  run,
} from "../_helpers/cli.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip } from "../_helpers/util.ts";
import { NO_ERRORS } from "./_scripted_server.ts";

/** The client with the file permissions unix: and --ca need. */
const CLIENT: Command = Deno.env.get("ECHO_CLIENT_BIN") ? CLIENT_COMMAND : [
  Deno.execPath(),
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  projectPath("client.ts"),
];

const bench = (args: string[]) => run(CLIENT, ["bench", ...args]);

Deno.test("echo-client bench unix:PATH loads a Unix socket server", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/echo.sock`;
  try {
    await using _server = await serve({ listen: [`unix:${path}`] });
    const result = await bench([
      `unix:${path}`,
      "-c",
      "2",
      "-n",
      "100",
      "--json",
    ]);
    assertEquals(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    assertEquals(json.target, `unix:${path}`);
    assertEquals(json.transport, "unix");
    assertEquals(json.roundTrips, 100);
    assertEquals(json.errors, { total: 0, ...NO_ERRORS });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("echo-client bench tls:// trusts --ca and exits 12 when the handshake fails", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) {
    return skip("openssl is not installed (needed for the TLS fixtures)");
  }
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const good = await bench([
    `tls://localhost:${port}`,
    "-4",
    "--ca",
    fx.caFile,
    "-c",
    "2",
    "-n",
    "100",
  ]);
  assertEquals(good.code, 0, good.stderr);
  assertMatch(
    good.stdout,
    new RegExp(`^Target +tls://127\\.0\\.0\\.1:${port}$`, "m"),
  );
  assertMatch(good.stdout, /^Round trips +100 /m);
  const untrusted = await bench([`tls://127.0.0.1:${port}`, "-n", "10"]);
  assertEquals(untrusted.code, 12, untrusted.stderr);
  assertMatch(
    untrusted.stderr,
    new RegExp(
      `^echo-client bench: TLS handshake with tls://127\\.0\\.0\\.1:${port} failed: `,
    ),
  );
});

Deno.test("echo-client bench udp:// reports the datagrams lost and exits 11", async (t) => {
  await t.step("a server that echoes everything", async () => {
    await using server = await serve({
      listen: ["udp://127.0.0.1:0"],
      udp: { ratePerSource: 0 },
    });
    const { port } = server.listeners[0]!.addr as Deno.NetAddr;
    const result = await bench([
      `udp://127.0.0.1:${port}`,
      "-c",
      "2",
      "-n",
      "200",
    ]);
    assertEquals(result.code, 0, result.stderr);
    assertMatch(
      result.stdout,
      new RegExp(`^Target +udp://127\\.0\\.0\\.1:${port}$`, "m"),
    );
    assertMatch(result.stdout, /^Load +2 sockets, 64 B messages/m);
    assertMatch(result.stdout, /^Lost +0 of 200 datagrams \(0\.0%\)$/m);
  });
  await t.step("a server that drops every other datagram", async () => {
    const socket = createSocket("udp4");
    let received = 0;
    socket.on("message", (msg, rinfo) => {
      if (++received % 2 === 0) return;
      socket.send(msg, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    try {
      const result = await bench([
        `udp://127.0.0.1:${socket.address().port}`,
        "-c",
        "1",
        "-n",
        "20",
        "--loss-timeout",
        "50ms",
        "--json",
      ]);
      assertEquals(result.code, 11, result.stderr);
      const json = JSON.parse(result.stdout);
      assertEquals(json.errors.lost, 10);
      assertEquals(json.errors.total, 10);
      assertEquals(json.roundTrips, 10);
      assertEquals(json.sent, 20);
      assertMatch(
        result.stderr,
        /^echo-client bench: socket 1: datagram 2 got no echo within 50 ms\n$/,
      );
    } finally {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });
});

Deno.test("echo-client bench checks the options of each transport", async (t) => {
  for (
    const [args, message] of [
      [["--ca", "x.pem"], /--ca goes with tls:\/\//],
      [["unix:/tmp/x.sock", "--insecure"], /--insecure goes with tls:\/\//],
      [
        ["tls://localhost", "--cert", "c.pem"],
        /Give --cert and --key together/,
      ],
      [["--loss-timeout", "1s"], /--loss-timeout goes with udp:\/\//],
      [
        ["udp://localhost", "--loss-timeout", "0"],
        /Invalid --loss-timeout "0"/,
      ],
      [
        ["udp://localhost", "--read-timeout", "1s"],
        /--read-timeout is for stream transports/,
      ],
      [
        ["udp://localhost", "-s", "65508"],
        /Invalid --size "65508": a datagram holds at most 65507 bytes/,
      ],
      [["unix:"], /Expected unix:PATH/],
      [["unix:/tmp/x.sock", "2000"], /A unix: socket takes no port/],
      [["tls://localhost:1", "2"], /Give the port once/],
      [["udp://[::1"], /missing "\]"/],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const result = await bench([...args]);
      assertEquals(result.code, 2, result.stderr);
      assertEquals(result.stdout, "");
      assertMatch(result.stderr, message);
      assertMatch(result.stderr, /Try 'echo-client bench --help'/);
    });
  }
  await t.step("a CA file that cannot be read", async () => {
    const result = await bench([
      "tls://localhost",
      "--ca",
      "/nonexistent/ca.pem",
    ]);
    assertEquals(result.code, 2, result.stderr);
    assertMatch(
      result.stderr,
      /^echo-client bench: Cannot read the CA certificate \/nonexistent\/ca.pem: /,
    );
  });
});
