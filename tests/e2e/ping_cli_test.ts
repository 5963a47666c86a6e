// Copyright the deno-echo authors. MIT license.

// `echo-client ping` as a real process: its lines, its summary, --json, the
// exit codes, Ctrl-C, and a session across a server restart.

import { assert, assertEquals, assertMatch } from "@std/assert";
import { serve } from "../../mod.ts";
import {
  CLIENT_COMMAND,
  lines,
  type ProcessResult,
  run,
  spawn,
  stackFrames,
} from "../_helpers/cli.ts";
import { closedPort } from "./_client.ts";

function ping(args: string[]): Promise<ProcessResult> {
  return run(CLIENT_COMMAND, ["ping", ...args]);
}

/** A clean failure of `echo-client ping`: the code and one stderr line. */
function assertPingFailed(
  result: ProcessResult,
  code: number,
  message: RegExp,
): void {
  assertEquals(result.code, code, result.stderr);
  const [first, ...rest] = lines(result.stderr);
  assertMatch(first ?? "", /^echo-client ping: \S/);
  assertMatch(first ?? "", message);
  if (code === 2) {
    assertEquals(rest, ["Try 'echo-client ping --help' for usage."]);
  } else assertEquals(rest, []);
  assertEquals(stackFrames(result.stderr), []);
}

/** A server that reads and never echoes, or changes one byte of each echo. */
function misbehaving(
  how: "silent" | "corrupt",
): { port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks: Promise<void>[] = [];
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      tasks.push(
        (async () => {
          for await (const chunk of conn.readable) {
            if (how === "silent") continue;
            const copy = chunk.slice();
            copy[20] = 0x21; // "!": never in a probe's pattern.
            await conn.write(copy);
          }
        })().catch(() => {}),
      );
    }
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose](): Promise<void> {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      await Promise.all(tasks);
    },
  };
}

const PROBE = (port: number, seq: number): RegExp =>
  new RegExp(
    `^64 bytes from 127\\.0\\.0\\.1:${port}: seq=${seq} time=\\d+\\.\\d{3} ms$`,
  );

Deno.test("echo-client ping prints a line per probe and the summary, exit 0", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addrs[0]!;
  const result = await ping(["-c", "3", "-i", "50ms", `127.0.0.1:${port}`]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stderr, "");
  const out = result.stdout.split("\n");
  assertMatch(
    out[0]!,
    new RegExp(
      `^PING 127\\.0\\.0\\.1:${port} \\(127\\.0\\.0\\.1:${port}\\) from 127\\.0\\.0\\.1:\\d+: 64 bytes over tcp$`,
    ),
  );
  for (const seq of [1, 2, 3]) assertMatch(out[seq]!, PROBE(port, seq));
  assertEquals(out[4], "");
  assertEquals(out[5], `--- 127.0.0.1:${port} echo ping statistics ---`);
  assertMatch(
    out[6]!,
    /^3 sent, 3 echoed, 0% lost, 0 reconnects, time \d+ ms$/,
  );
  assertMatch(
    out[7]!,
    /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/,
  );
  assertEquals(out.length, 9);
});

Deno.test("echo-client ping --json prints one object a line", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addrs[0]!;
  const result = await ping([
    "--json",
    "--new-connection",
    "-c",
    "2",
    "-i",
    "20ms",
    "-s",
    "100",
    `127.0.0.1:${port}`,
  ]);
  assertEquals(result.code, 0, result.stderr);
  const objects = lines(result.stdout).map((line) => JSON.parse(line));
  assertEquals(objects.map((o) => o.type), [
    "connected",
    "probe",
    "probe",
    "summary",
  ]);
  for (const [i, probe] of objects.slice(1, 3).entries()) {
    assertEquals([probe.seq, probe.status, probe.bytes], [
      i + 1,
      "echoed",
      100,
    ]);
    assert(probe.timeMs > 0 && probe.connectMs > 0, JSON.stringify(probe));
  }
  const summary = objects[3];
  assertEquals(
    [
      summary.target,
      summary.sent,
      summary.echoed,
      summary.lost,
      summary.lossPercent,
    ],
    [`127.0.0.1:${port}`, 2, 2, 0, 0],
  );
  assert(summary.rttMs.min <= summary.rttMs.max);
});

Deno.test("echo-client ping --new-connection shows connect and echo times apart", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addrs[0]!;
  const result = await ping([
    "--new-connection",
    "-c",
    "1",
    `127.0.0.1:${port}`,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(
    result.stdout,
    new RegExp(
      `\\n64 bytes from 127\\.0\\.0\\.1:${port}: seq=1 connect=\\d+\\.\\d{3} ms time=\\d+\\.\\d{3} ms\\n`,
    ),
  );
  assertMatch(result.stdout, /: 64 bytes over tcp, a new connection each\n/);
});

Deno.test("echo-client ping exits 13 when echoes do not come back", async () => {
  await using server = misbehaving("silent");
  const result = await ping([
    "-c",
    "2",
    "-i",
    "20ms",
    "-W",
    "100ms",
    `127.0.0.1:${server.port}`,
  ]);
  assertEquals(result.code, 13, result.stderr);
  assertMatch(
    result.stdout,
    /\nno echo for seq=1 within 100 ms\nno echo for seq=2 within 100 ms\n/,
  );
  assertMatch(
    result.stdout,
    /\n2 sent, 0 echoed, 100% lost, 0 reconnects, time /,
  );
  assert(!result.stdout.includes("rtt "), "no rtt line without echoes");
});

Deno.test("echo-client ping exits 9 and shows where an echo is wrong", async () => {
  await using server = misbehaving("corrupt");
  const result = await ping([
    "-c",
    "2",
    "-i",
    "20ms",
    `127.0.0.1:${server.port}`,
  ]);
  assertEquals(result.code, 9, result.stderr);
  assertMatch(
    result.stdout,
    new RegExp(
      `\\nwrong echo for seq=1 from 127\\.0\\.0\\.1:${server.port}: byte 20 is 0x21 \\("!"\\), expected 0x[0-9a-f]{2} \\(".*"\\)\\n`,
    ),
  );
  assertMatch(result.stdout, /\n2 sent, 0 echoed, 2 wrong, 0% lost, /);
});

Deno.test("echo-client ping fails like the client when the first connection fails", async () => {
  const port = closedPort();
  const result = await ping(["-c", "1", `127.0.0.1:${port}`]);
  assertPingFailed(result, 3, new RegExp(`127\\.0\\.0\\.1:${port} refused`));
  assertEquals(result.stdout, "");
});

Deno.test("echo-client ping refuses a bad command line with exit 2", async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /Expected a TARGET/],
    [["-s", "5", "localhost"], /Invalid --size "5": expected 12 to/],
    [["-s", "70000", "udp://localhost"], /expected 12 to 65507 bytes over UDP/],
    [["-c", "0", "localhost"], /Invalid --count "0"/],
    [["-i", "0", "localhost"], /Invalid --interval "0": at least 1ms/],
    [
      ["--new-connection", "udp://localhost"],
      /--new-connection is for streams/,
    ],
    [
      ["--proxy", "socks5://127.0.0.1:1", "udp://localhost"],
      /--proxy carries TCP streams/,
    ],
    [["--source", "localhost", "localhost"], /Invalid --source "localhost"/],
    [["--proxy", "ftp://x", "localhost"], /Invalid proxy "ftp:\/\/x"/],
    [["--verify", "localhost"], /Unknown option/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" ") || "(no target)", async () => {
      assertPingFailed(await ping(args), 2, message);
    });
  }
});

Deno.test("echo-client ping --help lists its options and exit codes", async () => {
  const result = await ping(["--help"]);
  assertEquals(result.code, 0);
  for (
    const option of [
      "-c, --count",
      "-i, --interval",
      "-s, --size",
      "-W, --wait",
      "--new-connection",
      "--json",
      "--proxy URL",
      "--source ADDR[:PORT]",
    ]
  ) {
    assert(result.stdout.includes(option), option);
  }
  assertMatch(
    result.stdout,
    /Exit status: 0 when every probe was echoed intact, 13 when some or all got\nno echo/,
  );
});

Deno.test("echo-client ping ends with the summary on SIGINT, exit 0", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addrs[0]!;
  await using proc = spawn(CLIENT_COMMAND, [
    "ping",
    "-i",
    "50ms",
    `127.0.0.1:${port}`,
  ]);
  await proc.waitFor("stdout", /seq=3 /);
  const result = await proc.stop("SIGINT");
  assertEquals(result.code, 0, result.stderr);
  assertMatch(
    result.stdout,
    /\n--- 127\.0\.0\.1:\d+ echo ping statistics ---\n(\d+) sent, \1 echoed, 0% lost/,
  );
});

Deno.test("echo-client ping goes on across a server restart and reports it", async () => {
  let server = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addrs[0]!;
  try {
    await using proc = spawn(CLIENT_COMMAND, [
      "ping",
      "-c",
      "12",
      "-i",
      "100ms",
      `127.0.0.1:${port}`,
    ]);
    await proc.waitFor("stdout", /seq=3 /);
    await server.close();
    await proc.waitFor("stdout", /connection lost \(/);
    // At least one probe goes unanswered before the server is back.
    await proc.waitFor("stdout", /no (connection|echo) for seq=\d+/);
    server = await serve({ hostname: "127.0.0.1", port });
    const result = await proc.wait();
    assertEquals(result.code, 13, result.stdout + result.stderr);
    assertMatch(
      result.stdout,
      /\nconnection lost \((closed|reset) by peer\); reconnecting\n/,
    );
    const reconnected =
      /\nreconnected after [\d.]+ m?s \((\d+) probes? lost\)\n/.exec(
        result.stdout,
      );
    assert(reconnected !== null, result.stdout);
    assertMatch(result.stdout, /: seq=12 time=/);
    assertMatch(
      result.stdout,
      /\n12 sent, \d+ echoed, \d+(\.\d)?% lost, 1 reconnect, time /,
    );
  } finally {
    await server.close();
  }
});
