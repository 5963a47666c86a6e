// Copyright the deno-echo authors. MIT license.

import { delay } from "@std/async";
import { assert, assertEquals } from "@std/assert";
import {
  connect,
  type ConnectionInfo,
  echo,
  type RejectReason,
  serve,
} from "../../mod.ts";
import { clientKey } from "../../src/server/admission.ts";
import { connectTo, readExactly, writeAll } from "../_helpers/conn.ts";
import { bytes, within } from "../_helpers/util.ts";
import { type CloseEvent, on } from "./_events.ts";

/** Hook events, each waited on as a promise. */
class Events<T> {
  #seen: T[] = [];
  #waiting: ((value: T) => void)[] = [];
  push = (value: T): void => {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(value);
    else this.#seen.push(value);
  };
  next(): Promise<T> {
    const value = this.#seen.shift();
    if (value !== undefined) return Promise.resolve(value);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

Deno.test("maxConnections closes the excess client at once and recovers", async () => {
  const rejected = new Events<[ConnectionInfo, RejectReason]>();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 2,
    onEvent: on("reject", ({ conn, reason }) => rejected.push([conn, reason])),
  });
  const first = await connect(server.addrs[0]!);
  await using second = await connect(server.addrs[0]!);
  assertEquals(await first.send("1"), "1");
  assertEquals(await second.send("2"), "2");

  await using third = await connect(server.addrs[0]!);
  const [info, reason] = await rejected.next();
  assertEquals(reason, "max-connections");
  assertEquals(
    (info.remoteAddr as Deno.NetAddr).port,
    third.conn.localAddr.port,
  );
  // Closed without being served: no echo, just the end of the stream.
  assertEquals(await third.readLine(), null);

  first.close();
  // Wait until the server has seen the close, by way of a fresh connection
  // succeeding; each attempt is bounded and the loop stops by itself.
  let fourthEcho: string | null = null;
  for (let attempt = 0; attempt < 50 && fourthEcho === null; attempt++) {
    await using fourth = await connect(server.addrs[0]!);
    await fourth.writeLine("4").catch(() => {});
    fourthEcho = await fourth.readLine().catch(() => null);
    if (fourthEcho === null) await rejected.next();
  }
  assertEquals(fourthEcho, "4");
});

Deno.test("maxPerIp limits one address and leaves others alone", async () => {
  const rejected = new Events<RejectReason>();
  await using server = await serve({
    hostname: "localhost",
    port: 0,
    maxPerIp: 1,
    onEvent: on("reject", ({ reason }) => rejected.push(reason)),
  });
  const port = server.addrs[0]!.port;
  await using v4 = await connect({ hostname: "127.0.0.1", port });
  assertEquals(await v4.send("a"), "a");
  await using v6 = await connect({ hostname: "::1", port });
  assertEquals(await v6.send("b"), "b");
  await using again = await connect({ hostname: "127.0.0.1", port });
  assertEquals(await rejected.next(), "max-per-ip");
  assertEquals(await again.readLine(), null);
});

Deno.test("idleTimeout closes an idle client but not a slow one", async () => {
  const closed = new Events<CloseEvent>();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 300,
    onEvent: on("close", closed.push),
  });
  await using idle = await connect(server.addrs[0]!);
  await using slow = await connect(server.addrs[0]!);
  assertEquals(await idle.send("then nothing"), "then nothing");
  // The slow client sends one byte at a time, each well within the idle
  // timeout, for longer than the timeout in all.
  const started = performance.now();
  let sent = "";
  for (let i = 0; i < 12; i++) {
    await slow.write(bytes("x"));
    sent += "x";
    await delay(60);
  }
  assert(performance.now() - started > 300 + 300);
  const { conn, result } = await closed.next();
  assertEquals(result.reason, "idle");
  assertEquals(
    (conn.remoteAddr as Deno.NetAddr).port,
    idle.conn.localAddr.port,
  );
  assertEquals(await idle.readLine(), null);
  assertEquals(await slow.send(""), sent);
});

Deno.test("maxBytes closes the connection after that many bytes", async () => {
  const closed = new Events<CloseEvent>();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    maxBytes: 10,
    onEvent: on("close", closed.push),
  });
  await using client = await connect(server.addrs[0]!);
  await client.write(bytes("0123456789abcdef\n"));
  await client.closeWrite();
  assertEquals(await client.readLine(), "0123456789");
  assertEquals(await client.readLine(), null);
  const { result } = await closed.next();
  assertEquals([result.reason, result.bytes], ["limit", 10]);
});

Deno.test("echo() idleTimeout ends a silent stream with reason idle", async () => {
  const silent = new ReadableStream<Uint8Array>({ type: "bytes" });
  const result = await echo({
    readable: silent,
    writable: new WritableStream(),
  }, {
    idleTimeout: 50,
  });
  assertEquals(result.reason, "idle");
  assertEquals(result.bytes, 0);
});

Deno.test("by default one address may hold 256 connections, not every slot", async () => {
  const rejected = new Events<RejectReason>();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    onEvent: on("reject", ({ reason }) => rejected.push(reason)),
  });
  await using held = new AsyncDisposableStack();
  for (let i = 0; i < 256; i++) {
    const conn = held.use(await connectTo(server.addrs[0]!));
    // Served (admitted), not just queued.
    await writeAll(conn, "x");
    assertEquals((await readExactly(conn, 1))[0], 0x78);
  }
  assertEquals(server.connections, 256);
  using extra = await connectTo(server.addrs[0]!);
  assertEquals(
    await within(rejected.next(), 5000, "the 257th connection's reject"),
    "max-per-ip",
  );
  assertEquals(await extra.read(new Uint8Array(1)), null);
  assertEquals(server.connections, 256);
});

Deno.test("maxPerIp counts an IPv6 client per /64, an IPv4 one per address, all Unix peers as one", () => {
  const key = (hostname: string): string =>
    clientKey({ transport: "tcp", hostname, port: 1 });
  // One host's /64: any of its 2^64 addresses counts as the same client.
  assertEquals(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assertEquals(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  assertEquals(key("2001:0DB8:0001:0002:0:0:0:9"), "2001:db8:1:2::/64");
  assertEquals(key("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  assertEquals(key("2001:db8::"), "2001:db8:0:0::/64");
  assertEquals(key("::1"), "0:0:0:0::/64");
  assertEquals(key("fe80::1%eth0"), "fe80:0:0:0::/64%eth0");
  assertEquals(key("192.0.2.1"), "192.0.2.1");
  assertEquals(key("192.0.2.2"), "192.0.2.2");
  assertEquals(clientKey({ transport: "unix", path: "/tmp/a.sock" }), "unix");
  assertEquals(clientKey({ transport: "unix", path: "" }), "unix");
});
