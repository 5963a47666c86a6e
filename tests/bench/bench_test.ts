// Copyright the deno-echo authors. MIT license.

// The load generator: runBench() against in-process servers (a real one and
// scripted misbehaving ones), and the fairness index it reports.

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { runBench } from "../../client.ts";
import { serve } from "../../mod.ts";
import { fairness } from "../../src/bench/bench.ts";
import { payloadKey, payloadTable } from "../../src/bench/bench_payload.ts";
import { echoing, NO_ERRORS, scriptedServer } from "./_scripted_server.ts";

Deno.test("runBench() completes the messages asked for with no errors", async (t) => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const port = server.addrs[0]!.port;
  const cases = [
    { name: "pipeline 1", connections: 3, size: 64, pipeline: 1 },
    { name: "pipeline 8", connections: 3, size: 64, pipeline: 8 },
    {
      name: "messages larger than the payload period",
      connections: 2,
      size: 100_000,
      pipeline: 2,
    },
    {
      name: "open loop at a fixed rate",
      connections: 4,
      size: 128,
      rate: 4000,
    },
  ];
  for (const { name, ...load } of cases) {
    await t.step(name, async () => {
      const messages = 101;
      const result = await runBench({
        hostname: "127.0.0.1",
        port,
        messages,
        ...load,
      });
      assertEquals(result.errors, NO_ERRORS);
      assertEquals(result.firstError, null);
      assertEquals(result.sent, messages);
      assertEquals(result.roundTrips, messages);
      assertEquals(result.latency.count, messages);
      assertEquals(result.bytesSent, messages * load.size);
      assertEquals(result.bytesReceived, messages * load.size);
      // 101 shared out among the connections as evenly as can be.
      const each = Math.floor(messages / load.connections);
      assertEquals(result.perConnection.length, load.connections);
      assert(result.perConnection.every((n) => n === each || n === each + 1));
      assertEquals(result.perConnection.reduce((a, b) => a + b), messages);
      assert(result.fairness > 0.99 && result.minShare > 0.9);
      assert(result.elapsed > 0 && result.roundTripsPerSecond > 0);
      assert(result.latency.min > 0, "every round trip takes some time");
      assertEquals(result.transport, "tcp");
      assertEquals(result.address.transport, "tcp");
      const address = result.address as Deno.NetAddr;
      assertEquals(address.hostname, "127.0.0.1");
      assertEquals(address.port, port);
    });
  }
});

Deno.test("runBench() measures for a duration, after a warm-up", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const phases = new Set<string>();
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.addrs[0]!.port,
    connections: 2,
    warmup: 300,
    duration: 1200,
    onProgress: (progress) => phases.add(progress.phase),
  });
  assertEquals(result.errors, NO_ERRORS);
  assert(result.roundTrips > 0);
  assertEquals(result.roundTrips, result.sent);
  assertEquals(result.warmup, 300);
  // Sending stops after the duration; the echoes in flight then come back.
  assert(
    result.elapsed >= 1100 && result.elapsed < 1200 + 1000,
    `${result.elapsed}`,
  );
  assert(phases.has("measure"), [...phases].join());
});

Deno.test("runBench() reports an echo that differs from what was sent", async () => {
  // Flips the 1001st byte of every connection's stream.
  await using server = scriptedServer(echoing((offset, chunk) => {
    const at = 1000 - offset;
    if (at >= 0 && at < chunk.length) chunk[at]! ^= 0x20;
  }));
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.port,
    connections: 1,
    messages: 100,
  });
  assertEquals(result.errors.mismatches, 1);
  assertMatch(
    result.firstError ?? "",
    /^connection 1: echoed byte 1000 is 0x[0-9a-f]{2}, sent 0x[0-9a-f]{2}$/,
  );
  // Only the messages wholly before the bad byte count.
  assert(result.roundTrips <= Math.floor(1000 / 64), `${result.roundTrips}`);
});

Deno.test("runBench() catches echoes delivered to the wrong connection", () => {
  // Two connections' streams differ everywhere that matters: where one
  // connection's bytes would be taken for another's, they differ.
  const table = payloadTable(1);
  const a = payloadKey(0);
  const b = payloadKey(1);
  assert(a !== b);
  const differing = Array.from(
    { length: 1000 },
    (_, i) => table[a + i] !== table[b + i],
  ).filter(Boolean).length;
  assert(differing > 950, `${differing}`);
  assert(
    !table.includes(0x0a),
    "no newline: the payload never says the quit word",
  );
});

Deno.test("runBench() reports a server that closes before echoing everything", async () => {
  // Echoes 640 bytes (10 messages), then sends end-of-stream.
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(4096);
    for (let echoed = 0; echoed < 640;) {
      const n = await conn.read(buffer.subarray(0, 640 - echoed));
      if (n === null) return;
      for (let done = 0; done < n;) {
        done += await conn.write(buffer.subarray(done, n));
      }
      echoed += n;
    }
    await conn.closeWrite();
    while (await conn.read(buffer) !== null) {
      // Discard the rest, so that the close is not a reset.
    }
  });
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.port,
    connections: 1,
    messages: 50,
  });
  assertEquals(result.errors.closedEarly, 1);
  assertEquals(result.roundTrips, 10);
  assertMatch(result.firstError ?? "", /closed the connection/);
});

Deno.test("runBench() gives up on a connection whose echoes stop", async () => {
  // Reads everything and echoes nothing.
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(4096);
    while (await conn.read(buffer) !== null) {
      // Swallow.
    }
  });
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.port,
    connections: 2,
    messages: 10,
    readTimeout: 200,
  });
  assertEquals(result.errors.timeouts, 2);
  assertEquals(result.roundTrips, 0);
  assertMatch(result.firstError ?? "", /no echo for [0-9]+ ms/);
});

Deno.test("runBench() stops and rejects when its signal aborts", async (t) => {
  await t.step("while connecting", async () => {
    const controller = new AbortController();
    await using server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      onEvent: (event) => {
        if (event.type === "open") controller.abort(new Error("stop"));
      },
    });
    await assertRejects(
      () =>
        runBench({
          hostname: "127.0.0.1",
          port: server.addrs[0]!.port,
          connections: 20,
          duration: 60_000,
          signal: controller.signal,
        }),
      Error,
      "stop",
    );
  });
  await t.step("under load", async () => {
    const controller = new AbortController();
    // Aborts as soon as the first bytes of load arrive.
    await using server = scriptedServer(echoing((offset) => {
      if (offset === 0) controller.abort(new Error("stop"));
    }));
    await assertRejects(
      () =>
        runBench({
          hostname: "127.0.0.1",
          port: server.port,
          connections: 4,
          pipeline: 4,
          duration: 60_000,
          signal: controller.signal,
        }),
      Error,
      "stop",
    );
  });
  await t.step("before it starts", async () => {
    await assertRejects(
      () =>
        runBench({ port: 1, signal: AbortSignal.abort(new Error("early")) }),
      Error,
      "early",
    );
  });
});

Deno.test("runBench() checks its options", async () => {
  for (
    const options of [
      { connections: 0 },
      { size: 1.5 },
      { pipeline: -1 },
      { rate: -5 },
      { duration: NaN },
      { pipeline: 2 ** 21 },
      { connections: 10, messages: 5 },
    ]
  ) {
    await assertRejects(() => runBench({ port: 1, ...options }), RangeError);
  }
});

Deno.test("fairness() is Jain's index and the least share of the mean", () => {
  assertEquals(fairness([5, 5, 5, 5]), { index: 1, minShare: 1 });
  assertEquals(fairness([10, 0, 0, 0]), { index: 0.25, minShare: 0 });
  const { index, minShare } = fairness([1, 2, 3]);
  assert(Math.abs(index - 36 / 42) < 1e-12);
  assertEquals(minShare, 0.5);
  assertEquals(fairness([0, 0]), { index: 0, minShare: 0 });
});
