// Copyright the deno-echo authors. MIT license.

// serve({ workers }): several isolates accepting on one port. The test task
// runs with --unstable-net, which workers need.

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  connect,
  type ConnectionInfo,
  dialTls,
  type EchoClient,
  type RejectReason,
  serve,
} from "../../mod.ts";
import {
  eventFromWire,
  eventToWire,
  fromWire,
  toWire,
} from "../../src/workers/wire.ts";
import { readExactly, writeAll } from "../_helpers/cli.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip } from "../_helpers/util.ts";
import { all, type CloseEvent, on } from "../server/_events.ts";

const decoder = new TextDecoder();

/** Opens `count` clients at once, each checked with one round trip. */
async function openClients(
  addr: Deno.NetAddr,
  count: number,
): Promise<EchoClient[]> {
  const clients = await Promise.all(
    Array.from({ length: count }, () => connect(addr)),
  );
  for (const [i, client] of clients.entries()) {
    assertEquals(await client.send(`line ${i}`), `line ${i}`);
  }
  return clients;
}

function closeAll(clients: EchoClient[]): void {
  for (const client of clients) client.close();
}

/** Resolves once `count` values have been pushed. */
function collector<T>(count: number): {
  values: T[];
  push: (value: T) => void;
  full: Promise<void>;
} {
  const values: T[] = [];
  const full = Promise.withResolvers<void>();
  if (count === 0) full.resolve();
  return {
    values,
    full: full.promise,
    push: (value) => {
      values.push(value);
      if (values.length === count) full.resolve();
    },
  };
}

Deno.test("workers share the port: every isolate serves, ids are unique, onEvent sees all", async () => {
  const clients = 40;
  const opened = collector<ConnectionInfo>(clients);
  const closed = collector<CloseEvent>(clients);
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    workers: 3,
    onEvent: all(
      on("open", ({ conn }) => opened.push(conn)),
      on("close", closed.push),
    ),
  });
  assertEquals(server.addrs.length, 1);
  const open = await openClients(server.addrs[0]!, clients);
  await opened.full;
  assertEquals(server.connections, clients);
  closeAll(open);
  await closed.full;

  const ids = opened.values.map((info) => info.id).sort((a, b) => a - b);
  assertEquals(ids, Array.from({ length: clients }, (_, i) => i + 1));
  // The kernel hashes each connection to one of the 3 listeners: all 40 on
  // one of them would happen about once in 4e18 runs.
  const workers = new Set(opened.values.map((info) => info.worker));
  assert(workers.size >= 2, `only worker(s) ${[...workers]} served`);
  for (const worker of workers) assert(worker >= 0 && worker < 3, `${worker}`);
  for (const { result } of closed.values) assertEquals(result.reason, "eof");
  const echoed = closed.values.reduce((sum, e) => sum + e.result.bytes, 0);
  const sent = Array.from({ length: clients }, (_, i) => `line ${i}\n`.length)
    .reduce((a, b) => a + b, 0);
  assertEquals(echoed, sent);
  assertEquals(server.connections, 0);
});

Deno.test("workers on :: share IPv4 clients too (no worker binds 0.0.0.0 of its own)", async () => {
  const opened = collector<ConnectionInfo>(64);
  await using server = await serve({
    hostname: "::",
    port: 0,
    workers: 2,
    onEvent: on("open", ({ conn }) => opened.push(conn)),
  });
  const { port } = server.addrs[0]!;
  for (const hostname of ["127.0.0.1", "::1"]) {
    const clients = await openClients({ transport: "tcp", hostname, port }, 32);
    closeAll(clients);
  }
  await opened.full;
  for (const family of ["127.0.0.1", "::1"]) {
    const workers = new Set(
      opened.values
        .filter((info) => (info.remoteAddr as Deno.NetAddr).hostname === family)
        .map((info) => info.worker),
    );
    // 32 connections all on one of 2 listeners: once in 2 billion runs.
    assertEquals(workers, new Set([0, 1]), `${family} clients`);
  }
});

Deno.test("workers share maxConnections: the excess is refused whichever worker takes it", async () => {
  const rejected = collector<[ConnectionInfo, RejectReason]>(6);
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    workers: 2,
    maxConnections: 4,
    onEvent: on("reject", ({ conn, reason }) => rejected.push([conn, reason])),
  });
  const held = await openClients(server.addrs[0]!, 4);
  assertEquals(server.connections, 4);
  const refused = await Promise.all(
    Array.from({ length: 6 }, () => connect(server.addrs[0]!)),
  );
  await rejected.full;
  for (const client of refused) {
    assertEquals(await client.readLine(), null);
    client.close();
  }
  assertEquals(
    new Set(rejected.values.map(([, reason]) => reason)),
    new Set(["max-connections"]),
  );
  // Still serving the ones it holds.
  assertEquals(await held[0]!.send("still here"), "still here");
  closeAll(held);
});

Deno.test("workers share maxPerIp: a third connection from one address is refused, another address is served", async () => {
  const rejected = collector<[ConnectionInfo, RejectReason]>(1);
  await using server = await serve({
    hostname: "localhost",
    port: 0,
    workers: 2,
    maxPerIp: 2,
    onEvent: on("reject", ({ conn, reason }) => rejected.push([conn, reason])),
  });
  const v4 = server.addrs.find((addr) => addr.hostname === "127.0.0.1")!;
  const v6 = server.addrs.find((addr) => addr.hostname === "::1");
  const held = await openClients(v4, 2);
  await using third = await connect(v4);
  await rejected.full;
  const [info, reason] = rejected.values[0]!;
  assertEquals(reason, "max-per-ip");
  assertEquals((info.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  assertEquals(await third.readLine(), null);
  if (v6 !== undefined) {
    await using other = await connect(v6);
    assertEquals(await other.send("v6"), "v6");
  }
  closeAll(held);
});

Deno.test("workers: shutdown drains live connections in every isolate, then the workers end", async () => {
  const opened = collector<ConnectionInfo>(12);
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    workers: 2,
    drainTimeout: 10_000,
    onEvent: on("open", ({ conn }) => opened.push(conn)),
  });
  const addr = server.addrs[0]!;
  const clients = await openClients(addr, 12);
  await opened.full;
  let finished = false;
  const done = server.shutdown().then(() => finished = true);
  // Draining: new connections are refused (once the workers have had the
  // message: a connection that came first is served), live ones still echo.
  // Bounded by time, not by attempts: a busy machine may take a while to
  // deliver the message to a worker.
  let refused = false;
  for (
    const deadline = Date.now() + 10_000;
    !refused && Date.now() < deadline;
  ) {
    try {
      (await Deno.connect({ hostname: addr.hostname, port: addr.port }))
        .close();
    } catch (error) {
      // Anything but a refusal (a reset, ENOTCONN) means the connection
      // reached a listener's backlog as that listener closed: try again.
      refused = error instanceof Deno.errors.ConnectionRefused;
    }
  }
  assert(refused, "still accepting 10 s after shutdown()");
  for (const client of clients) {
    assertEquals(await client.send("drain"), "drain");
  }
  assertEquals(finished, false);
  closeAll(clients);
  await done;
  assertEquals(server.connections, 0);
  // Every isolate's connections ended by themselves.
  assertEquals(await server.shutdown(), { drained: true, closed: 0 });
});

Deno.test("workers: shutdown() counts the connections cut in every isolate when the drain time runs out", async () => {
  const opened = collector<ConnectionInfo>(24);
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    workers: 2,
    drainTimeout: 100,
    onEvent: on("open", ({ conn }) => opened.push(conn)),
  });
  const clients = await openClients(server.addrs[0]!, 24);
  await opened.full;
  const served = new Set(opened.values.map((info) => info.worker));
  // 24 connections all on one of 2 listeners: about once in 8 million runs.
  assertEquals(served, new Set([0, 1]));
  assertEquals(await server.shutdown(), { drained: false, closed: 24 });
  for (const client of clients) {
    assertEquals(await client.readLine(), null);
    client.close();
  }
});

Deno.test("workers: close() and an aborted signal end connections in every isolate", async () => {
  const controller = new AbortController();
  const opened = collector<ConnectionInfo>(12);
  const closed = collector<CloseEvent>(12);
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    workers: 3,
    signal: controller.signal,
    onEvent: all(
      on("open", ({ conn }) => opened.push(conn)),
      on("close", closed.push),
    ),
  });
  const clients = await openClients(server.addrs[0]!, 12);
  await opened.full;
  controller.abort();
  await server.finished;
  await closed.full;
  assertEquals(
    new Set(closed.values.map(({ result }) => result.reason)),
    new Set(["aborted"]),
  );
  for (const client of clients) {
    assertEquals(await client.readLine(), null);
    client.close();
  }
});

Deno.test("workers: a port in use is an error, even by a program that shares ports too", async () => {
  for (const reusePort of [false, true]) {
    using holder = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort });
    await assertRejects(
      () =>
        serve({ hostname: "127.0.0.1", port: holder.addr.port, workers: 2 }),
      Deno.errors.AddrInUse,
    );
  }
});

Deno.test("workers: invalid counts are refused", async () => {
  for (const workers of [0, -1, 1.5, NaN, 257]) {
    await assertRejects(() => serve({ port: 0, workers }), RangeError);
  }
});

Deno.test("workers serve tls:// listeners too", async () => {
  await using fixtures = await createTlsFixtures();
  if (fixtures === null) return skip("openssl is not installed");
  const opened = collector<ConnectionInfo>(24);
  await using server = await serve({
    listen: ["tls://localhost:0"],
    tls: { cert: fixtures.cert, key: fixtures.key },
    workers: 2,
    onEvent: on("open", ({ conn }) => opened.push(conn)),
  });
  const conns = await Promise.all(
    Array.from({ length: 24 }, () =>
      dialTls({
        hostname: "localhost",
        port: server.addrs[0]!.port,
        caCerts: [fixtures.ca],
      })),
  );
  for (const conn of conns) {
    await writeAll(conn, "tls\n");
    assertEquals(decoder.decode(await readExactly(conn, 4)), "tls\n");
  }
  await opened.full;
  // 24 connections all on one of 2 listeners: about once in 8 million runs.
  assertEquals(new Set(opened.values.map((info) => info.worker)).size, 2);
  for (const conn of conns) conn.close();
});

Deno.test("errors cross isolates as the same Deno.errors class", () => {
  const reset = fromWire(toWire(new Deno.errors.ConnectionReset("gone")));
  assert(reset instanceof Deno.errors.ConnectionReset);
  assertEquals(reset.message, "gone");
  const custom = fromWire(toWire(new RangeError("too big")));
  assertEquals(custom.name, "RangeError");
  assertEquals(custom.message, "too big");
  assertEquals(fromWire(toWire("just text")).message, "just text");
  const abort = fromWire(toWire(new DOMException("stop", "AbortError")));
  assert(abort instanceof DOMException);
  assertEquals(abort.name, "AbortError");
  // Only Deno's own error classes, not whatever Deno.errors inherits.
  const odd = fromWire({ name: "constructor", message: "m" });
  assert(Object.getPrototypeOf(odd) === Error.prototype);
  assertEquals(odd.name, "constructor");
});

Deno.test("events cross isolates whole, their errors as the same classes", () => {
  const conn = {
    id: 7,
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5000 },
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2000 },
    listener: "tcp://127.0.0.1:2000",
    worker: 1,
  } as const;
  const cross = (event: Parameters<typeof eventToWire>[0]) =>
    eventFromWire(structuredClone(eventToWire(event)));
  assertEquals(cross({ type: "open", conn }), { type: "open", conn });
  const clean = {
    type: "close",
    conn,
    result: { bytes: 4, reason: "eof", durationMs: 1.5 },
  } as const;
  assertEquals(cross(clean), clean);
  const failed = cross({
    type: "close",
    conn,
    result: {
      bytes: 0,
      reason: "error",
      durationMs: 2,
      error: new Deno.errors.ConnectionReset("gone"),
    },
  });
  assert(failed.type === "close");
  assert(failed.result.error instanceof Deno.errors.ConnectionReset);
  assertEquals(failed.result.bytes, 0);
  const handshake = cross({
    type: "handshake-error",
    conn,
    error: new Deno.errors.TimedOut("slow"),
  });
  assert(handshake.type === "handshake-error");
  assert(handshake.error instanceof Deno.errors.TimedOut);
  const accept = cross({
    type: "accept-error",
    error: new Deno.errors.ConnectionAborted("x"),
  });
  assert(accept.type === "accept-error");
  assert(accept.error instanceof Deno.errors.ConnectionAborted);
  assertEquals(cross({ type: "reject", conn, reason: "max-per-ip" }), {
    type: "reject",
    conn,
    reason: "max-per-ip",
  });
});
