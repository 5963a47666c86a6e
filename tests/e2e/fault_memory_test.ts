// Copyright the deno-echo authors. MIT license.

// Fault injection against real echo-server processes, memory: a client that
// sends 64 MiB and never reads, and a 32 MiB line. The server's resident
// memory is sampled from /proc throughout and must stay bounded; the figures
// are printed as `fault 3: ...` and `fault 4: ...` lines. Every case ends by
// checking that a fresh client is still served byte-exact and that the
// server stops cleanly. Payloads come from seeded PRNGs (seed in each
// failure message).

import { assert, assertEquals } from "@std/assert";
import {
  assertStopsCleanly,
  connectTo,
  readToEnd,
  startServer,
  writeAll,
} from "../_helpers/cli.ts";
import {
  assertServed,
  BackgroundWriter,
  FAULT_SEED,
  mib,
  Prng,
  readAndCompare,
  RssSampler,
  withoutNewlines,
  withoutQuitWord,
} from "../_helpers/fault.ts";
import { KiB, MiB, within } from "../_helpers/util.ts";

const decoder = new TextDecoder();

/**
 * Bound on the server's resident-memory growth while a client floods it.
 * Measured here (Deno 2.9.6, Linux x86_64, 2 cores): about 43 MiB at rest; a
 * stalled never-reading client takes it to about +8-10 MiB, and pushing 64 or
 * even 256 MiB through one connection at full speed to +10-12 MiB, a plateau
 * that does not rise with volume (V8 heap and allocator slack; an earlier
 * streams-based echo core reached +18 MiB). A server that queued what it
 * cannot send would grow by the unsent remainder: over 50 MiB of the 64 MiB
 * (fault 3), 32 MiB for the 32 MiB line (fault 4). 32 MiB sits between.
 */
const RSS_GROWTH_BOUND_MIB = 32;

Deno.test("echo-server holds a client that sends 64 MiB without reading in bounded memory and serves others meanwhile", async () => {
  const rng = new Prng(FAULT_SEED + 3);
  await using server = await startServer(["--hostname", "127.0.0.1"]);
  const addr = server.addrs[0]!;
  const data = withoutQuitWord(rng.bytes(64 * MiB));
  await assertServed(addr, rng.bytes(4 * KiB), "warm-up client");

  await using rss = await RssSampler.start(server.pid);
  rss.phase("stalled");
  using conn = await connectTo(addr);
  const writer = new BackgroundWriter(conn, data);
  writer.done.catch(() => {}); // Awaited below; a failure is reported there.
  // TCP flow control must stop the writes long before 64 MiB: the server
  // echoes each chunk before reading the next, and nobody reads the echo.
  const stalled = await writer.stalled(1500, 20_000);
  const stalledAt = writer.written;
  assert(
    stalled,
    `all 64 MiB were accepted without a single byte read: the server buffers`,
  );
  assert(stalledAt < data.length);

  // Another client is served promptly while the first one is stuck.
  const start = performance.now();
  await assertServed(addr, rng.bytes(64 * KiB), "second client", 2000);
  const promptMs = performance.now() - start;
  await rss.moreSamples(3);

  // Now read everything back, while the writer finishes.
  rss.phase("reading");
  await within(
    Promise.all([
      writer.done,
      readAndCompare(conn, data, `64 MiB echo (seed ${rng.seed})`),
    ]),
    60_000,
    "64 MiB echo",
  );
  await conn.closeWrite();
  assertEquals(await conn.read(new Uint8Array(1)), null, "EOF after echo");
  await rss.moreSamples(3);
  rss.phase("done");

  const stalledPeak = rss.peakOf("stalled");
  assert(rss.samples >= 20, `only ${rss.samples} RSS samples`);
  const growth = rss.peak - rss.before;
  // deno-lint-ignore no-console
  console.log(
    `fault 3: server RSS before ${mib(rss.before)} MiB, peak ${
      mib(stalledPeak)
    } MiB while stalled (client stalled after ${
      mib(stalledAt / MiB)
    } MiB written), peak ${mib(rss.peakOf("reading"))} MiB while reading ` +
      `back, growth ${mib(growth)} MiB (bound ${RSS_GROWTH_BOUND_MIB}); ` +
      `other client served in ${Math.round(promptMs)} ms`,
  );
  assert(
    growth < RSS_GROWTH_BOUND_MIB,
    `server RSS grew by ${mib(growth)} MiB`,
  );

  await assertServed(addr, rng.bytes(256 * KiB), "fresh client");
  await assertStopsCleanly(server);
});

Deno.test("echo-server echoes a 32 MiB line byte-exact in bounded memory and still sees the quit line after it", async () => {
  const rng = new Prng(FAULT_SEED + 4);
  await using server = await startServer(["--hostname", "127.0.0.1"]);
  const addr = server.addrs[0]!;
  const line = withoutNewlines(rng.bytes(32 * MiB));
  await assertServed(addr, rng.bytes(4 * KiB), "warm-up client");

  await using rss = await RssSampler.start(server.pid);
  rss.phase("line");
  using conn = await connectTo(addr);
  await within(
    Promise.all([
      writeAll(conn, line),
      readAndCompare(conn, line, `32 MiB line (seed ${rng.seed})`),
    ]),
    60_000,
    "32 MiB line echo",
  );
  await rss.moreSamples(3);
  rss.phase("done");
  assert(rss.samples >= 3, `only ${rss.samples} RSS samples`);
  const growth = rss.peak - rss.before;
  // deno-lint-ignore no-console
  console.log(
    `fault 4: server RSS before ${mib(rss.before)} MiB, peak ${
      mib(rss.peak)
    } MiB, growth ${mib(growth)} MiB (bound ${RSS_GROWTH_BOUND_MIB})`,
  );
  assert(
    growth < RSS_GROWTH_BOUND_MIB,
    `server RSS grew by ${mib(growth)} MiB`,
  );

  // The same connection: end the long line, then a line saying BYE. The
  // server echoes both and closes (EOF) although we keep our side open.
  await writeAll(conn, "\nBYE\n");
  const tail = await within(readToEnd(conn), 5000, "echo of \\nBYE\\n, EOF");
  assertEquals(decoder.decode(tail), "\nBYE\n");
  await server.waitFor("stderr", /closed: quit word; 33554437 bytes echoed/);

  await assertServed(addr, rng.bytes(64 * KiB), "fresh client");
  await assertStopsCleanly(server);
});
