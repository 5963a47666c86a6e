// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { serveUdp, type UdpActivityInfo, udpEcho } from "../../mod.ts";
import { UdpActivity } from "../../src/udp/udp_activity.ts";
import { udpActivityLine } from "../../src/cli/server_log.ts";

const TO: Deno.NetAddr = { transport: "udp", hostname: "0.0.0.0", port: 7 };

function from(hostname: string, port = 5000): Deno.NetAddr {
  return { transport: "udp", hostname, port };
}

/** A tracker whose reports are collected, with no real time involved. */
function tracker(
  interval: number,
  maxSources = 100,
): { activity: UdpActivity; reports: UdpActivityInfo[] } & Disposable {
  const reports: UdpActivityInfo[] = [];
  const activity = new UdpActivity({
    interval,
    maxSources,
    report: (info) => reports.push(info),
  });
  return { activity, reports, [Symbol.dispose]: () => activity.close() };
}

Deno.test("UdpActivity reports a source's first datagram at once and the next ones together, once an interval", () => {
  using t = tracker(10_000);
  const { activity, reports } = t;
  activity.echoed({ remoteAddr: from("192.0.2.1"), localAddr: TO, size: 4 }, 0);
  assertEquals(reports.length, 1);
  assertEquals(reports[0], {
    remoteAddr: from("192.0.2.1"),
    localAddr: TO,
    datagrams: 1,
    bytes: 4,
    durationMs: 0,
  });
  for (const at of [1000, 2000, 4500]) {
    activity.echoed(
      { remoteAddr: from("192.0.2.1", 5001), localAddr: TO, size: 10 },
      at,
    );
  }
  activity.sweep(2500);
  activity.sweep(9999);
  assertEquals(reports.length, 1, "not before an interval has passed");
  activity.sweep(10_000);
  assertEquals(reports.slice(1), [{
    remoteAddr: from("192.0.2.1", 5001),
    localAddr: TO,
    datagrams: 3,
    bytes: 30,
    durationMs: 3500,
  }]);
  // Quiet for a whole interval after its last report: forgotten, and its
  // next datagram is reported at once.
  activity.sweep(15_000);
  assertEquals(activity.size, 1);
  activity.sweep(20_000);
  assertEquals(activity.size, 0);
  activity.echoed(
    { remoteAddr: from("192.0.2.1"), localAddr: TO, size: 1 },
    20_001,
  );
  assertEquals(reports.length, 3);
  assertEquals(reports[2]!.datagrams, 1);
});

Deno.test("UdpActivity never reports one source twice within an interval, however busy", () => {
  using t = tracker(10_000);
  const { activity, reports } = t;
  let datagrams = 0;
  for (let now = 0; now <= 60_000; now += 50) {
    activity.echoed(
      { remoteAddr: from("192.0.2.9"), localAddr: TO, size: 1 },
      now,
    );
    datagrams++;
    if (now % 2500 === 0) activity.sweep(now);
  }
  activity.close();
  const total = reports.reduce((sum, r) => sum + r.datagrams, 0);
  assertEquals(total, datagrams, "every datagram is counted once");
  // One at once, then one per interval, and the rest when it closes.
  assert(reports.length <= 8, `${reports.length} reports`);
  assertEquals(reports[0]!.datagrams, 1);
});

Deno.test("UdpActivity tracks a bounded number of sources and keeps them apart", () => {
  using t = tracker(10_000, 3);
  const { activity, reports } = t;
  for (let i = 1; i <= 5; i++) {
    activity.echoed({
      remoteAddr: from(`192.0.2.${i}`),
      localAddr: TO,
      size: 1,
    }, 0);
  }
  assertEquals(activity.size, 3);
  assertEquals(
    reports.map((r) => r.remoteAddr.hostname),
    ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
  );
});

Deno.test("serveUdp() onActivity tells of the first datagram at once and of the next ones after activityInterval", async () => {
  const reports: UdpActivityInfo[] = [];
  let reported: () => void = () => {};
  await using server = await serveUdp({
    hostname: "127.0.0.1",
    port: 0,
    activityInterval: 200,
    onActivity: (info) => {
      reports.push(info);
      reported();
    },
  });
  const addr = server.addrs[0]!;
  const next = (): Promise<void> =>
    new Promise((resolve) => reported = resolve);

  let waiting = next();
  await udpEcho("first", addr);
  await waiting;
  assertEquals(reports.length, 1);
  assertEquals(
    [reports[0]!.remoteAddr.hostname, reports[0]!.datagrams, reports[0]!.bytes],
    ["127.0.0.1", 1, 5],
  );
  assertEquals(reports[0]!.localAddr, addr);

  waiting = next();
  const started = performance.now();
  for (const text of ["a", "bb", "ccc"]) await udpEcho(text, addr);
  await waiting;
  const after = performance.now() - started;
  assertEquals([reports[1]!.datagrams, reports[1]!.bytes], [3, 6]);
  assert(after < 2000, `reported after ${after} ms`);
});

Deno.test("serveUdp() refuses an activityInterval a timer cannot wait", async () => {
  for (const value of [0, NaN, 2 ** 31]) {
    await assertRejects(
      () =>
        serveUdp({ hostname: "127.0.0.1", port: 0, activityInterval: value }),
      RangeError,
      `Invalid activityInterval ${value}`,
    );
  }
});

Deno.test("udpActivityLine() says who, how many and for how long, in correct English", () => {
  const info = (
    hostname: string,
    datagrams: number,
    bytes: number,
    durationMs: number,
  ): UdpActivityInfo => ({
    remoteAddr: from(hostname),
    localAddr: TO,
    datagrams,
    bytes,
    durationMs,
  });
  assertEquals(
    udpActivityLine(info("192.0.2.1", 1, 5, 0)),
    "udp from 192.0.2.1: 1 datagram echoed (5 bytes)",
  );
  assertEquals(
    udpActivityLine(info("2001:db8::1", 3, 1, 1234)),
    "udp from [2001:db8::1]: 3 datagrams echoed in 1.2 s (1 byte)",
  );
});
