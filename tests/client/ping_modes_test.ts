// Copyright the deno-echo authors. MIT license.

// runPing() over UDP and with a new connection per probe, and how a run
// starts, ends and checks its options.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { serve } from "../../mod.ts";
import { runPing } from "../../src/client/ping.ts";
import { recorder } from "./_ping.ts";

Deno.test("runPing() over UDP matches each echo by its sequence number", async () => {
  await using server = await serve({ listen: ["udp://127.0.0.1:0"] });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const { probes, links, hooks } = recorder();
  const summary = await runPing(
    {
      transport: "udp",
      hostname: "127.0.0.1",
      port,
      count: 3,
      interval: 10,
      size: 200,
    },
    hooks,
  );
  assertEquals(probes.map((p) => [p.seq, p.status]), [
    [1, "echoed"],
    [2, "echoed"],
    [3, "echoed"],
  ]);
  assertEquals(links[0]!.type, "connected");
  assertEquals([summary.sent, summary.echoed], [3, 3]);
});

Deno.test("runPing() with newConnection times the connect apart from the echo", async () => {
  let opened = 0;
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    onEvent: (event) => void (event.type === "open" && opened++),
  });
  const { probes, hooks } = recorder();
  await runPing(
    {
      hostname: "127.0.0.1",
      port: server.addrs[0]!.port,
      count: 3,
      interval: 10,
      newConnection: true,
    },
    hooks,
  );
  assertEquals(probes.map((p) => p.status), ["echoed", "echoed", "echoed"]);
  for (const probe of probes) {
    assert(probe.timings !== undefined && probe.timings.connect > 0);
    assertEquals(probe.timings.tls, undefined);
    assert(probe.time! > 0);
  }
  assertEquals(opened, 3);
});

Deno.test("runPing() with newConnection counts a failed connect as a lost probe", async () => {
  const first = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = first.addrs[0]!;
  const { probes, hooks } = recorder();
  const summary = await runPing(
    {
      hostname: "127.0.0.1",
      port,
      count: 2,
      interval: 50,
      newConnection: true,
    },
    {
      onProbe: (probe) => {
        hooks.onProbe(probe);
        if (probe.seq === 1) void first.close();
      },
    },
  ).finally(() => first.close());
  assertEquals(probes.map((p) => [p.status, p.reason, p.error]), [
    ["echoed", undefined, undefined],
    ["lost", "connect failed", "connection refused"],
  ]);
  assertEquals([summary.sent, summary.lost], [2, 1]);
});

Deno.test("runPing() rejects when the first connection fails", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  for (const newConnection of [false, true]) {
    await assertRejects(
      () => runPing({ hostname: "127.0.0.1", port, count: 1, newConnection }),
      Deno.errors.ConnectionRefused,
    );
  }
});

Deno.test("runPing() ends with the summary when the signal aborts", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const controller = new AbortController();
  const summary = await runPing(
    {
      hostname: "127.0.0.1",
      port: server.addrs[0]!.port,
      interval: 20,
      signal: controller.signal,
    },
    { onProbe: (probe) => void (probe.seq === 3 && controller.abort()) },
  );
  assertEquals([summary.sent, summary.echoed], [3, 3]);
  await assertRejects(
    () => runPing({ signal: controller.signal }),
    DOMException,
  );
});

Deno.test("runPing() ends with the error of a hook that throws", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  await assertRejects(
    () =>
      runPing(
        { hostname: "127.0.0.1", port: server.addrs[0]!.port, interval: 10 },
        {
          onProbe: () => {
            throw new TypeError("Hook failed");
          },
        },
      ),
    TypeError,
    "Hook failed",
  );
});

Deno.test("runPing() checks its options", async (t) => {
  const cases: [
    string,
    Parameters<typeof runPing>[0],
    ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor,
  ][] = [
    ["size too small", { size: 11 }, RangeError],
    ["UDP size too large", { transport: "udp", size: 65508 }, RangeError],
    ["interval 0", { interval: 0 }, RangeError],
    ["count negative", { count: -1 }, RangeError],
    ["UDP through a proxy", {
      transport: "udp",
      proxy: "socks5://127.0.0.1:1080",
    }, TypeError],
    [
      "UDP with newConnection",
      { transport: "udp", newConnection: true },
      TypeError,
    ],
    ["unix without a path", { transport: "unix" }, TypeError],
  ];
  for (const [what, options, ErrorClass] of cases) {
    await t.step(what, async () => {
      await assertRejects(() => runPing(options), ErrorClass);
    });
  }
});

Deno.test("runPing() works over IPv6, on one connection, a new one each, and UDP", async () => {
  await using server = await serve({
    listen: ["tcp://[::1]:0", "udp://[::1]:0"],
  });
  const tcp = server.listeners.find((l) => l.transport === "tcp")!;
  const udp = server.listeners.find((l) => l.transport === "udp")!;
  for (
    const options of [
      { port: (tcp.addr as Deno.NetAddr).port },
      { port: (tcp.addr as Deno.NetAddr).port, newConnection: true },
      { port: (udp.addr as Deno.NetAddr).port, transport: "udp" as const },
    ]
  ) {
    const { probes, hooks } = recorder();
    const summary = await runPing(
      { hostname: "::1", count: 2, interval: 10, ...options },
      hooks,
    );
    assertEquals(summary.echoed, 2, JSON.stringify(options));
    assertEquals(probes[0]!.from, `[::1]:${options.port}`);
  }
});
