// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { UnknownHostError } from "../../src/net/resolve.ts";
import { openUdpClient, udpEcho } from "../../src/udp/udp_client.ts";
import { serveUdp, type UdpServeOptions } from "../../src/udp/udp_server.ts";
import { bytes } from "../_helpers/util.ts";
import { NO_DROPS, rawSocket, text, watchedServer } from "./_udp.ts";

Deno.test("serveUdp() echoes datagrams over IPv4, IPv6 and localhost", async (t) => {
  await t.step("127.0.0.1", async () => {
    await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
    assertEquals(server.addrs.map((a) => [a.transport, a.hostname]), [
      ["udp", "127.0.0.1"],
    ]);
    const reply = await udpEcho("over v4", server.addrs[0]!);
    assertEquals(text(reply.data), "over v4");
    assertEquals(reply.attempts, 1);
    assertEquals(reply.remoteAddr, server.addrs[0]);
    assertEquals(server.stats, {
      echoedDatagrams: 1,
      echoedBytes: 7,
      dropped: NO_DROPS,
      sendErrors: 0,
    });
  });

  await t.step("::1", async () => {
    await using server = await serveUdp({ hostname: "::1", port: 0 });
    const reply = await udpEcho("over v6", server.addrs[0]!);
    assertEquals(text(reply.data), "over v6");
    assertEquals(reply.remoteAddr.hostname, "::1");
  });

  await t.step("localhost binds both loopbacks on one port", async () => {
    const listened = Promise.withResolvers<readonly Deno.NetAddr[]>();
    await using w = await watchedServer({
      port: 0,
      onListen: (addrs) => listened.resolve(addrs),
    });
    const { server } = w;
    assertEquals(await listened.promise, server.addrs);
    assertEquals(server.addrs.map((a) => a.hostname).sort(), [
      "127.0.0.1",
      "::1",
    ]);
    assertEquals(server.addrs[0]!.port, server.addrs[1]!.port);
    for (const addr of server.addrs) {
      const reply = await udpEcho(`via ${addr.hostname}`, addr);
      assertEquals(text(reply.data), `via ${addr.hostname}`);
    }
    for (const family of [4, 6] as const) {
      await using client = await openUdpClient({
        hostname: "localhost",
        port: server.addrs[0]!.port,
        family,
      });
      const reply = await client.echo(`family ${family}`);
      assertEquals(
        reply.remoteAddr.hostname,
        family === 4 ? "127.0.0.1" : "::1",
      );
    }
    assertEquals(
      w.echoes.map((e) => [e.remoteAddr.hostname, e.localAddr.hostname]),
      [
        ...server.addrs.map((a) => [a.hostname, a.hostname]),
        ["127.0.0.1", "127.0.0.1"],
        ["::1", "::1"],
      ],
    );
  });
});

Deno.test("serveUdp() on :: is dual-stack and shows IPv4 senders as plain IPv4", async () => {
  await using w = await watchedServer({ hostname: "::", port: 0 });
  // The dual-stack socket covers IPv4: 0.0.0.0 is not bound as well.
  assertEquals(w.server.addrs.map((a) => a.hostname), ["::"]);
  const port = w.server.addrs[0]!.port;
  await using v4 = await rawSocket("127.0.0.1");
  await v4.send(bytes("v4 over v6"), { hostname: "127.0.0.1", port });
  await v4.receivedCount(1);
  assertEquals(text(v4.received[0]!.data), "v4 over v6");
  assertEquals(v4.received[0]!.from.address, "127.0.0.1");
  assertEquals(w.echoes[0]!.remoteAddr, {
    transport: "udp",
    hostname: "127.0.0.1",
    port: v4.addr.port,
  });
  assertEquals(w.echoes[0]!.localAddr, w.server.addrs[0]);

  const reply = await udpEcho("v6", { hostname: "::1", port });
  assertEquals(text(reply.data), "v6");
  assertEquals(w.echoes[1]!.remoteAddr.hostname, "::1");
});

Deno.test("serveUdp() validates its options", async (t) => {
  const cases: [string, UdpServeOptions][] = [
    ["port -1", { port: -1 }],
    ["port 65536", { port: 65536 }],
    ["port 1.5", { port: 1.5 }],
    ["maxDatagramSize 0", { maxDatagramSize: 0 }],
    ["maxDatagramSize 65508", { maxDatagramSize: 65508 }],
    ["ratePerSource -1", { ratePerSource: -1 }],
    ["ratePerSource NaN", { ratePerSource: NaN }],
    ["burst 0", { burst: 0 }],
    ["burst 1.5", { burst: 1.5 }],
    ["maxSources 0", { maxSources: 0 }],
  ];
  for (const [name, options] of cases) {
    await t.step(name, async () => {
      await assertRejects(
        () => serveUdp({ hostname: "127.0.0.1", ...options }),
        RangeError,
      );
    });
  }
  await t.step("unknown host", async () => {
    await assertRejects(
      () => serveUdp({ hostname: "no-such-host.invalid", port: 0 }),
      UnknownHostError,
    );
  });
  await t.step("port in use", async () => {
    await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
    await assertRejects(
      () => serveUdp({ hostname: "127.0.0.1", port: server.addrs[0]!.port }),
      Deno.errors.AddrInUse,
    );
  });
  await t.step("ratePerSource 0 means no limit", async () => {
    await using w = await watchedServer({
      hostname: "127.0.0.1",
      port: 0,
      ratePerSource: 0,
      burst: 1,
    });
    await using client = await rawSocket("127.0.0.1");
    for (let i = 0; i < 5; i++) {
      await client.send(bytes("x"), w.server.addrs[0]!);
    }
    await client.receivedCount(5);
    assertEquals(w.server.stats.echoedDatagrams, 5);
  });
});

Deno.test("serveUdp() stops on abort, and shutdown() is close()", async (t) => {
  await t.step("aborted before it starts", async () => {
    const reason = new Error("not today");
    await assertRejects(() =>
      serveUdp({
        hostname: "127.0.0.1",
        port: 0,
        signal: AbortSignal.abort(reason),
      })
    ).then((error) => assert(error === reason));
  });
  await t.step("aborted while running", async () => {
    const controller = new AbortController();
    const server = await serveUdp({
      hostname: "127.0.0.1",
      port: 0,
      signal: controller.signal,
    });
    controller.abort();
    await server.finished;
    // The port is free again.
    await using again = await serveUdp({
      hostname: "127.0.0.1",
      port: server.addrs[0]!.port,
    });
    assertEquals(again.addrs[0]!.port, server.addrs[0]!.port);
  });
  await t.step("shutdown() twice, then close()", async () => {
    const server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
    await Promise.all([server.shutdown(), server.shutdown()]);
    await server.close();
    await server.finished;
  });
});

Deno.test("serveUdp() survives hooks that throw", async () => {
  await using server = await serveUdp({
    hostname: "127.0.0.1",
    port: 0,
    maxDatagramSize: 10,
    onListen: () => {
      throw new Error("listen hook");
    },
    onEcho: () => {
      throw new Error("echo hook");
    },
    onDrop: () => {
      throw new Error("drop hook");
    },
  });
  await using client = await rawSocket("127.0.0.1");
  await client.send(new Uint8Array(11), server.addrs[0]!);
  await client.send(bytes("fine"), server.addrs[0]!);
  await client.receivedCount(1);
  assertEquals(text(client.received[0]!.data), "fine");
  assertEquals(server.stats.dropped, { ...NO_DROPS, oversize: 1 });
});
