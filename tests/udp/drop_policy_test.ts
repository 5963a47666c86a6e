// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals } from "@std/assert";
import { DropPolicy } from "../../src/udp/drop_policy.ts";
import { SourceLimiter } from "../../src/udp/source_limiter.ts";
import { bytes } from "../_helpers/util.ts";
import {
  NO_DROPS,
  privilegedSocket,
  rawSocket,
  rawSocketOnPort,
  text,
  watchedServer,
} from "./_udp.ts";

// What the UDP echo server refuses to echo, and why.

Deno.test("serveUdp() drops datagrams from privileged source ports unless allowed", async (t) => {
  await using sender = await privilegedSocket();
  if (sender === undefined) return;
  assert(sender.addr.port < 1024);

  await t.step("dropped by default", async () => {
    await using w = await watchedServer({ hostname: "127.0.0.1", port: 0 });
    await sender.send(bytes("from a system port"), w.server.addrs[0]!);
    await w.handled(1);
    assertEquals(w.drops, [{
      remoteAddr: {
        transport: "udp",
        hostname: "127.0.0.1",
        port: sender.addr.port,
      },
      localAddr: w.server.addrs[0],
      size: 18,
      reason: "privileged-port",
    }]);
    assertEquals(w.server.stats.dropped, { ...NO_DROPS, "privileged-port": 1 });
    assertEquals(w.server.stats.echoedDatagrams, 0);
  });

  await t.step("echoed with allowPrivilegedSourcePorts", async () => {
    await using w = await watchedServer({
      hostname: "127.0.0.1",
      port: 0,
      allowPrivilegedSourcePorts: true,
    });
    const before = sender.received.length;
    await sender.send(bytes("allowed"), w.server.addrs[0]!);
    await sender.receivedCount(before + 1);
    assertEquals(text(sender.received[before]!.data), "allowed");
    assertEquals(w.server.stats.echoedDatagrams, 1);
  });
});

Deno.test("serveUdp() always drops datagrams from reflector ports", async (t) => {
  await using w = await watchedServer({
    hostname: "127.0.0.1",
    port: 0,
    allowPrivilegedSourcePorts: true,
  });
  let handled = 0;
  // chargen (privileged) and mDNS (not): both would answer the echo.
  for (const port of [19, 5353]) {
    await t.step(`source port ${port}`, async () => {
      await using sender = await rawSocketOnPort(port);
      if (sender === undefined) return;
      await sender.send(bytes("loop?"), w.server.addrs[0]!);
      await w.handled(++handled);
      assertEquals(w.drops.at(-1)!.reason, "reflector-port");
      assertEquals(w.drops.at(-1)!.remoteAddr.port, port);
    });
  }
  assertEquals(w.server.stats.dropped, {
    ...NO_DROPS,
    "reflector-port": handled,
  });
  assertEquals(w.server.stats.echoedDatagrams, 0);
});

Deno.test("serveUdp() drops datagrams larger than maxDatagramSize", async (t) => {
  for (const maxDatagramSize of [undefined, 100]) {
    const limit = maxDatagramSize ?? 8192;
    await t.step(`limit ${limit}`, async () => {
      await using w = await watchedServer({
        hostname: "127.0.0.1",
        port: 0,
        ...(maxDatagramSize === undefined ? {} : { maxDatagramSize }),
      });
      await using client = await rawSocket("127.0.0.1");
      await client.send(new Uint8Array(limit + 1), w.server.addrs[0]!);
      await w.handled(1);
      await client.send(new Uint8Array(limit).fill(7), w.server.addrs[0]!);
      await client.receivedCount(1);
      assertEquals(client.received[0]!.data.length, limit);
      assertEquals(w.drops.map((d) => [d.reason, d.size]), [
        ["oversize", limit + 1],
      ]);
      assertEquals(w.server.stats, {
        echoedDatagrams: 1,
        echoedBytes: limit,
        dropped: { ...NO_DROPS, oversize: 1 },
        sendErrors: 0,
      });
    });
  }
});

Deno.test("serveUdp() rate-limits each source address with a token bucket", async () => {
  // Practically no refill during the test: the burst is all there is.
  await using w = await watchedServer({
    port: 0,
    ratePerSource: 0.001,
    burst: 5,
  });
  const [v4, v6] = ["127.0.0.1", "::1"].map((hostname) =>
    w.server.addrs.find((a) => a.hostname === hostname)!
  );
  await using flooder = await rawSocket("127.0.0.1");
  for (let i = 0; i < 12; i++) await flooder.send(bytes(`#${i}`), v4!);
  await w.handled(12);
  await flooder.receivedCount(5);
  assertEquals(w.server.stats.dropped, { ...NO_DROPS, "rate-limit": 7 });
  assertEquals(w.server.stats.echoedDatagrams, 5);
  assert(w.drops.every((d) => d.remoteAddr.hostname === "127.0.0.1"));

  // Another source address has a bucket of its own.
  await using other = await rawSocket("::1");
  for (let i = 0; i < 3; i++) await other.send(bytes(`v6 #${i}`), v6!);
  await other.receivedCount(3);
  assertEquals(w.server.stats.echoedDatagrams, 8);
  // The same address from another port shares the first one's bucket.
  await using sibling = await rawSocket("127.0.0.1");
  await sibling.send(bytes("same address"), v4!);
  await w.handled(16);
  assertEquals(w.server.stats.dropped, { ...NO_DROPS, "rate-limit": 8 });
});

Deno.test("SourceLimiter keeps a bounded number of sources, least recent out", () => {
  const limiter = new SourceLimiter({ rate: 1, burst: 1, maxSources: 3 });
  const t0 = 1000;
  for (const source of ["a", "b", "c"]) assert(limiter.allow(source, t0));
  assert(!limiter.allow("a", t0)); // "a" is now the most recent, then c, b.
  for (let i = 0; i < 1000; i++) limiter.allow(`spoofed ${i}`, t0);
  assertEquals(limiter.size, 3);
  // "a" was pushed out by the flood: forgotten, it starts with a full bucket.
  assert(limiter.allow("a", t0));
  // Refill: one token per second, never more than the burst.
  assert(!limiter.allow("a", t0 + 500));
  assert(limiter.allow("a", t0 + 1500));
  assert(!limiter.allow("a", t0 + 1500));
  assert(limiter.allow("a", t0 + 100_000));
  assert(!limiter.allow("a", t0 + 100_000));
});

Deno.test("DropPolicy checks ports, then size, then rate, spending a token only on a datagram it passes", () => {
  const limiter = new SourceLimiter({ rate: 0.001, burst: 2, maxSources: 10 });
  const policy = new DropPolicy(100, false, limiter);
  const from = "::ffff:127.0.0.1";
  assertEquals(policy.check(19, from, 1000), "reflector-port");
  assertEquals(policy.check(0, from, 10), "privileged-port");
  assertEquals(policy.check(1023, from, 10), "privileged-port");
  assertEquals(policy.check(5353, from, 10), "reflector-port");
  assertEquals(policy.check(40000, from, 101), "oversize");
  // None of the drops above spent a token: the burst of 2 is whole.
  assertEquals(policy.check(40000, from, 100), undefined);
  // The IPv4-mapped form and the plain one are the same source.
  assertEquals(policy.check(40001, "127.0.0.1", 1), undefined);
  assertEquals(policy.check(40000, from, 1), "rate-limit");
  assertEquals(policy.check(40000, "::1", 1), undefined);

  const allowing = new DropPolicy(100, true, undefined);
  assertEquals(allowing.check(1023, from, 10), undefined);
  assertEquals(allowing.check(0, from, 10), "privileged-port");
  assertEquals(allowing.check(19, from, 10), "reflector-port");
});
