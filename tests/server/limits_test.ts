// Copyright the deno-echo authors. MIT license.

import { delay } from "@std/async";
import { assert, assertEquals } from "@std/assert";
import {
  connect,
  type ConnectionCloseInfo,
  type ConnectionInfo,
  echo,
  type RejectReason,
  serve,
} from "../../mod.ts";
import { bytes } from "../_helpers/util.ts";

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
    onReject: (info, reason) => rejected.push([info, reason]),
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
    onReject: (_, reason) => rejected.push(reason),
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
  const closed = new Events<ConnectionCloseInfo>();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 300,
    onClose: closed.push,
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
  const info = await closed.next();
  assertEquals(info.reason, "idle");
  assertEquals(
    (info.remoteAddr as Deno.NetAddr).port,
    idle.conn.localAddr.port,
  );
  assertEquals(await idle.readLine(), null);
  assertEquals(await slow.send(""), sent);
});

Deno.test("maxBytes closes the connection after that many bytes", async () => {
  const closed = new Events<ConnectionCloseInfo>();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    maxBytes: 10,
    onClose: closed.push,
  });
  await using client = await connect(server.addrs[0]!);
  await client.write(bytes("0123456789abcdef\n"));
  await client.closeWrite();
  assertEquals(await client.readLine(), "0123456789");
  assertEquals(await client.readLine(), null);
  const info = await closed.next();
  assertEquals([info.reason, info.bytes], ["limit", 10]);
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
