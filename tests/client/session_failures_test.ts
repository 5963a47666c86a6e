// Copyright the deno-echo authors. MIT license.

// How runSession() ends when the server misbehaves: it stops echoing, it
// changes a byte, it closes before the input is all sent.

import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import {
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
  runSession,
} from "../../src/client/session.ts";
import { bytes } from "../_helpers/util.ts";
import { input, output } from "./_session.ts";

/**
 * A one-connection server on 127.0.0.1 that runs `handle` on the first
 * client; `done` settles when it has finished.
 */
function oneShotServer(
  handle: (conn: Deno.Conn) => Promise<void>,
): { port: number; done: Promise<void> } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    using conn = await listener.accept();
    await handle(conn);
  })();
  return {
    port: listener.addr.port,
    done,
    [Symbol.dispose]: () => listener.close(),
  };
}

async function readUntilEof(conn: Deno.Conn): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  for (let n; (n = await conn.read(buffer)) !== null;) {
    chunks.push(buffer.slice(0, n));
  }
  return chunks;
}

Deno.test("runSession() gives up with EchoTimeoutError when echoes are due and none comes for readTimeout", async () => {
  const clientDone = Promise.withResolvers<void>();
  using server = oneShotServer(async (conn) => {
    // Reads everything, echoes nothing, and keeps the connection open.
    await readUntilEof(conn);
    await clientDone.promise;
  });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const out = output();
  const error = await assertRejects(
    () =>
      runSession(conn, input(["hello\n"]), out.writable, { readTimeout: 200 }),
    EchoTimeoutError,
  );
  assertEquals(
    error.message,
    "Server stopped responding: nothing for 200 ms with 6 bytes not echoed",
  );
  assertEquals(out.text(), "");
  clientDone.resolve();
  await server.done;
});

Deno.test("runSession() with verify raises EchoMismatchError at the first byte that differs", async () => {
  using server = oneShotServer(async (conn) => {
    const buffer = new Uint8Array(64);
    let got = 0;
    while (got < 6) got += (await conn.read(buffer.subarray(got))) ?? 6;
    buffer[2] = 0x58; // "X" for "c"
    await conn.write(buffer.subarray(0, 6)).catch(() => {});
    await readUntilEof(conn).catch(() => []);
  });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const out = output();
  const error = await assertRejects(
    () =>
      runSession(conn, input([bytes("abcdef")]), out.writable, {
        mode: "raw",
        verify: true,
      }),
    EchoMismatchError,
  );
  assertEquals(error.offset, 2);
  assertEquals([error.line, error.column], [1, 3]);
  assertEquals(
    error.message,
    'Echo differs from what was sent on line 1, column 3 (byte 2): sent "abcdef", got "abXdef"',
  );
  await server.done;
});

Deno.test("runSession() raises IncompleteEchoError when the server closes before the input is all sent", async () => {
  using server = oneShotServer(async (conn) => {
    // Echoes the first line, then closes.
    const buffer = new Uint8Array(2);
    let got = 0;
    while (got < 2) got += (await conn.read(buffer.subarray(got))) ?? 2;
    await conn.write(buffer);
  });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const out = output();
  // The input has more to give, but only when the session asks after the
  // server has gone.
  const endless = new ReadableStream<Uint8Array>({
    start(controller): void {
      controller.enqueue(bytes("a\n"));
    },
  });
  const error = await assertRejects(
    () => runSession(conn, endless, out.writable),
    IncompleteEchoError,
  );
  assertInstanceOf(error, IncompleteEchoError);
  assertEquals(
    error.message,
    "Server closed the connection before all the input was sent " +
      "(2 bytes sent and echoed)",
  );
  assertEquals(out.text(), "a\n");
  await server.done;
});

Deno.test("runSession() in raw mode reports what was lost in bytes, not lines", async (t) => {
  for (const mode of ["lines", "raw"] as const) {
    await t.step(mode, async () => {
      using server = oneShotServer(async (conn) => {
        // Echoes the first two bytes of "a\nb\nc\n", then closes.
        const buffer = new Uint8Array(6);
        let got = 0;
        while (got < 6) got += (await conn.read(buffer.subarray(got))) ?? 6;
        await conn.write(buffer.subarray(0, 2));
      });
      using conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      const error = await assertRejects(
        () =>
          runSession(conn, input([bytes("a\nb\nc\n")]), output().writable, {
            mode,
          }),
        IncompleteEchoError,
      );
      assertEquals(
        error.message,
        "Server closed the connection before echoing everything: 4 bytes" +
          (mode === "lines" ? " (2 of 3 lines)" : "") + " not echoed",
      );
      await server.done;
    });
  }
});
