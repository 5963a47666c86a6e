// Copyright the deno-echo authors. MIT license.

// serve({ workers }): several isolates accepting on one port. The test task
// runs with --unstable-net, which workers need.

import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  connect,
  type ConnectionCloseInfo,
  type ConnectionInfo,
  dialTls,
  type EchoClient,
  type RejectReason,
  serve,
} from "../mod.ts";
import { fromWire, toWire } from "../src/workers.ts";
import {
  type Admission,
  LocalAdmission,
  SharedAdmission,
} from "../src/admission.ts";
import { readExactly, writeAll } from "./_cli.ts";
import { createTlsFixtures } from "./_tls.ts";
import { deferred, skip } from "./_util.ts";

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
    equal(await client.send(`line ${i}`), `line ${i}`);
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
  const full = deferred<void>();
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

Deno.test("workers share the port: every isolate serves, ids are unique, hooks see all", async () => {
  const clients = 40;
  const opened = collector<ConnectionInfo>(clients);
  const closed = collector<ConnectionCloseInfo>(clients);
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    workers: 3,
    onOpen: opened.push,
    onClose: closed.push,
  });
  equal(server.addrs.length, 1);
  const open = await openClients(server.addrs[0]!, clients);
  await opened.full;
  equal(server.connections, clients);
  closeAll(open);
  await closed.full;

  const ids = opened.values.map((info) => info.id).sort((a, b) => a - b);
  deepEqual(ids, Array.from({ length: clients }, (_, i) => i + 1));
  // The kernel hashes each connection to one of the 3 listeners: all 40 on
  // one of them would happen about once in 4e18 runs.
  const workers = new Set(opened.values.map((info) => info.worker));
  ok(workers.size >= 2, `only worker(s) ${[...workers]} served`);
  for (const worker of workers) ok(worker >= 0 && worker < 3, `${worker}`);
  for (const info of closed.values) equal(info.reason, "eof");
  const echoed = closed.values.reduce((sum, info) => sum + info.bytes, 0);
  const sent = Array.from({ length: clients }, (_, i) => `line ${i}\n`.length)
    .reduce((a, b) => a + b, 0);
  equal(echoed, sent);
  equal(server.connections, 0);
});

Deno.test("workers share maxConnections: the excess is refused whichever worker takes it", async () => {
  const rejected = collector<[ConnectionInfo, RejectReason]>(6);
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    workers: 2,
    maxConnections: 4,
    onReject: (info, reason) => rejected.push([info, reason]),
  });
  const held = await openClients(server.addrs[0]!, 4);
  equal(server.connections, 4);
  const refused = await Promise.all(
    Array.from({ length: 6 }, () => connect(server.addrs[0]!)),
  );
  await rejected.full;
  for (const client of refused) {
    equal(await client.readLine(), null);
    client.close();
  }
  deepEqual(
    new Set(rejected.values.map(([, reason]) => reason)),
    new Set(["max-connections"]),
  );
  // Still serving the ones it holds.
  equal(await held[0]!.send("still here"), "still here");
  closeAll(held);
});

Deno.test("workers share maxPerIp: a third connection from one address is refused, another address is served", async () => {
  const rejected = collector<[ConnectionInfo, RejectReason]>(1);
  await using server = await serve({
    hostname: "localhost",
    port: 0,
    workers: 2,
    maxPerIp: 2,
    onReject: (info, reason) => rejected.push([info, reason]),
  });
  const v4 = server.addrs.find((addr) => addr.hostname === "127.0.0.1")!;
  const v6 = server.addrs.find((addr) => addr.hostname === "::1");
  const held = await openClients(v4, 2);
  await using third = await connect(v4);
  await rejected.full;
  const [info, reason] = rejected.values[0]!;
  equal(reason, "max-per-ip");
  equal((info.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  equal(await third.readLine(), null);
  if (v6 !== undefined) {
    await using other = await connect(v6);
    equal(await other.send("v6"), "v6");
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
    onOpen: opened.push,
  });
  const addr = server.addrs[0]!;
  const clients = await openClients(addr, 12);
  await opened.full;
  let finished = false;
  const done = server.shutdown().then(() => finished = true);
  // Draining: new connections are refused (once the workers have had the
  // message: a connection that came first is served), live ones still echo.
  let refused = false;
  for (let attempt = 0; attempt < 100 && !refused; attempt++) {
    try {
      (await Deno.connect({ hostname: addr.hostname, port: addr.port }))
        .close();
    } catch (error) {
      // Reset: it reached a listener's backlog as that listener closed.
      if (error instanceof Deno.errors.ConnectionReset) continue;
      ok(error instanceof Deno.errors.ConnectionRefused, String(error));
      refused = true;
    }
  }
  ok(refused, "still accepting while shutting down");
  for (const client of clients) equal(await client.send("drain"), "drain");
  equal(finished, false);
  closeAll(clients);
  await done;
  equal(server.connections, 0);
});

Deno.test("workers: close() and an aborted signal end connections in every isolate", async () => {
  const controller = new AbortController();
  const opened = collector<ConnectionInfo>(12);
  const closed = collector<ConnectionCloseInfo>(12);
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    workers: 3,
    signal: controller.signal,
    onOpen: opened.push,
    onClose: closed.push,
  });
  const clients = await openClients(server.addrs[0]!, 12);
  await opened.full;
  controller.abort();
  await server.finished;
  await closed.full;
  deepEqual(
    new Set(closed.values.map((info) => info.reason)),
    new Set(["aborted"]),
  );
  for (const client of clients) {
    equal(await client.readLine(), null);
    client.close();
  }
});

Deno.test("workers: a port in use is an error, even by a program that shares ports too", async () => {
  for (const reusePort of [false, true]) {
    using holder = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort });
    await rejects(
      serve({ hostname: "127.0.0.1", port: holder.addr.port, workers: 2 }),
      Deno.errors.AddrInUse,
    );
  }
});

Deno.test("workers: invalid counts are refused", async () => {
  for (const workers of [0, -1, 1.5, NaN]) {
    await rejects(serve({ port: 0, workers }), RangeError);
  }
});

Deno.test("workers serve tls:// listeners too", async () => {
  await using fixtures = await createTlsFixtures();
  if (fixtures === null) return skip("openssl is not installed");
  const opened = collector<ConnectionInfo>(16);
  await using server = await serve({
    listen: ["tls://localhost:0"],
    tls: { cert: fixtures.cert, key: fixtures.key },
    workers: 2,
    onOpen: opened.push,
  });
  const conns = await Promise.all(
    Array.from({ length: 16 }, () =>
      dialTls({
        hostname: "localhost",
        port: server.addrs[0]!.port,
        caCerts: [fixtures.ca],
      })),
  );
  for (const conn of conns) {
    await writeAll(conn, "tls\n");
    equal(decoder.decode(await readExactly(conn, 4)), "tls\n");
  }
  await opened.full;
  // 16 connections all on one of 2 listeners: about once in 30,000 runs.
  equal(new Set(opened.values.map((info) => info.worker)).size, 2);
  for (const conn of conns) conn.close();
});

Deno.test("errors cross isolates as the same Deno.errors class", () => {
  const reset = fromWire(toWire(new Deno.errors.ConnectionReset("gone")));
  ok(reset instanceof Deno.errors.ConnectionReset);
  equal(reset.message, "gone");
  const custom = fromWire(toWire(new RangeError("too big")));
  equal(custom.name, "RangeError");
  equal(custom.message, "too big");
  equal(fromWire(toWire("just text")).message, "just text");
});

for (
  const [kind, make] of [
    ["LocalAdmission", (limits) => new LocalAdmission(limits)],
    [
      "SharedAdmission",
      (limits) => new SharedAdmission(SharedAdmission.createBuffer(), limits),
    ],
  ] as const satisfies readonly (readonly [
    string,
    (limits: { maxConnections: number; maxPerIp: number }) => Admission,
  ])[]
) {
  Deno.test(`${kind} keeps ids, counts and both limits`, () => {
    const admission = make({ maxConnections: 3, maxPerIp: 2 });
    deepEqual([admission.nextId(), admission.nextId()], [1, 2]);
    equal(admission.admit("10.0.0.1"), undefined);
    equal(admission.admit("10.0.0.1"), undefined);
    equal(admission.admit("10.0.0.1"), "max-per-ip");
    equal(admission.open, 2);
    equal(admission.admit("10.0.0.2"), undefined);
    equal(admission.admit("10.0.0.3"), "max-connections");
    equal(admission.open, 3);
    admission.release("10.0.0.1");
    equal(admission.open, 2);
    equal(admission.admit("10.0.0.1"), undefined);
    for (const client of ["10.0.0.1", "10.0.0.1", "10.0.0.2"]) {
      admission.release(client);
    }
    equal(admission.open, 0);
    // Released counts are free again, for every client.
    equal(admission.admit("10.0.0.1"), undefined);
    equal(admission.admit("10.0.0.1"), undefined);
  });
}

Deno.test("SharedAdmission never admits a client past maxPerIp, with many clients sharing counters", () => {
  const admission = new SharedAdmission(SharedAdmission.createBuffer(), {
    maxConnections: 0,
    maxPerIp: 3,
  });
  // 50,000 clients over 8192 counters per row: many share one counter.
  const admitted = new Map<string, number>();
  let refused = 0;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 50_000; i++) {
      const client = `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
      if (admission.admit(client) === undefined) {
        admitted.set(client, (admitted.get(client) ?? 0) + 1);
      } else refused++;
    }
  }
  for (const [client, count] of admitted) {
    ok(count <= 3, `${client} admitted ${count} times`);
  }
  // Every client tried 4 times; at least the 4th try of each was refused.
  ok(refused >= 50_000, `${refused} refused`);
  equal(admission.open, [...admitted.values()].reduce((a, b) => a + b, 0));
});

Deno.test("SharedAdmission refuses a buffer it did not make", () => {
  throws(
    () =>
      new SharedAdmission(new SharedArrayBuffer(8), {
        maxConnections: 0,
        maxPerIp: 0,
      }),
    RangeError,
  );
});
