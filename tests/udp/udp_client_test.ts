// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { UnknownHostError } from "../../src/net/resolve.ts";
import {
  DatagramLostError,
  openUdpClient,
  udpEcho,
} from "../../src/udp/udp_client.ts";
import { serveUdp } from "../../src/udp/udp_server.ts";
import { addressKey } from "../../src/udp/udp_targets.ts";
import { bytes } from "../_helpers/util.ts";
import { fakeServer, rawSocket, text, watchedServer } from "./_udp.ts";

Deno.test("UdpEchoClient sends again when a datagram is lost", async () => {
  let seen = 0;
  await using server = await fakeServer((raw, data, from) => {
    // The first datagram is "lost"; the rest are echoed.
    if (++seen > 1) {
      void raw.send(data, { hostname: from.address, port: from.port });
    }
  });
  const reply = await udpEcho("again", {
    hostname: "127.0.0.1",
    port: server.addr.port,
    timeout: 100,
    retries: 2,
  });
  assertEquals(text(reply.data), "again");
  assertEquals(reply.attempts, 2);
  assertEquals(server.received.length, 2);
});

Deno.test("UdpEchoClient reports a loss when the server never answers", async () => {
  await using server = await fakeServer(() => {});
  const started = performance.now();
  await assertRejects(() =>
    udpEcho("anyone?", {
      hostname: "127.0.0.1",
      port: server.addr.port,
      timeout: 100,
      retries: 1,
    })
  ).then((error) =>
    assert(error instanceof DatagramLostError && error.attempts === 2)
  );
  assert(performance.now() - started >= 190);
  await server.receivedCount(2);
  assertEquals(server.received.map((r) => text(r.data)), [
    "anyone?",
    "anyone?",
  ]);
});

Deno.test("UdpEchoClient ignores replies that do not match", async () => {
  await using stranger = await rawSocket("127.0.0.1");
  let seen = 0;
  await using server = await fakeServer((raw, data, from) => {
    const to = { hostname: from.address, port: from.port };
    if (++seen === 1) {
      // First: the right bytes from the wrong port, and the wrong bytes
      // from the right one. Neither is the echo.
      void stranger.send(data, to);
      void raw.send(bytes("something else"), to);
    } else {
      void raw.send(data, to);
    }
  });
  const reply = await udpEcho("the echo", {
    hostname: "127.0.0.1",
    port: server.addr.port,
    timeout: 200,
    retries: 2,
  });
  assertEquals(text(reply.data), "the echo");
  assertEquals(reply.attempts, 2);
});

Deno.test("UdpEchoClient matches concurrent echoes by content", async () => {
  await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
  await using client = await openUdpClient(server.addrs[0]!);
  const words = ["one", "two", "three", "four"];
  const replies = await Promise.all(words.map((w) => client.echo(w)));
  assertEquals(replies.map((r) => text(r.data)), words);
  assert(replies.every((r) => r.attempts === 1 && r.rtt >= 0));
});

Deno.test("openUdpClient() uses the address of a name that answers", async () => {
  // A server on ::1 only; localhost is tried on both loopbacks.
  await using w = await watchedServer({ hostname: "::1", port: 0 });
  await using client = await openUdpClient({
    port: w.server.addrs[0]!.port,
    timeout: 500,
  });
  const first = await client.echo("which one?");
  assertEquals(first.remoteAddr.hostname, "::1");
  assertEquals(client.remoteAddr, first.remoteAddr);
  const second = await client.echo("this one");
  assertEquals(second.remoteAddr.hostname, "::1");
  assertEquals(w.echoes.length, 2);
});

Deno.test("UdpEchoClient validates, refuses big payloads, and stops on close or abort", async (t) => {
  await t.step("options", async () => {
    for (
      const options of [
        { port: 0 },
        { port: 65536 },
        { timeout: 0 },
        { timeout: Infinity },
        { retries: -1 },
        { retries: 0.5 },
        { maxDatagramSize: 65508 },
      ]
    ) {
      await assertRejects(
        () => openUdpClient({ hostname: "127.0.0.1", ...options }),
        RangeError,
      );
    }
    await assertRejects(
      () => openUdpClient({ hostname: "::1", port: 7, family: 4 }),
      UnknownHostError,
    );
  });

  await using server = await fakeServer(() => {});
  const to = { hostname: "127.0.0.1", port: server.addr.port };

  await t.step("payload larger than maxDatagramSize", async () => {
    await using client = await openUdpClient({ ...to, maxDatagramSize: 4 });
    await assertRejects(() => client.echo("12345"), RangeError);
    assertEquals(server.received.length, 0);
  });

  await t.step("close() while waiting", async () => {
    const client = await openUdpClient({ ...to, timeout: 10_000 });
    const pending = assertRejects(
      () => client.echo("wait"),
      Deno.errors.BadResource,
    );
    await server.receivedCount(1);
    await client.close();
    await pending;
    await assertRejects(() => client.echo("closed"), Deno.errors.BadResource);
  });

  await t.step("abort while waiting", async () => {
    const controller = new AbortController();
    await using client = await openUdpClient({
      ...to,
      timeout: 10_000,
      signal: controller.signal,
    });
    const reason = new Error("enough");
    const pending = assertRejects(() => client.echo("wait")).then((error) =>
      assert(error === reason)
    );
    await server.receivedCount(2);
    controller.abort(reason);
    await pending;
  });
});

Deno.test("addressKey() is the same for one endpoint however it is written", () => {
  assertEquals(addressKey("::ffff:127.0.0.1", 7), addressKey("127.0.0.1", 7));
  assertEquals(addressKey("::FFFF:7f00:1", 7), addressKey("127.0.0.1", 7));
  assertEquals(addressKey("0:0:0:0:0:0:0:1", 2000), addressKey("::1", 2000));
  assertEquals(addressKey("FE80::A", 1), addressKey("fe80::a", 1));
  assert(addressKey("::1", 1) !== addressKey("::1", 2));
  assert(addressKey("127.0.0.1", 1) !== addressKey("::1", 1));
  // A zone index is compared as written, in lower case.
  assertEquals(addressKey("fe80::1%ETH0", 1), "fe80::1%eth0 1");
});

Deno.test("udpEcho() reaches an IPv4 server by its IPv4-mapped address in either form", async (t) => {
  await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
  const port = server.addrs[0]!.port;
  for (const hostname of ["::ffff:127.0.0.1", "::ffff:7f00:1"]) {
    await t.step(hostname, async () => {
      const reply = await udpEcho("mapped", { hostname, port, timeout: 500 });
      assertEquals(text(reply.data), "mapped");
      assertEquals(reply.attempts, 1);
    });
  }
});
