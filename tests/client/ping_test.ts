// Copyright the deno-echo authors. MIT license.

// runPing() over one connection against real servers from mod.ts and
// against servers that misbehave on purpose: one that never echoes, one
// that changes a byte, one that echoes late, and a server that goes away
// and comes back on the same port.

import { assert, assertEquals, assertGreater } from "@std/assert";
import { serve } from "../../mod.ts";
import { type PingLinkEvent, runPing } from "../../src/client/ping.ts";
import { pingPayload } from "../../src/client/ping_payload.ts";
import { STALL_PROBES } from "../../src/client/ping_stream.ts";
import { recorder, scriptedServer, writeAll } from "./_ping.ts";

Deno.test("runPing() echoes every probe over one connection, in order", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addrs[0]!;
  const { probes, links, hooks } = recorder();
  const summary = await runPing(
    { hostname: "127.0.0.1", port, count: 4, interval: 20, size: 100 },
    hooks,
  );
  assertEquals(probes.map((p) => [p.seq, p.status, p.bytes]), [
    [1, "echoed", 100],
    [2, "echoed", 100],
    [3, "echoed", 100],
    [4, "echoed", 100],
  ]);
  assertEquals(probes[0]!.from, `127.0.0.1:${port}`);
  assertEquals(links.map((l) => l.type), ["connected"]);
  assertEquals(
    [summary.sent, summary.echoed, summary.lost, summary.wrong],
    [4, 4, 0, 0],
  );
  assertEquals(summary.target, `127.0.0.1:${port}`);
  assert(summary.rtt !== null);
  assert(
    summary.rtt.min <= summary.rtt.avg && summary.rtt.avg <= summary.rtt.max,
  );
  assertGreater(summary.time, 3 * 20 - 5);
  assertEquals(server.connections, 1);
});

Deno.test("runPing() counts a probe lost when no echo comes within the wait", async () => {
  // Reads everything, echoes nothing.
  await using server = scriptedServer(async (conn) => {
    for await (const _ of conn.readable) { /* discard */ }
  });
  const { probes, hooks } = recorder();
  const summary = await runPing(
    {
      hostname: "127.0.0.1",
      port: server.port,
      count: 2,
      interval: 10,
      wait: 80,
    },
    hooks,
  );
  assertEquals(probes.map((p) => [p.seq, p.status, p.reason]), [
    [1, "lost", "timeout"],
    [2, "lost", "timeout"],
  ]);
  assertEquals([summary.sent, summary.echoed, summary.lost], [2, 0, 2]);
  assertEquals(summary.rtt, null);
});

Deno.test(`runPing() drops a connection after ${STALL_PROBES} probes without echo and dials again`, async () => {
  let accepted = 0;
  await using server = scriptedServer(async (conn) => {
    accepted++;
    for await (const _ of conn.readable) { /* discard */ }
  });
  const { links, hooks } = recorder();
  const summary = await runPing(
    {
      hostname: "127.0.0.1",
      port: server.port,
      count: STALL_PROBES + 2,
      interval: 60,
      wait: 40,
    },
    hooks,
  );
  assertEquals(links.map((l) => l.type), ["connected", "lost", "reconnected"]);
  assertEquals(
    (links[1] as { reason: string }).reason,
    `stalled: ${STALL_PROBES} probes in a row without echo`,
  );
  assertEquals(summary.reconnects, 1);
  assertEquals(summary.lost, STALL_PROBES + 2);
  assertEquals(accepted, 2);
});

Deno.test("runPing() shows a wrong echo byte for byte and goes on", async () => {
  // Echoes, but changes the stream's 100th byte (probe 2, offset 35).
  await using server = scriptedServer(async (conn) => {
    let offset = 0;
    for await (const chunk of conn.readable) {
      const copy = chunk.slice();
      if (offset <= 99 && 99 < offset + copy.length) {
        copy[99 - offset] = copy[99 - offset]! ^ 0x01;
      }
      offset += copy.length;
      await writeAll(conn, copy);
    }
  });
  const { probes, hooks } = recorder();
  const summary = await runPing(
    { hostname: "127.0.0.1", port: server.port, count: 3, interval: 10 },
    hooks,
  );
  assertEquals(probes.map((p) => p.status), ["echoed", "wrong", "echoed"]);
  const expected = pingPayload(2, 64)[35]!;
  assertEquals(probes[1]!.mismatch, {
    offset: 35,
    expected,
    actual: expected ^ 0x01,
  });
  assertEquals([summary.sent, summary.echoed, summary.wrong], [3, 2, 1]);
});

Deno.test("runPing() reports an echo that comes after the wait as late", async () => {
  // Holds the first probe's echo back, then echoes at once.
  await using server = scriptedServer(async (conn) => {
    let first = true;
    for await (const chunk of conn.readable) {
      if (first) await new Promise((resolve) => setTimeout(resolve, 200));
      first = false;
      await writeAll(conn, chunk);
    }
  });
  const { probes, hooks } = recorder();
  const summary = await runPing(
    { hostname: "127.0.0.1", port: server.port, count: 1, wait: 50 },
    hooks,
  );
  assertEquals(probes.map((p) => p.status), ["lost"]);
  assertEquals([summary.lost, summary.late], [1, 0]);
  // With a second probe the late echo is seen before it.
  const second = recorder();
  const longer = await runPing(
    {
      hostname: "127.0.0.1",
      port: server.port,
      count: 2,
      interval: 250,
      wait: 50,
    },
    second.hooks,
  );
  assertEquals(second.probes.map((p) => [p.seq, p.status]), [
    [1, "lost"],
    [1, "late"],
    [2, "echoed"],
  ]);
  assertGreater(second.probes[1]!.time!, 150);
  assertEquals([longer.sent, longer.echoed, longer.lost, longer.late], [
    2,
    1,
    1,
    1,
  ]);
});

Deno.test("runPing() goes on across a server restart on the same port", async () => {
  const first = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = first.addrs[0]!;
  let second: Awaited<ReturnType<typeof serve>> | undefined;
  let restarting: Promise<void> | undefined;
  const { probes, links, hooks } = recorder();
  try {
    const summary = await runPing(
      { hostname: "127.0.0.1", port, count: 8, interval: 60, wait: 200 },
      {
        onLink: hooks.onLink,
        onProbe: (probe) => {
          hooks.onProbe(probe);
          if (probe.seq === 3 && restarting === undefined) {
            restarting = (async () => {
              await first.close();
              second = await serve({ hostname: "127.0.0.1", port });
            })();
          }
        },
      },
    );
    await restarting;
    assertEquals(links.map((l) => l.type), [
      "connected",
      "lost",
      "reconnected",
    ]);
    assertEquals(summary.reconnects, 1);
    assertEquals(summary.sent, 8);
    assertEquals(probes.at(-1)!.status, "echoed");
    assertEquals(probes.at(-1)!.seq, 8);
    const reconnected = links[2] as Extract<
      PingLinkEvent,
      { type: "reconnected" }
    >;
    const during = probes.filter((p) => p.reason === "disconnected").length;
    assertEquals(reconnected.lost, during);
    assertEquals(summary.lost, summary.sent - summary.echoed);
  } finally {
    await restarting?.catch(() => {});
    await first.close();
    await second?.close();
  }
});
