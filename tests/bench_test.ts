// Copyright the deno-echo authors. MIT license.

// The load generator: runBench() against in-process servers (a real one and
// scripted misbehaving ones), the histogram it measures with, and
// `echo-client bench` as a real process.

import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Histogram, runBench } from "../client.ts";
import { serve } from "../mod.ts";
import { fairness } from "../src/bench.ts";
import { payloadKey, payloadTable } from "../src/bench_payload.ts";
import { runClient } from "./_cli.ts";
import { mulberry32 } from "./_util.ts";

/** A TCP server on 127.0.0.1:0 that runs `handle` on each connection. */
interface ScriptedServer extends AsyncDisposable {
  readonly port: number;
}

function scriptedServer(
  handle: (conn: Deno.TcpConn) => Promise<void>,
): ScriptedServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return; // Closed.
      }
      tasks.push(
        handle(conn).catch(() => {}).finally(() => {
          try {
            conn.close();
          } catch {
            // Closed by the handler.
          }
        }),
      );
    }
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose](): Promise<void> {
      listener.close();
      await accepting;
      await Promise.all(tasks);
    },
  };
}

/** Echoes, but writes `edit(offset, chunk)` of each chunk read. */
function echoing(
  edit: (offset: number, chunk: Uint8Array) => void = () => {},
): (conn: Deno.TcpConn) => Promise<void> {
  return async (conn) => {
    const buffer = new Uint8Array(4096);
    let offset = 0;
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      const chunk = buffer.subarray(0, n);
      edit(offset, chunk);
      offset += n;
      for (let done = 0; done < n;) {
        done += await conn.write(chunk.subarray(done));
      }
    }
  };
}

const NO_ERRORS = {
  mismatches: 0,
  closedEarly: 0,
  resets: 0,
  timeouts: 0,
  overruns: 0,
  other: 0,
};

Deno.test("runBench() completes the messages asked for with no errors", async (t) => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const port = server.addrs[0]!.port;
  const cases = [
    { name: "pipeline 1", connections: 3, size: 64, pipeline: 1 },
    { name: "pipeline 8", connections: 3, size: 64, pipeline: 8 },
    {
      name: "messages larger than the payload period",
      connections: 2,
      size: 100_000,
      pipeline: 2,
    },
    {
      name: "open loop at a fixed rate",
      connections: 4,
      size: 128,
      rate: 4000,
    },
  ];
  for (const { name, ...load } of cases) {
    await t.step(name, async () => {
      const messages = 101;
      const result = await runBench({
        hostname: "127.0.0.1",
        port,
        messages,
        ...load,
      });
      deepEqual(result.errors, NO_ERRORS);
      equal(result.firstError, null);
      equal(result.sent, messages);
      equal(result.roundTrips, messages);
      equal(result.latency.count, messages);
      equal(result.bytesSent, messages * load.size);
      equal(result.bytesReceived, messages * load.size);
      // 101 shared out among the connections as evenly as can be.
      const each = Math.floor(messages / load.connections);
      equal(result.perConnection.length, load.connections);
      ok(result.perConnection.every((n) => n === each || n === each + 1));
      equal(result.perConnection.reduce((a, b) => a + b), messages);
      ok(result.fairness > 0.99 && result.minShare > 0.9);
      ok(result.elapsed > 0 && result.roundTripsPerSecond > 0);
      ok(result.latency.min > 0, "every round trip takes some time");
      equal(result.address.hostname, "127.0.0.1");
      equal(result.address.port, port);
    });
  }
});

Deno.test("runBench() measures for a duration, after a warm-up", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const phases = new Set<string>();
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.addrs[0]!.port,
    connections: 2,
    warmup: 300,
    duration: 1200,
    onProgress: (progress) => phases.add(progress.phase),
  });
  deepEqual(result.errors, NO_ERRORS);
  ok(result.roundTrips > 0);
  equal(result.roundTrips, result.sent);
  equal(result.warmup, 300);
  // Sending stops after the duration; the echoes in flight then come back.
  ok(
    result.elapsed >= 1100 && result.elapsed < 1200 + 1000,
    `${result.elapsed}`,
  );
  ok(phases.has("measure"), [...phases].join());
});

Deno.test("runBench() reports an echo that differs from what was sent", async () => {
  // Flips the 1001st byte of every connection's stream.
  await using server = scriptedServer(echoing((offset, chunk) => {
    const at = 1000 - offset;
    if (at >= 0 && at < chunk.length) chunk[at]! ^= 0x20;
  }));
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.port,
    connections: 1,
    messages: 100,
  });
  equal(result.errors.mismatches, 1);
  match(
    result.firstError ?? "",
    /^connection 1: echoed byte 1000 is 0x[0-9a-f]{2}, sent 0x[0-9a-f]{2}$/,
  );
  // Only the messages wholly before the bad byte count.
  ok(result.roundTrips <= Math.floor(1000 / 64), `${result.roundTrips}`);
});

Deno.test("runBench() catches echoes delivered to the wrong connection", () => {
  // Two connections' streams differ everywhere that matters: where one
  // connection's bytes would be taken for another's, they differ.
  const table = payloadTable(1);
  const a = payloadKey(0);
  const b = payloadKey(1);
  ok(a !== b);
  const differing = Array.from(
    { length: 1000 },
    (_, i) => table[a + i] !== table[b + i],
  ).filter(Boolean).length;
  ok(differing > 950, `${differing}`);
  ok(!table.includes(0x0a), "no newline: the payload never says the quit word");
});

Deno.test("runBench() reports a server that closes before echoing everything", async () => {
  // Echoes 640 bytes (10 messages), then sends end-of-stream.
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(4096);
    for (let echoed = 0; echoed < 640;) {
      const n = await conn.read(buffer.subarray(0, 640 - echoed));
      if (n === null) return;
      for (let done = 0; done < n;) {
        done += await conn.write(buffer.subarray(done, n));
      }
      echoed += n;
    }
    await conn.closeWrite();
    while (await conn.read(buffer) !== null) {
      // Discard the rest, so that the close is not a reset.
    }
  });
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.port,
    connections: 1,
    messages: 50,
  });
  equal(result.errors.closedEarly, 1);
  equal(result.roundTrips, 10);
  match(result.firstError ?? "", /closed the connection/);
});

Deno.test("runBench() gives up on a connection whose echoes stop", async () => {
  // Reads everything and echoes nothing.
  await using server = scriptedServer(async (conn) => {
    const buffer = new Uint8Array(4096);
    while (await conn.read(buffer) !== null) {
      // Swallow.
    }
  });
  const result = await runBench({
    hostname: "127.0.0.1",
    port: server.port,
    connections: 2,
    messages: 10,
    timeout: 200,
  });
  equal(result.errors.timeouts, 2);
  equal(result.roundTrips, 0);
  match(result.firstError ?? "", /no echo for [0-9]+ ms/);
});

Deno.test("runBench() stops and rejects when its signal aborts", async (t) => {
  await t.step("while connecting", async () => {
    const controller = new AbortController();
    await using server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      onOpen: () => controller.abort(new Error("stop")),
    });
    await rejects(
      runBench({
        hostname: "127.0.0.1",
        port: server.addrs[0]!.port,
        connections: 20,
        duration: 60_000,
        signal: controller.signal,
      }),
      { message: "stop" },
    );
  });
  await t.step("under load", async () => {
    const controller = new AbortController();
    // Aborts as soon as the first bytes of load arrive.
    await using server = scriptedServer(echoing((offset) => {
      if (offset === 0) controller.abort(new Error("stop"));
    }));
    await rejects(
      runBench({
        hostname: "127.0.0.1",
        port: server.port,
        connections: 4,
        pipeline: 4,
        duration: 60_000,
        signal: controller.signal,
      }),
      { message: "stop" },
    );
  });
  await t.step("before it starts", async () => {
    await rejects(
      runBench({ port: 1, signal: AbortSignal.abort(new Error("early")) }),
      { message: "early" },
    );
  });
});

Deno.test("runBench() checks its options", async () => {
  for (
    const options of [
      { connections: 0 },
      { size: 1.5 },
      { pipeline: -1 },
      { rate: -5 },
      { duration: NaN },
      { pipeline: 2 ** 21 },
      { connections: 10, messages: 5 },
    ]
  ) {
    await rejects(runBench({ port: 1, ...options }), RangeError);
  }
});

Deno.test("Histogram percentiles are within the bucket error of exact ones", async (t) => {
  // A seeded generator keeps failures reproducible.
  const random = mulberry32(12345);
  const distributions: [string, () => number][] = [
    [
      "log-uniform over 1 ns to 10 s",
      () => Math.exp(random() * Math.log(1e10)),
    ],
    ["uniform over 0 to 1000", () => random() * 1000],
    [
      "loopback-like, with a long tail",
      () => 20_000 + 10_000 * random() + (random() < 0.01 ? 5e6 * random() : 0),
    ],
  ];
  for (const [name, sample] of distributions) {
    await t.step(name, () => {
      const histogram = new Histogram();
      const values: number[] = [];
      for (let i = 0; i < 50_000; i++) {
        const value = sample();
        values.push(value);
        histogram.record(value);
      }
      values.sort((a, b) => a - b);
      equal(histogram.count, values.length);
      equal(histogram.min, values[0]);
      equal(histogram.max, values.at(-1));
      const mean = values.reduce((a, b) => a + b) / values.length;
      ok(Math.abs(histogram.mean - mean) <= mean * 1e-9);
      for (const p of [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100]) {
        const rank = Math.max(1, Math.ceil((p / 100) * values.length));
        const exact = values[rank - 1]!;
        const got = histogram.percentile(p);
        // Values are floored to whole units before bucketing: allow one unit.
        const bound = exact * Histogram.RELATIVE_ERROR + 1;
        ok(
          Math.abs(got - exact) <= bound,
          `p${p}: got ${got}, exact ${exact}, bound ${bound}`,
        );
      }
    });
  }
  await t.step("small whole numbers are exact", () => {
    const histogram = new Histogram();
    for (let v = 0; v < 128; v++) histogram.record(v, 2);
    equal(histogram.count, 256);
    equal(histogram.percentile(50), 63);
    deepEqual([...histogram.buckets()][5], [5, 6, 2]);
  });
  await t.step("empty, add and reset", () => {
    const a = new Histogram();
    ok(Number.isNaN(a.percentile(50)) && Number.isNaN(a.min));
    const b = new Histogram();
    b.record(1000);
    b.record(3000);
    a.record(2000);
    a.add(b);
    equal(a.count, 3);
    equal(a.min, 1000);
    equal(a.max, 3000);
    equal(a.mean, 2000);
    a.reset();
    equal(a.count, 0);
  });
});

Deno.test("fairness() is Jain's index and the least share of the mean", () => {
  deepEqual(fairness([5, 5, 5, 5]), { index: 1, minShare: 1 });
  deepEqual(fairness([10, 0, 0, 0]), { index: 0.25, minShare: 0 });
  const { index, minShare } = fairness([1, 2, 3]);
  ok(Math.abs(index - 36 / 42) < 1e-12);
  equal(minShare, 0.5);
  deepEqual(fairness([0, 0]), { index: 0, minShare: 0 });
});

Deno.test("echo-client bench --json prints one object with the documented fields", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const port = server.addrs[0]!.port;
  const result = await runClient([
    "bench",
    `127.0.0.1:${port}`,
    "-c",
    "2",
    "-n",
    "200",
    "-s",
    "1K",
    "-p",
    "4",
    "--json",
  ]);
  equal(result.code, 0, result.stderr);
  equal(result.stderr, "");
  equal(result.stdout.trimEnd().split("\n").length, 1);
  const json = JSON.parse(result.stdout);
  deepEqual(Object.keys(json), [
    "target",
    "connections",
    "size",
    "pipeline",
    "rate",
    "warmupMs",
    "elapsedMs",
    "sent",
    "roundTrips",
    "roundTripsPerSecond",
    "bytesSent",
    "bytesReceived",
    "sentMBps",
    "receivedMBps",
    "latencyUs",
    "fairness",
    "minShare",
    "errors",
    "firstError",
    "perConnection",
  ]);
  equal(json.target, `127.0.0.1:${port}`);
  equal(json.connections, 2);
  equal(json.size, 1024);
  equal(json.pipeline, 4);
  equal(json.rate, 0);
  equal(json.warmupMs, 0);
  equal(json.roundTrips, 200);
  equal(json.bytesReceived, 200 * 1024);
  deepEqual(json.perConnection, [100, 100]);
  deepEqual(Object.keys(json.latencyUs), [
    "min",
    "mean",
    "p50",
    "p90",
    "p99",
    "p999",
    "max",
  ]);
  const { min, p50, p99, max } = json.latencyUs;
  ok(0 < min && min <= p50 && p50 <= p99 && p99 <= max, result.stdout);
  deepEqual(json.errors, { total: 0, ...NO_ERRORS });
  equal(json.firstError, null);
});

Deno.test("echo-client bench prints a report and a histogram", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const result = await runClient([
    "bench",
    "127.0.0.1",
    String(server.addrs[0]!.port),
    "-n",
    "300",
    "-r",
    "3000",
  ]);
  equal(result.code, 0, result.stderr);
  // Not a terminal: no progress line.
  equal(result.stderr, "");
  for (
    const label of [
      "Target",
      "Load",
      "Round trips",
      "Sent",
      "Received",
      "Latency",
      "Fairness",
      "Errors",
    ]
  ) {
    match(result.stdout, new RegExp(`^${label} +\\S`, "m"));
  }
  match(result.stdout, /open loop/);
  match(result.stdout, /^Errors +0$/m);
  match(result.stdout, /^Latency histogram \(log scale\)$/m);
  match(result.stdout, /\|#+ *\| +[0-9,]+ +[0-9.]+%$/m);
});

Deno.test("echo-client bench exits 9 when an echo differs", async () => {
  await using server = scriptedServer(echoing((offset, chunk) => {
    if (offset === 0) chunk[0]! ^= 1;
  }));
  const result = await runClient([
    "bench",
    `127.0.0.1:${server.port}`,
    "-c",
    "1",
    "-n",
    "5",
    "--json",
  ]);
  equal(result.code, 9, result.stderr);
  equal(JSON.parse(result.stdout).errors.mismatches, 1);
  match(result.stderr, /^echo-client bench: connection 1: echoed byte 0 is/);
});

Deno.test("echo-client bench exits 2 on a bad command line", async (t) => {
  for (
    const [args, message] of [
      [["--bogus"], /Unknown option --bogus/],
      [["-c", "0"], /Invalid --connections "0"/],
      [["-s", "1X"], /Invalid --size "1X"/],
      [["-d", "1s", "-n", "5"], /--duration or --messages, not both/],
      [["-d", "0"], /Invalid --duration "0"/],
      [["-p", "9999999"], /Invalid --pipeline "9999999": at most/],
      [["-c", "10", "-n", "5"], /fewer than the 10 connections/],
      [["localhost:1", "2"], /Give the port once/],
      [["a", "b", "c"], /Too many arguments/],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const result = await runClient(["bench", ...args]);
      equal(result.code, 2);
      equal(result.stdout, "");
      match(result.stderr, message);
      match(result.stderr, /Try 'echo-client bench --help'/);
    });
  }
  await t.step("--help", async () => {
    const result = await runClient(["bench", "--help"]);
    equal(result.code, 0);
    match(result.stdout, /^Usage: echo-client bench /);
    match(result.stdout, /--connections N/);
  });
});
