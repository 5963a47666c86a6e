// Copyright the deno-echo authors. MIT license.

// echo-client as a real process against servers that misbehave: one that
// reads but never echoes, one that closes an idle session, one that changes
// a byte.

import { assertEquals, assertLessOrEqual, assertMatch } from "@std/assert";
import { DEFAULT_MAX_UNECHOED } from "../../src/client/session.ts";
import { CLIENT_COMMAND, runClient, spawn } from "../_helpers/cli.ts";
import { MiB } from "../_helpers/util.ts";
import { assertFailed, recordingServer } from "./_client.ts";

/** A server on 127.0.0.1 that reads everything and never echoes. */
function discardServer(): { port: number; received(): number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = 0;
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const buffer = new Uint8Array(256 * 1024);
        for (let n; (n = await conn.read(buffer).catch(() => null)) !== null;) {
          received += n;
        }
      })().finally(() => {
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      });
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    received: () => received,
    [Symbol.dispose](): void {
      listener.close();
      for (const conn of conns) conn.close();
    },
  };
}

Deno.test("echo-client stops reading stdin when the server does not echo, and its read timeout fires", async (t) => {
  for (const flags of [["--raw"], ["--raw", "--verify"]]) {
    await t.step(flags.join(" "), async () => {
      using server = discardServer();
      await using client = spawn(
        CLIENT_COMMAND,
        [...flags, "--read-timeout", "1s", "127.0.0.1", String(server.port)],
        { stdin: true },
      );
      // Endless input, as from /dev/zero: written until the client exits.
      const chunk = new Uint8Array(MiB);
      const feeding = (async () => {
        for (let written = 0; written < 256 * MiB; written += chunk.length) {
          await client.write(chunk);
        }
      })().catch(() => {});
      const result = await client.wait();
      await feeding;
      assertFailed(
        result,
        6,
        /Server stopped responding: nothing for 1000 ms with \d+ bytes not echoed/,
      );
      // What the client let go unechoed, and no more than one read over.
      assertLessOrEqual(server.received(), DEFAULT_MAX_UNECHOED + MiB);
    });
  }
});

Deno.test("echo-client -i says when the server closes an idle session, and exits 0: nothing was lost", async () => {
  await using echo = await recordingServer({ idleTimeout: 300 });
  await using client = spawn(
    CLIENT_COMMAND,
    ["-i", "-q", "127.0.0.1", String(echo.port)],
    { stdin: true },
  );
  await client.write("hi\n");
  // stdin stays open: the user is still to type.
  const result = await client.wait();
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout, "> hi\n> \n");
  assertEquals(
    result.stderr,
    "echo-client: Connection closed by the server (3 bytes echoed)\n",
  );
});

Deno.test("echo-client --verify prints the lines that matched, then where the echo differs", async () => {
  // Echoes lines, with one byte of the third changed.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(1024);
    let got = 0;
    const want = "one\ntwo\nthree\nfour\n".length;
    while (got < want) got += (await conn.read(buffer.subarray(got))) ?? want;
    buffer[10] = "X".charCodeAt(0);
    await conn.write(buffer.subarray(0, got)).catch(() => {});
    await conn.read(buffer).catch(() => null);
  })();
  const result = await runClient(
    ["--verify", "127.0.0.1", String(listener.addr.port)],
    "one\ntwo\nthree\nfour\n",
  );
  await server;
  assertEquals(result.stdout, "one\ntwo\n");
  assertFailed(result, 9, /on line 3, column 3 \(byte 10\)/);
  assertMatch(result.stderr, /sent "three\\n", got "thXee\\n"/);
});
