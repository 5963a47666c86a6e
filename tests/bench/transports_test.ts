// Copyright the deno-echo authors. MIT license.

// runBench() over every transport the client speaks, against real servers
// from serve(): TLS (openssl makes the fixtures; without it the TLS tests
// say "skipped:"), Unix sockets and UDP, plus a UDP server that drops
// datagrams on purpose to check the loss count.

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { createSocket } from "node:dgram";
import { runBench } from "../../client.ts";
import { serve } from "../../mod.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip } from "../_helpers/util.ts";
import { NO_ERRORS } from "./_scripted_server.ts";

const NO_OPENSSL = "openssl is not installed (needed for the TLS fixtures)";

Deno.test("runBench() loads a tls:// server that it trusts through caCerts", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const result = await runBench({
    transport: "tls",
    tls: { caCerts: [fx.ca] },
    hostname: "localhost",
    family: 4,
    port,
    connections: 3,
    pipeline: 4,
    messages: 300,
    size: 1000,
  });
  assertEquals(result.errors, NO_ERRORS);
  assertEquals(result.transport, "tls");
  assertEquals(result.roundTrips, 300);
  assertEquals(result.bytesReceived, 300 * 1000);
  assertEquals(result.perConnection, [100, 100, 100]);
  assertEquals(result.address.transport, "tcp");
  assertEquals((result.address as Deno.NetAddr).port, port);
});

Deno.test("runBench() over tls:// fails before any load when the certificate is not trusted", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  await assertRejects(
    () =>
      runBench({
        transport: "tls",
        hostname: "127.0.0.1",
        port,
        connections: 2,
        messages: 10,
      }),
    Deno.errors.InvalidData,
  );
});

Deno.test("runBench() loads a unix: socket server", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/echo.sock`;
  try {
    await using server = await serve({ listen: [`unix:${path}`] });
    assertEquals(server.listeners.length, 1);
    const result = await runBench({
      transport: "unix",
      path,
      connections: 4,
      messages: 400,
      size: 256,
    });
    assertEquals(result.errors, NO_ERRORS);
    assertEquals(result.transport, "unix");
    assertEquals(result.address, { transport: "unix", path });
    assertEquals(result.roundTrips, 400);
    assertEquals(result.perConnection, [100, 100, 100, 100]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runBench() with transport unix needs a path", async () => {
  await assertRejects(
    () => runBench({ transport: "unix", messages: 10 }),
    TypeError,
    "needs a path",
  );
  await assertRejects(
    // deno-lint-ignore no-explicit-any
    () => runBench({ transport: "sctp" as any }),
    TypeError,
    'Invalid transport "sctp"',
  );
  await assertRejects(
    () => runBench({ transport: "udp", size: 65_508 }),
    RangeError,
    "a datagram holds at most 65507 bytes",
  );
});

Deno.test("runBench() ping-pongs datagrams with a udp:// server", async (t) => {
  await using server = await serve({
    listen: ["udp://127.0.0.1:0"],
    udp: { ratePerSource: 0 },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  for (
    const [name, load] of [
      ["closed loop, 1 in flight", { pipeline: 1 }],
      ["closed loop, 4 in flight", { pipeline: 4 }],
      ["open loop", { rate: 2000 }],
    ] as const
  ) {
    await t.step(name, async () => {
      const result = await runBench({
        transport: "udp",
        hostname: "127.0.0.1",
        port,
        connections: 3,
        messages: 150,
        size: 512,
        lossTimeout: 2000,
        ...load,
      });
      assertEquals(result.errors, NO_ERRORS);
      assertEquals(result.transport, "udp");
      assertEquals(result.sent, 150);
      assertEquals(result.roundTrips, 150);
      assertEquals(result.perConnection, [50, 50, 50]);
      assertEquals(result.bytesReceived, 150 * 512);
      assertEquals(result.address, {
        transport: "udp",
        hostname: "127.0.0.1",
        port,
      });
      assert(result.latency.min > 0);
    });
  }
});

/**
 * A UDP echo server on 127.0.0.1 that drops every `nth` datagram it
 * receives (counting from 1) and echoes the rest.
 */
async function droppingServer(nth: number): Promise<
  AsyncDisposable & { port: number; received: () => number }
> {
  const socket = createSocket("udp4");
  let received = 0;
  socket.on("message", (msg, rinfo) => {
    if (++received % nth === 0) return;
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    received: () => received,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

Deno.test("runBench() counts each datagram whose echo does not come back as lost, and sends it once", async () => {
  await using server = await droppingServer(4);
  const result = await runBench({
    transport: "udp",
    hostname: "127.0.0.1",
    port: server.port,
    connections: 1,
    messages: 40,
    lossTimeout: 100,
  });
  // Datagrams 4, 8, ..., 40 were dropped: never sent again.
  assertEquals(server.received(), 40);
  assertEquals(result.sent, 40);
  assertEquals(result.errors, { ...NO_ERRORS, lost: 10 });
  assertEquals(result.roundTrips, 30);
  assertEquals(result.latency.count, 30);
  assertMatch(
    result.firstError ?? "",
    /^socket 1: datagram 4 got no echo within 100 ms$/,
  );
  const series = result.series.points;
  assertEquals(series.reduce((n, p) => n + p.errors, 0), 10);
  assertEquals(series.reduce((n, p) => n + p.roundTrips, 0), 30);
});

Deno.test("runBench() over udp:// stops and rejects when its signal aborts", async () => {
  await using server = await serve({
    listen: ["udp://127.0.0.1:0"],
    udp: { ratePerSource: 0 },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const controller = new AbortController();
  const running = runBench({
    transport: "udp",
    hostname: "127.0.0.1",
    port,
    connections: 2,
    pipeline: 2,
    duration: 60_000,
    signal: controller.signal,
    // Aborts at the first progress report, half a second in.
    onProgress: () => controller.abort(new Error("stop")),
  });
  await assertRejects(() => running, Error, "stop");
});
