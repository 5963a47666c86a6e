// Copyright the deno-echo authors. MIT license.

// Fault injection against real echo-server processes, many clients at once:
// 200 concurrent clients with random payloads, and clients that vanish
// mid-stream while others complete. Every case ends by checking that a fresh
// client is still served byte-exact and that the server stops cleanly with
// no stack trace. Payloads come from seeded PRNGs (seed in each failure
// message).

import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  assertNoCrash,
  assertStopsCleanly,
  connectTo,
  isConnectionClosed,
  roundTrip,
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

Deno.test("echo-server echoes 200 concurrent clients with random payloads of 1 B to 256 KiB byte-exact", async () => {
  const rng = new Prng(FAULT_SEED + 1);
  await using server = await startServer([], { listening: 2 });
  const sizes = Array.from(
    { length: 200 },
    (_, i) => i === 0 ? 1 : i === 1 ? 256 * KiB : rng.int(1, 256 * KiB),
  );
  const payloads = sizes.map((n) => withoutQuitWord(rng.bytes(n)));

  // All 200 connect first (alternating 127.0.0.1 and ::1) so that they are
  // all open at once, then each sends and reads at the same time.
  using stack = new DisposableStack();
  const conns = await Promise.all(
    payloads.map(async (_, i) =>
      stack.use(await connectTo(server.addrs[i % 2]!))
    ),
  );
  const echoes = await within(
    Promise.all(conns.map((conn, i) => roundTrip(conn, payloads[i]!))),
    30_000,
    "200 concurrent echoes",
  );
  echoes.forEach((echoed, i) =>
    assertBytesEqual(
      echoed,
      payloads[i]!,
      `client ${i} (${sizes[i]} bytes, seed ${rng.seed})`,
    )
  );

  await assertServed(server.addrs[0]!, rng.bytes(64 * KiB), "fresh client");
  await assertStopsCleanly(server);
});

Deno.test("echo-server survives 100 clients closing abruptly mid-stream while others complete byte-exact", async () => {
  const rng = new Prng(FAULT_SEED + 2);
  await using server = await startServer(["--hostname", "127.0.0.1"]);
  const addr = server.addrs[0]!;

  /**
   * Writes, reads part of the echo, and closes with the rest unread (a reset
   * on Linux; a FIN and a broken pipe on some other stacks). Variants:
   * 0: 64 KiB written, one read; 1: 1 MiB still being written, one read;
   * 2: 16 KiB written, nothing read.
   */
  const abrupt = async (i: number): Promise<void> => {
    const variant = i % 3;
    const payload = withoutQuitWord(
      rng.bytes([64 * KiB, 1 * MiB, 16 * KiB][variant]!),
    );
    using conn = await connectTo(addr);
    const writing = writeAll(conn, payload).catch((error) => {
      // Interrupted by our own close, or the server saw us go.
      if (
        !(error instanceof Deno.errors.Interrupted ||
          error instanceof Deno.errors.BadResource ||
          isConnectionClosed(error))
      ) throw error;
    });
    try {
      if (variant === 0) await writing;
      if (variant !== 2) {
        const got = await within(
          conn.read(new Uint8Array(4 * KiB)),
          10_000,
          `abrupt client ${i} reading part of its echo`,
        );
        assert(got !== null && got > 0, `abrupt client ${i}: no echo`);
      } else {
        await writing;
      }
    } finally {
      conn.close(); // Now, with the echo unread (the later dispose is a no-op).
      await writing;
    }
  };

  const fullPayloads = Array.from(
    { length: 10 },
    () => withoutQuitWord(rng.bytes(2 * MiB)),
  );
  const full = async (payload: Uint8Array): Promise<Uint8Array> => {
    using conn = await connectTo(addr);
    return await roundTrip(conn, payload);
  };
  const [echoes] = await within(
    Promise.all([
      Promise.all(fullPayloads.map(full)),
      Promise.all(Array.from({ length: 100 }, (_, i) => abrupt(i))),
    ]),
    30_000,
    "10 full transfers and 100 abrupt clients",
  );
  echoes.forEach((echoed, i) =>
    assertBytesEqual(
      echoed,
      fullPayloads[i]!,
      `full client ${i} (seed ${rng.seed})`,
    )
  );

  await assertServed(addr, rng.bytes(256 * KiB), "fresh client");
  assertEquals(server.exited, false);
  assertNoCrash(server.stderr);
  const result = await assertStopsCleanly(server);
  // The faults reached the server: vanished clients show up as failed
  // connections (reset or broken pipe), handled and logged.
  assertMatch(result.stderr, /closed: error: /);
});
