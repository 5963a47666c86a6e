// Copyright the deno-echo authors. MIT license.

// Fault injection against a real echo-server process, signals: SIGTERM while
// clients are mid-transfer. Payloads come from a seeded PRNG (seed in each
// failure message).

import { assert, assertEquals } from "@std/assert";
import {
  assertNoCrash,
  assertNotServed,
  connectTo,
  lines,
  readToEnd,
  startServer,
  writeAll,
} from "../_helpers/cli.ts";
import {
  FAULT_SEED,
  Prng,
  readAndCompare,
  withoutQuitWord,
} from "../_helpers/fault.ts";
import { MiB, within } from "../_helpers/util.ts";

/** A transfer under way: see {@linkcode transfer}. */
interface Transfer {
  /** Resolves once the first half's echo is back (or the transfer failed). */
  halfway: Promise<void>;
  /** Settles when the whole echo and then EOF were read, or on a failure. */
  done: Promise<void>;
}

/**
 * Sends the first half of `payload`, waits for `gate` (the signal goes out
 * then), sends the rest and half-closes; meanwhile reads and checks the whole
 * echo and then EOF. `what` names the client in a failure.
 */
function transfer(
  addr: Deno.NetAddr,
  payload: Uint8Array,
  gate: Promise<void>,
  what: string,
): Transfer {
  const halfway = Promise.withResolvers<void>();
  const mid = payload.length / 2;
  const done = (async () => {
    using conn = await connectTo(addr);
    const reading = readAndCompare(conn, payload, what, (received) => {
      if (received >= mid) halfway.resolve();
    }).then(async () => {
      const rest = await readToEnd(conn);
      assertEquals(rest.length, 0, `${what}: bytes after the echo`);
    });
    const writing = (async () => {
      await writeAll(conn, payload.subarray(0, mid));
      await gate;
      await writeAll(conn, payload.subarray(mid));
      await conn.closeWrite();
    })();
    await Promise.all([reading, writing]);
  })();
  done.catch(() => halfway.resolve()); // Reported when awaited.
  return { halfway: halfway.promise, done };
}

Deno.test("echo-server on SIGTERM lets 5 clients mid-transfer finish byte-exact and exits 0 within the drain timeout", async () => {
  const rng = new Prng(FAULT_SEED + 8);
  await using server = await startServer([
    "--hostname",
    "127.0.0.1",
    "--drain-timeout",
    "10s",
  ]);
  const addr = server.addrs[0]!;
  const payloads = Array.from(
    { length: 5 },
    () => withoutQuitWord(rng.bytes(4 * MiB)),
  );
  const gate = Promise.withResolvers<void>();
  const transfers = payloads.map((payload, i) =>
    transfer(addr, payload, gate.promise, `client ${i} (seed ${rng.seed})`)
  );
  try {
    await within(
      Promise.all(transfers.map((t) => t.halfway)),
      15_000,
      "first halves echoed",
    );
    server.kill("SIGTERM");
    const signalled = performance.now();
    await server.waitFor("stderr", /SIGTERM: stopped accepting/);
    // Not accepting any more: a new client is refused.
    await assertNotServed(addr, "client after SIGTERM");
    assertEquals(server.exited, false, "exited with transfers in flight");
    gate.resolve();
    await within(
      Promise.all(transfers.map((t) => t.done)),
      15_000,
      "transfers after SIGTERM",
    );
    const result = await server.wait(12_000);
    const exitMs = performance.now() - signalled;
    assertEquals(result.code, 0, result.stderr);
    assert(exitMs < 10_000, `exited ${Math.round(exitMs)} ms after SIGTERM`);
    assertNoCrash(result.stderr);
    assertEquals(
      lines(result.stderr).filter((l) =>
        /closed: client closed; 4194304 bytes/.test(l)
      )
        .length,
      5,
      result.stderr,
    );
  } finally {
    gate.resolve();
    await Promise.allSettled(transfers.map((t) => t.done));
  }
});
