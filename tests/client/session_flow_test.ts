// Copyright the deno-echo authors. MIT license.

// How runSession() paces its input: a prompt's next line is read only once
// the last is echoed, sending stops while too much is unechoed, and a server
// that closes at the prompt loses nothing.

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
} from "@std/assert";
import { serve } from "../../mod.ts";
import {
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
  runSession,
} from "../../src/client/session.ts";
import { bytes, KiB } from "../_helpers/util.ts";
import { connectTo, input, output } from "./_session.ts";

/** A one-connection server on 127.0.0.1 that runs `handle` on its client. */
function oneShot(
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

function dial(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

Deno.test("runSession() in interactive mode asks for the next line only once the last is echoed", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  using conn = await connectTo(server);
  const out = output();
  const seenAtPull: string[] = [];
  let n = 0;
  const lines = new ReadableStream<Uint8Array>({
    pull(controller): void {
      seenAtPull.push(out.text());
      if (++n > 3) controller.close();
      else controller.enqueue(bytes(`line${n}\n`));
    },
  }, { highWaterMark: 0 });
  await runSession(conn, lines, out.writable, {
    interactive: true,
    prompt: "",
  });
  assertEquals(out.text(), "line1\nline2\nline3\n");
  // A line editor shows its prompt when asked for a line: each ask comes
  // after the echo of the line before.
  assertEquals(seenAtPull, [
    "",
    "line1\n",
    "line1\nline2\n",
    "line1\nline2\nline3\n",
  ]);
});

Deno.test("runSession() stops reading its input while maxUnechoed bytes are not echoed, so readTimeout runs out", async (t) => {
  for (const verify of [false, true]) {
    await t.step(verify ? "with verify" : "without verify", async () => {
      const clientDone = Promise.withResolvers<void>();
      let received = 0;
      using server = oneShot(async (conn) => {
        // Reads and discards everything; echoes nothing.
        const buffer = new Uint8Array(64 * KiB);
        for (let n; (n = await conn.read(buffer).catch(() => null)) !== null;) {
          received += n;
        }
        await clientDone.promise;
      });
      using conn = await dial(server.port);
      // 32 MiB, as fast as the session takes it.
      const chunk = new Uint8Array(16 * KiB).fill(0x61);
      let pulled = 0;
      const plenty = new ReadableStream<Uint8Array>({
        pull(controller): void {
          if (pulled === 32 * 1024 * KiB) return controller.close();
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
      }, { highWaterMark: 0 });
      const error = await assertRejects(
        () =>
          runSession(conn, plenty, new WritableStream(), {
            mode: "raw",
            verify,
            readTimeout: 300,
            maxUnechoed: 256 * KiB,
          }),
        EchoTimeoutError,
      );
      assert(error.message.includes("not echoed"), error.message);
      // At most the window and one chunk were read (and sent).
      assertLessOrEqual(pulled, 256 * KiB + chunk.length);
      clientDone.resolve();
      await server.done;
      assertLessOrEqual(received, pulled);
    });
  }
});

Deno.test("runSession() in interactive mode: a server that closes at the prompt loses nothing", async (t) => {
  const echoOneLineAndClose = async (conn: Deno.Conn): Promise<void> => {
    const buffer = new Uint8Array(3);
    let got = 0;
    while (got < 3) got += (await conn.read(buffer.subarray(got))) ?? 3;
    await conn.write(buffer);
  };
  // Input that has typed one line and waits for the next.
  const waiting = (): ReadableStream<Uint8Array> =>
    new ReadableStream<Uint8Array>({
      start(controller): void {
        controller.enqueue(bytes("hi\n"));
      },
    });

  await t.step(
    "interactive: the counts, closedByServer, the prompt's line ended",
    async () => {
      using server = oneShot(echoOneLineAndClose);
      using conn = await dial(server.port);
      const out = output();
      const result = await runSession(conn, waiting(), out.writable, {
        interactive: true,
      });
      assertEquals(result, {
        sent: 3,
        echoed: 3,
        linesSent: 1,
        linesEchoed: 1,
        outputClosed: false,
        closedByServer: true,
      });
      assertEquals(out.text(), "> hi\n> \n");
      await server.done;
    },
  );

  await t.step(
    "piped: more input may follow, so it is reported as cut short",
    async () => {
      using server = oneShot(echoOneLineAndClose);
      using conn = await dial(server.port);
      await assertRejects(
        () => runSession(conn, waiting(), output().writable),
        IncompleteEchoError,
      );
      await server.done;
    },
  );

  await t.step(
    "interactive with a line not echoed: still cut short",
    async () => {
      using server = oneShot(async (conn) => {
        await conn.read(new Uint8Array(1));
      });
      using conn = await dial(server.port);
      await assertRejects(
        () =>
          runSession(conn, input(["hi\n"]), output().writable, {
            interactive: true,
          }),
        IncompleteEchoError,
      );
      await server.done;
    },
  );
});

Deno.test("runSession() with verify writes the lines that matched before failing", async () => {
  using server = oneShot(async (conn) => {
    const want = "one\ntwo\nthree\nfour\n".length;
    const buffer = new Uint8Array(64);
    let got = 0;
    while (got < want) got += (await conn.read(buffer.subarray(got))) ?? want;
    buffer[10] = 0x58; // "X" for the "r" of "three"
    await conn.write(buffer.subarray(0, got)).catch(() => {});
  });
  using conn = await dial(server.port);
  const out = output();
  const error = await assertRejects(
    () =>
      runSession(conn, input(["one\ntwo\nthree\nfour\n"]), out.writable, {
        verify: true,
        quitWord: null,
      }),
    EchoMismatchError,
  );
  assertInstanceOf(error, EchoMismatchError);
  assertEquals(out.text(), "one\ntwo\n");
  assertEquals(
    error.message,
    'Echo differs from what was sent on line 3, column 3 (byte 10): sent "three\\n", got "thXee\\n"',
  );
  await server.done;
});
