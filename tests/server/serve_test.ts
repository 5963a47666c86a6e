// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  connect,
  type ConnectionInfo,
  dial,
  serve,
  UnknownHostError,
} from "../../mod.ts";
import { mulberry32, randomBytes } from "../_helpers/util.ts";
import { type CloseEvent, on } from "./_events.ts";

const encoder = new TextEncoder();

Deno.test("serve() on localhost listens on both loopbacks on one port", async () => {
  await using server = await serve({ port: 0 });
  const hosts = server.addrs.map((a) => a.hostname).sort();
  assertEquals(hosts, ["127.0.0.1", "::1"]);
  assertEquals(server.addrs[0]!.port, server.addrs[1]!.port);
  for (const addr of server.addrs) {
    await using client = await connect(addr);
    assertEquals(
      await client.send(`via ${addr.hostname}`),
      `via ${addr.hostname}`,
    );
  }
});

Deno.test("serve() on :: is dual-stack and shows IPv4 peers as plain IPv4", async () => {
  const opened = Promise.withResolvers<ConnectionInfo>();
  await using server = await serve({
    hostname: "::",
    port: 0,
    onEvent: on("open", ({ conn }) => opened.resolve(conn)),
  });
  await using client = await connect({
    hostname: "127.0.0.1",
    port: server.addrs[0]!.port,
  });
  assertEquals(await client.send("v4 over v6"), "v4 over v6");
  const info = await opened.promise;
  assertEquals((info.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  assertEquals(
    (info.remoteAddr as Deno.NetAddr).port,
    client.conn.localAddr.port,
  );
});

Deno.test("serve() reports opens and closes with bytes, duration and reason", async (t) => {
  const closed: CloseEvent[] = [];
  let listened: readonly Deno.NetAddr[] = [];
  let next = Promise.withResolvers<void>();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addrs) => listened = addrs,
    onEvent: on("close", (event) => {
      closed.push(event);
      next.resolve();
    }),
  });
  assertEquals(listened, server.addrs);

  await t.step("quit word", async () => {
    const client = await connect(server.addrs[0]!);
    assertEquals(await client.send("BYE"), "BYE");
    assertEquals(await client.readLine(), null);
    client.close();
    await next.promise;
    next = Promise.withResolvers();
    assertEquals(closed.at(-1)!.result.reason, "quit");
    assertEquals(closed.at(-1)!.result.bytes, 4);
    assert(closed.at(-1)!.result.durationMs >= 0);
  });

  await t.step("client closes its side", async () => {
    await using client = await connect(server.addrs[0]!);
    assertEquals(await client.send("abc"), "abc");
    await client.closeWrite();
    assertEquals(await client.readLine(), null);
    await next.promise;
    next = Promise.withResolvers();
    assertEquals(closed.at(-1)!.result.reason, "eof");
    assertEquals(closed.at(-1)!.result.bytes, 4);
  });
  assertEquals(server.connections, 0);
});

Deno.test("serve() echoes many concurrent clients byte-exact", async () => {
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    quitWord: null,
  });
  const clients = 50;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      await using client = await connect(server.addrs[0]!);
      const payload = randomBytes(mulberry32(i + 1), 1000 + i * 7919);
      assertEquals(await client.echoBytes(payload), payload);
    }),
  );
});

Deno.test("serve() keeps serving others when a client resets mid-stream", async () => {
  const closed = Promise.withResolvers<CloseEvent>();
  let victimPort = -1;
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    quitWord: null,
    onEvent: on("close", (event) => {
      if ((event.conn.remoteAddr as Deno.NetAddr).port === victimPort) {
        closed.resolve(event);
      }
    }),
  });
  await using survivor = await connect(server.addrs[0]!);
  // The victim sends more than the buffers hold, reads one echoed chunk to
  // know the server is mid-echo, then closes with unread data in its receive
  // buffer, which makes the kernel reset the connection.
  {
    const victim = await dial(server.addrs[0]!);
    victimPort = victim.localAddr.port;
    const flood = randomBytes(mulberry32(7), 4 << 20);
    const writing = victim.write(flood).catch(() => 0);
    assert((await victim.read(new Uint8Array(1024)) ?? 0) > 0);
    victim.close();
    await writing;
  }
  const { result } = await closed.promise;
  assert(result.reason === "error" || result.reason === "eof", result.reason);
  const payload = randomBytes(mulberry32(9), 256 * 1024);
  assertEquals(await survivor.echoBytes(payload), payload);
  await using fresh = await connect(server.addrs[0]!);
  assertEquals(await fresh.send("still here"), "still here");
});

Deno.test("shutdown() stops accepting and lets live connections finish", async () => {
  const closed = Promise.withResolvers<CloseEvent>();
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    drainTimeout: 60_000,
    onEvent: on("close", (event) => closed.resolve(event)),
  });
  const addr = server.addrs[0]!;
  await using client = await connect(addr);
  assertEquals(await client.send("before"), "before");
  const finished = server.shutdown();
  await assertRejects(() => dial(addr)).then((e) =>
    assert(
      e instanceof Deno.errors.ConnectionRefused ||
        e instanceof Deno.errors.ConnectionReset,
    )
  );
  assertEquals(await client.send("during drain"), "during drain");
  assertEquals(server.connections, 1);
  await client.closeWrite();
  assertEquals(await client.readLine(), null);
  // Every connection ended by itself: drained, none cut.
  assertEquals(await finished, { drained: true, closed: 0 });
  assertEquals((await closed.promise).result.reason, "eof");
  assertEquals(server.connections, 0);
  // Asked again once finished, it gives the same account.
  assertEquals(await server.shutdown(), { drained: true, closed: 0 });
});

Deno.test("shutdown() closes connections left when the drain time runs out, and says how many", async () => {
  const closed = Promise.withResolvers<CloseEvent>();
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    drainTimeout: 50,
    onEvent: on("close", (event) => closed.resolve(event)),
  });
  await using client = await connect(server.addrs[0]!);
  await using other = await connect(server.addrs[0]!);
  assertEquals(await client.send("idle after this"), "idle after this");
  assertEquals(await other.send("me too"), "me too");
  assertEquals(await server.shutdown(), { drained: false, closed: 2 });
  assertEquals((await closed.promise).result.reason, "aborted");
  assertEquals(await client.readLine(), null);
  assertEquals(await other.readLine(), null);
});

Deno.test("close() during a drain cuts it short: shutdown() says not drained", async () => {
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    drainTimeout: 60_000,
  });
  await using client = await connect(server.addrs[0]!);
  assertEquals(await client.send("held"), "held");
  const drained = server.shutdown();
  await server.close();
  assertEquals(await drained, { drained: false, closed: 1 });
  assertEquals(await client.readLine(), null);
});

Deno.test("close(), await using and the signal close connections at once", async (t) => {
  await t.step("close()", async () => {
    const server = await serve({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect(server.addrs[0]!);
    assertEquals(await client.send("x"), "x");
    await server.close();
    assertEquals(await client.readLine(), null);
  });

  await t.step("await using", async () => {
    let client;
    {
      await using server = await serve({ hostname: "127.0.0.1", port: 0 });
      client = await connect(server.addrs[0]!);
      assertEquals(await client.send("y"), "y");
    }
    assertEquals(await client.readLine(), null);
    client.close();
  });

  await t.step("signal", async () => {
    const controller = new AbortController();
    const server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: controller.signal,
    });
    await using client = await connect(server.addrs[0]!);
    assertEquals(await client.send("z"), "z");
    controller.abort();
    await server.finished;
    assertEquals(await client.readLine(), null);
  });

  await t.step("an aborted signal refuses to start", async () => {
    await assertRejects(
      () => serve({ port: 0, signal: AbortSignal.abort(new Error("stop")) }),
      Error,
      "stop",
    );
  });
});

Deno.test("serve() gives its first bound address as addr", async (t) => {
  await t.step("hostname and port: the first TCP address", async () => {
    await using server = await serve({ port: 0 });
    assertEquals(server.addr, server.addrs[0]);
    assertEquals(server.addr, server.listeners[0]!.addr);
    await using client = await connect(server.addr as Deno.NetAddr);
    assertEquals(await client.send("via addr"), "via addr");
  });
  await t.step("listen: the first listener's, in the order given", async () => {
    const path = await Deno.makeTempFile({ prefix: "deno_echo_addr_" });
    await Deno.remove(path);
    await using server = await serve({
      listen: [`unix:${path}`, "tcp://127.0.0.1:0"],
    });
    assertEquals(server.addr, { transport: "unix", path });
    assertEquals(server.addrs.length, 1);
  });
});

Deno.test("serve() goes on serving when its onEvent hook throws", async () => {
  const seen: string[] = [];
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    onEvent: (event) => {
      seen.push(event.type);
      throw new Error(`hook failed on ${event.type}`);
    },
  });
  for (const text of ["one", "two"]) {
    await using client = await connect(server.addrs[0]!);
    assertEquals(await client.send(text), text);
  }
  assertEquals(seen.filter((type) => type === "open").length, 2);
  assertEquals(server.listeners.length, 1);
});

Deno.test("serve() with quitWord null echoes BYE and keeps the connection", async () => {
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    quitWord: null,
  });
  await using client = await connect(server.addrs[0]!);
  assertEquals(await client.send("BYE"), "BYE");
  assertEquals(await client.send("still open"), "still open");
});

Deno.test("serve() uses a custom quit word", async () => {
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    quitWord: "QUIT",
  });
  await using client = await connect(server.addrs[0]!);
  assertEquals(await client.send("BYE"), "BYE");
  assertEquals(await client.send("  QUIT\r"), "  QUIT\r");
  assertEquals(await client.readLine(), null);
});

Deno.test("serve() rejects bad options and a taken port", async (t) => {
  await t.step("port in use", async () => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await assertRejects(
      () => serve({ hostname: "127.0.0.1", port: taken.addr.port }),
      Deno.errors.AddrInUse,
    );
  });
  await t.step("invalid port", async () => {
    await assertRejects(() => serve({ port: 65536 }), RangeError);
    await assertRejects(() => serve({ port: -1 }), RangeError);
    await assertRejects(() => serve({ port: 1.5 }), RangeError);
  });
  await t.step("invalid quit word", async () => {
    await assertRejects(() => serve({ port: 0, quitWord: "" }), TypeError);
    await assertRejects(
      () => serve({ port: 0, quitWord: "GOOD BYE" }),
      TypeError,
    );
  });
  await t.step("unknown host", async () => {
    await assertRejects(
      () => serve({ hostname: "no-such-host.invalid", port: 0 }),
      UnknownHostError,
    );
  });
});

Deno.test("connect() reports refusals, unknown hosts and family mismatches", async (t) => {
  const port = (() => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return listener.addr.port;
  })();
  await t.step("refused", async () => {
    await assertRejects(
      () => connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
    );
  });
  await t.step("unknown host", async () => {
    await assertRejects(
      () => connect({ hostname: "no-such-host.invalid", port }),
      UnknownHostError,
    );
  });
  await t.step("IPv6 asked of an IPv4 literal", async () => {
    await assertRejects(
      () => connect({ hostname: "127.0.0.1", port, family: 6 }),
      UnknownHostError,
    );
  });
  await t.step("invalid port", async () => {
    await assertRejects(() => connect({ port: 0 }), RangeError);
  });
});

Deno.test("connect() to localhost reaches a server on either loopback", async (t) => {
  for (const hostname of ["127.0.0.1", "::1"]) {
    await t.step(hostname, async () => {
      await using server = await serve({ hostname, port: 0 });
      await using client = await connect({
        hostname: "localhost",
        port: server.addrs[0]!.port,
      });
      assertEquals(client.remoteAddr.hostname, hostname);
      assertEquals(await client.send("hi"), "hi");
    });
  }
  await t.step("-6 picks ::1", async () => {
    await using server = await serve({ port: 0 });
    await using client = await connect({
      hostname: "localhost",
      port: server.addrs[0]!.port,
      family: 6,
    });
    assertEquals(client.remoteAddr.hostname, "::1");
  });
});

Deno.test("EchoClient.readLine() refuses a line longer than maxLineLength", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  await using client = await connect({
    ...server.addrs[0]!,
    maxLineLength: 1024,
  });
  await client.write(encoder.encode("x".repeat(4096) + "\n"));
  await assertRejects(() => client.readLine(), RangeError);
});
