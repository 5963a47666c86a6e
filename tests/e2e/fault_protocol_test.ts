// Copyright the deno-echo authors. MIT license.

// Fault injection through the programs' edges: binary data through
// `echo-client --raw`, bad command lines for both programs, and servers that
// corrupt or withhold the echo. Payloads come from a seeded PRNG (seed in
// each failure message).

import { concat } from "@std/bytes";
import { assert, assertEquals } from "@std/assert";
import {
  assertNoCrash,
  assertStopsCleanly,
  assertUsage,
  isConnectionClosed,
  lines,
  type ProcessResult,
  runClient,
  runServer,
  startServer,
  writeAll,
} from "../_helpers/cli.ts";
import {
  assertServed,
  FAULT_SEED,
  Prng,
  withoutQuitWord,
} from "../_helpers/fault.ts";
import { assertBytesEqual, KiB, MiB, within } from "../_helpers/util.ts";

Deno.test("echo-client --raw passes any bytes through the server unchanged", async (t) => {
  const rng = new Prng(FAULT_SEED + 9);
  await using server = await startServer(["--hostname", "127.0.0.1"]);
  const target = ["--raw", "127.0.0.1", String(server.port)];
  const all256 = Uint8Array.from({ length: 256 }, (_, i) => i);
  const nuls = new Uint8Array(4096);
  const invalidUtf8 = Uint8Array.from([
    0x80, // lone continuation byte
    0xc0,
    0x80, // overlong NUL
    0xe2,
    0x82, // truncated 3-byte sequence
    0xed,
    0xa0,
    0x80, // UTF-16 surrogate
    0xf4,
    0x90,
    0x80,
    0x80, // above U+10FFFF
    0xfe,
    0xff, // never valid
    0x0d, // lone CR
    0x0a,
  ]);
  const random = withoutQuitWord(rng.bytes(2 * MiB));
  const cases: [string, Uint8Array][] = [
    ["all 256 byte values", all256],
    ["4 KiB of NULs", nuls],
    ["invalid UTF-8", invalidUtf8],
    ["2 MiB random", random],
    ["all of them together", concat([all256, nuls, invalidUtf8, random])],
  ];
  for (const [name, input] of cases) {
    await t.step(name, async () => {
      const result = await runClient(target, input);
      assertEquals(result.code, 0, result.stderr);
      assertBytesEqual(result.stdoutBytes, input, `${name} through --raw`);
      assertEquals(result.stderr, "");
    });
  }
  await assertServed(server.addrs[0]!, rng.bytes(64 * KiB), "fresh client");
  await assertStopsCleanly(server);
});

Deno.test("echo-server and echo-client reject bad command lines with one clear line and the documented exit code", async (t) => {
  const serverCases: [string, string[], RegExp][] = [
    ["unknown flag", ["--bogus"], /Unknown option --bogus/],
    ["port -1", ["--port", "-1"], /--port/],
    ["port =-1", ["--port=-1"], /Invalid port "-1"/],
    ["port 65536", ["--port", "65536"], /Invalid port "65536"/],
    ["port abc", ["--port", "abc"], /Invalid port "abc"/],
    ["port 1e3", ["--port", "1e3"], /Invalid port "1e3"/],
    ["host [::1", ["--hostname", "[::1", "--port", "0"], /\[::1/],
    ["max-connections -1", ["--max-connections", "-1"], /--max-connections/],
    [
      "max-connections=-1",
      ["--max-connections=-1"],
      /Invalid --max-connections "-1"/,
    ],
    ["idle-timeout abc", ["--idle-timeout", "abc"], /--idle-timeout "abc"/],
    ["max-bytes 1X", ["--max-bytes", "1X"], /--max-bytes "1X"/],
  ];
  const clientCases: [string, string[], RegExp][] = [
    ["unknown flag", ["--bogus", "127.0.0.1"], /Unknown option --bogus/],
    ["port -1", ["127.0.0.1", "--port", "-1"], /--port/],
    ["port :-1", ["127.0.0.1:-1"], /Invalid port "-1"/],
    ["port 65536", ["127.0.0.1", "65536"], /Invalid port "65536"/],
    ["port abc", ["127.0.0.1", "abc"], /Invalid port "abc"/],
    ["port 1e3", ["127.0.0.1:1e3"], /Invalid port "1e3"/],
    ["host [::1", ["[::1"], /"\[::1": missing "\]"/],
  ];
  // All the programs run at once; the steps check their results.
  const [serverResults, clientResults, serverV6, clientV6] = await Promise.all([
    Promise.all(serverCases.map(([, args]) => runServer(args))),
    Promise.all(clientCases.map(([, args]) => runClient(args, "a\n"))),
    runServer(["--hostname", "::1:2000", "--port", "0"]),
    runClient(["-4", "::1:2000"], "a\n"),
  ]);

  for (const [i, [name, args, message]] of serverCases.entries()) {
    await t.step(`echo-server ${name}: ${args.join(" ")} -> 2`, () => {
      assertUsage(serverResults[i]!, "echo-server", message);
    });
  }
  await t.step(
    "echo-server --hostname ::1:2000: an IPv6 address not on this host -> 5",
    () => {
      // README: 5 = "the address cannot be listened on (not this host's)".
      assertEquals(serverV6.code, 5, serverV6.stderr);
      assertNoCrash(serverV6.stderr);
      assertEquals(lines(serverV6.stderr), [
        "echo-server: Cannot listen on [::1:2000]:0: the address is not on " +
        "this machine. Use one of its addresses, localhost, or :: for every " +
        "interface. If 2000 was meant as the port, give it separately: " +
        "--hostname ::1 --port 2000, or --listen tcp://[::1]:2000",
      ]);
    },
  );
  for (const [i, [name, args, message]] of clientCases.entries()) {
    await t.step(`echo-client ${name}: ${args.join(" ")} -> 2`, () => {
      assertUsage(clientResults[i]!, "echo-client", message);
    });
  }
  await t.step(
    "echo-client ::1:2000 is a bare IPv6 host, not ::1 port 2000 (-4: a usage error, 2)",
    () => {
      // README: "A bare IPv6 literal such as ::1 is always a host, never host
      // and port." With -4 it is refused as a usage error, without any dial.
      assertUsage(
        clientV6,
        "echo-client",
        /-4 conflicts with the IPv6 address ::1:2000: drop -4, or give an IPv4 address/,
      );
    },
  );
});

Deno.test("echo-client --verify exits 9 when a server flips one byte of the echo", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const flipAt = 7;
  // A corrupting echo server: echoes everything, byte 7 XOR 0x20.
  const corrupter = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(64 * KiB);
    try {
      for (let offset = 0;;) {
        const got = await conn.read(buffer);
        if (got === null) break;
        const chunk = buffer.subarray(0, got);
        if (flipAt >= offset && flipAt < offset + got) {
          chunk[flipAt - offset]! ^= 0x20;
        }
        offset += got;
        await writeAll(conn, chunk);
      }
    } catch (error) {
      // The client hangs up as soon as it sees the bad byte.
      if (!isConnectionClosed(error)) throw error;
    }
  })();
  const input = "hello, world\nsecond line\n";
  const result = await runClient(
    ["--verify", "127.0.0.1", String(listener.addr.port)],
    input,
  );
  await within(corrupter, 5000, "corrupting server to finish");
  assertEquals(result.code, 9, result.stderr);
  assertNoCrash(result.stderr);
  // The line and column of the flipped byte, and the line as sent and got.
  assertEquals(lines(result.stderr), [
    `echo-client: Echo differs from what was sent on line 1, column ${
      flipAt + 1
    } (byte ${flipAt}): sent "hello, world\\n", got "hello, World\\n"`,
  ]);
  // Only correct bytes reach stdout: never the corrupted one.
  assert(
    input.startsWith(result.stdout),
    `stdout: ${JSON.stringify(result.stdout)}`,
  );
});

Deno.test("echo-client --read-timeout 300ms exits 6 when the server reads but never echoes", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const clientDone = Promise.withResolvers<void>();
  let received = 0;
  // A silent server: reads everything, echoes nothing, keeps the connection
  // open until the client has exited.
  const silent = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(64 * KiB);
    try {
      while (true) {
        const got = await conn.read(buffer);
        if (got === null) break;
        received += got;
      }
    } catch (error) {
      if (!isConnectionClosed(error)) throw error;
    }
    await clientDone.promise;
  })();
  const start = performance.now();
  let result: ProcessResult;
  try {
    result = await runClient(
      ["--read-timeout", "300ms", "127.0.0.1", String(listener.addr.port)],
      "hello\nworld\n",
    );
  } finally {
    clientDone.resolve();
  }
  const elapsed = performance.now() - start;
  await within(silent, 5000, "silent server to finish");
  assertEquals(result.code, 6, result.stderr);
  assertNoCrash(result.stderr);
  assertEquals(received, 12, "the server got the input");
  assertEquals(lines(result.stderr), [
    "echo-client: Server stopped responding: nothing for 300 ms with 12 " +
    "bytes not echoed. Raise --read-timeout to wait longer",
  ]);
  assertEquals(result.stdout, "");
  assert(elapsed < 10_000, `client took ${Math.round(elapsed)} ms`);
});
