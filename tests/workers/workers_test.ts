// Copyright the deno-echo authors. MIT license.

// serve({ workers }): several isolates accepting on one port. The test task
// runs with --unstable-net, which workers need.

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  connect,
  type ConnectionCloseInfo,
  type ConnectionInfo,
  dialTls,
  type EchoClient,
  type RejectReason,
  serve,
} from "../../mod.ts";
import { fromWire, toWire } from "../../src/workers/workers.ts";
import {
  type Admission,
  LocalAdmission,
  SharedAdmission,
} from "../../src/server/admission.ts";
import { readExactly, writeAll } from "../_helpers/cli.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { mulberry32, skip } from "../_helpers/util.ts";

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
  for (const info of closed.values) assertEquals(info.reason, "eof");
  const echoed = closed.values.reduce((sum, info) => sum + info.bytes, 0);
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
    onOpen: opened.push,
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
    onReject: (info, reason) => rejected.push([info, reason]),
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
    onReject: (info, reason) => rejected.push([info, reason]),
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
    onOpen: opened.push,
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
  assertEquals(
    new Set(closed.values.map((info) => info.reason)),
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
    onOpen: opened.push,
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

for (
  const [kind, make] of [
    ["LocalAdmission", (limits) => new LocalAdmission(limits)],
    [
      "SharedAdmission",
      (limits) =>
        new SharedAdmission(SharedAdmission.createBuffer(limits), limits),
    ],
  ] as const satisfies readonly (readonly [
    string,
    (limits: { maxConnections: number; maxPerIp: number }) => Admission,
  ])[]
) {
  Deno.test(`${kind} keeps ids, counts and both limits`, () => {
    const admission = make({ maxConnections: 3, maxPerIp: 2 });
    assertEquals([admission.nextId(), admission.nextId()], [1, 2]);
    assertEquals(admission.admit("10.0.0.1"), undefined);
    assertEquals(admission.admit("10.0.0.1"), undefined);
    assertEquals(admission.admit("10.0.0.1"), "max-per-ip");
    assertEquals(admission.open, 2);
    assertEquals(admission.admit("10.0.0.2"), undefined);
    assertEquals(admission.admit("10.0.0.3"), "max-connections");
    assertEquals(admission.open, 3);
    admission.release("10.0.0.1");
    assertEquals(admission.open, 2);
    assertEquals(admission.admit("10.0.0.1"), undefined);
    for (const client of ["10.0.0.1", "10.0.0.1", "10.0.0.2"]) {
      admission.release(client);
    }
    assertEquals(admission.open, 0);
    // Released counts are free again, for every client.
    assertEquals(admission.admit("10.0.0.1"), undefined);
    assertEquals(admission.admit("10.0.0.1"), undefined);
  });
}

Deno.test("SharedAdmission counts each client exactly: 10,000 one-connection clients under maxPerIp 1 are all admitted", () => {
  const limits = { maxConnections: 10_000, maxPerIp: 1 };
  const admission = new SharedAdmission(
    SharedAdmission.createBuffer(limits),
    limits,
  );
  const clients = Array.from(
    { length: 10_000 },
    (_, i) => `2001:db8::${i.toString(16)}`,
  );
  for (const client of clients) {
    assertEquals(admission.admit(client), undefined);
  }
  for (const client of clients) {
    assertEquals(admission.admit(client), "max-connections");
  }
  assertEquals(admission.open, 10_000);
  for (const client of clients) admission.release(client);
  assertEquals(admission.open, 0);
  // A second round on a table that has had every key removed.
  for (const client of clients) {
    assertEquals(admission.admit(client), undefined);
  }
  for (const client of clients.slice(0, 10)) admission.release(client);
  // Below maxConnections again: a held client is refused by maxPerIp, a
  // released one is admitted once.
  assertEquals(admission.admit(clients[10]!), "max-per-ip");
  assertEquals(admission.admit(clients[0]!), undefined);
  assertEquals(admission.admit(clients[0]!), "max-per-ip");
});

Deno.test("SharedAdmission agrees with a Map on random admits and releases in a small, crowded table", () => {
  // maxConnections 16 makes a 32-slot table: long probe runs, wrap-around,
  // and removals from the middle of runs.
  const limits = { maxConnections: 16, maxPerIp: 3 };
  const admission = new SharedAdmission(
    SharedAdmission.createBuffer(limits),
    limits,
  );
  const model = new Map<string, number>();
  let open = 0;
  const rand = mulberry32(2000);
  for (let step = 0; step < 50_000; step++) {
    const client = `10.0.0.${Math.floor(rand() * 24)}`;
    const held = model.get(client) ?? 0;
    if (rand() < 0.5 && held > 0) {
      admission.release(client);
      if (held === 1) model.delete(client);
      else model.set(client, held - 1);
      open--;
    } else {
      const expected = open >= 16
        ? "max-connections"
        : held >= 3
        ? "max-per-ip"
        : undefined;
      assertEquals(
        admission.admit(client),
        expected,
        `step ${step}: ${client}`,
      );
      if (expected === undefined) {
        model.set(client, held + 1);
        open++;
      }
    }
    assertEquals(admission.open, open);
  }
});

Deno.test("SharedAdmission.releaseIsolate takes back a dead isolate's open connections", () => {
  const limits = { maxConnections: 4, maxPerIp: 0 };
  const buffer = SharedAdmission.createBuffer(limits);
  const first = new SharedAdmission(buffer, limits, 0);
  const worker = new SharedAdmission(buffer, limits, 1);
  assertEquals(first.admit("a"), undefined);
  assertEquals(worker.admit("b"), undefined);
  assertEquals(worker.admit("c"), undefined);
  assertEquals(first.open, 3);
  first.releaseIsolate(1);
  assertEquals(first.open, 1);
  for (const client of ["d", "e", "f"]) {
    assertEquals(first.admit(client), undefined);
  }
  assertEquals(first.admit("g"), "max-connections");
});

Deno.test("SharedAdmission admits each client exactly maxPerIp times, and without maxConnections tracks 49,152 addresses", () => {
  const limits = { maxConnections: 0, maxPerIp: 3 };
  const admission = new SharedAdmission(
    SharedAdmission.createBuffer(limits),
    limits,
  );
  const client = (i: number): string =>
    `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 40_000; i++) {
      assertEquals(
        admission.admit(client(i)),
        round < 3 ? undefined : "max-per-ip",
        `${client(i)}, round ${round}`,
      );
    }
  }
  assertEquals(admission.open, 120_000);
  // The table is full at 3/4 of its 65,536 slots: a new address beyond
  // that is refused, never admitted uncounted; a known one still counts.
  for (let i = 40_000; i < 49_152; i++) {
    assertEquals(admission.admit(client(i)), undefined);
  }
  assertEquals(admission.admit(client(49_152)), "max-per-ip");
  admission.release(client(0));
  assertEquals(admission.admit(client(0)), undefined);
  for (let i = 0; i < 3; i++) admission.release(client(1));
  assertEquals(admission.admit(client(49_152)), undefined);
});

Deno.test("SharedAdmission refuses a buffer it did not make", () => {
  assertThrows(() =>
    new SharedAdmission(new SharedArrayBuffer(8), {
      maxConnections: 0,
      maxPerIp: 0,
    }), RangeError);
});
