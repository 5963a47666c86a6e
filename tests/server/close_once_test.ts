// Copyright the deno-echo authors. MIT license.

// The server closes each connection exactly once, whichever way the echo
// ends: a second close() throws BadResource, and building that error costs
// every connection a stack trace.

import { assertEquals } from "@std/assert";
import { serve } from "../../mod.ts";
import { on } from "./_events.ts";
import {
  connectTo,
  readExactly,
  readToEnd,
  writeAll,
} from "../_helpers/conn.ts";

/**
 * Counts close() calls per TCP connection, and the ones that threw, while
 * `fn` runs; the prototype's own close is put back after.
 */
async function countingCloses(
  fn: () => Promise<void>,
): Promise<{ calls: number[]; threw: number }> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dialed = await connectTo(probe.addr);
  const proto = Object.getPrototypeOf(dialed) as { close(): void };
  dialed.close();
  (await probe.accept()).close();
  probe.close();
  const original = proto.close;
  const counts = new Map<object, number>();
  let threw = 0;
  proto.close = function (this: object): void {
    counts.set(this, (counts.get(this) ?? 0) + 1);
    try {
      original.call(this);
    } catch (error) {
      threw++;
      throw error;
    }
  };
  try {
    await fn();
  } finally {
    proto.close = original;
  }
  return { calls: [...counts.values()], threw };
}

Deno.test("serve() closes a connection once after EOF, the quit line, a byte limit and an idle timeout", async () => {
  const { calls, threw } = await countingCloses(async () => {
    let closed = 0;
    const reasons: string[] = [];
    const allClosed = Promise.withResolvers<void>();
    await using server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      maxBytes: 8,
      idleTimeout: 1000,
      onEvent: on("close", ({ result }) => {
        reasons.push(result.reason);
        if (++closed === 4) allClosed.resolve();
      }),
    });
    const addr = server.addr as Deno.NetAddr;
    {
      using conn = await connectTo(addr);
      await writeAll(conn, "ab\n");
      assertEquals(
        new TextDecoder().decode(await readExactly(conn, 3)),
        "ab\n",
      );
      await conn.closeWrite();
      assertEquals((await readToEnd(conn)).length, 0);
    }
    {
      using conn = await connectTo(addr);
      await writeAll(conn, "BYE\n");
      assertEquals(new TextDecoder().decode(await readToEnd(conn)), "BYE\n");
    }
    {
      using conn = await connectTo(addr);
      await writeAll(conn, "0123456789");
      assertEquals(new TextDecoder().decode(await readToEnd(conn)), "01234567");
    }
    {
      using conn = await connectTo(addr);
      assertEquals((await readToEnd(conn)).length, 0);
    }
    await allClosed.promise;
    assertEquals(reasons.sort(), ["eof", "idle", "limit", "quit"]);
  });
  // The server's four: the test's own end with `using`, whose dispose does
  // not go through close().
  assertEquals(calls.length, 4);
  assertEquals(calls.filter((n) => n !== 1), []);
  assertEquals(threw, 0);
});
