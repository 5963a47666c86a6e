// Copyright the deno-echo authors. MIT license.

// Connection ids and limits, kept in one isolate or shared by several.

import { assertEquals, assertThrows } from "@std/assert";
import {
  type Admission,
  LocalAdmission,
  SharedAdmission,
} from "../../src/server/admission.ts";
import { mulberry32 } from "../_helpers/util.ts";

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
  // It says how many it took back.
  assertEquals(first.releaseIsolate(1), 2);
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
