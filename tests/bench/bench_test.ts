// Copyright the deno-echo authors. MIT license.

// The load generator: runBench() against in-process servers (a real one and
// scripted misbehaving ones), the histogram it measures with, and
// `echo-client bench` as a real process.

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { Histogram, runBench } from "../../client.ts";
import { serve } from "../../mod.ts";
import { fairness } from "../../src/bench/bench.ts";
import { payloadKey, payloadTable } from "../../src/bench/bench_payload.ts";
import { runClient } from "../_helpers/cli.ts";
import { mulberry32 } from "../_helpers/util.ts";

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
      assertEquals(result.errors, NO_ERRORS);
      assertEquals(result.firstError, null);
      assertEquals(result.sent, messages);
      assertEquals(result.roundTrips, messages);
      assertEquals(result.latency.count, messages);
      assertEquals(result.bytesSent, messages * load.size);
      assertEquals(result.bytesReceived, messages * load.size);
      // 101 shared out among the connections as evenly as can be.
      const each = Math.floor(messages / load.connections);
      assertEquals(result.perConnection.length, load.connections);
      assert(result.perConnection.every((n) => n === each || n === each + 1));
      assertEquals(result.perConnection.reduce((a, b) => a + b), messages);
      assert(result.fairness > 0.99 && result.minShare > 0.9);
      assert(result.elapsed > 0 && result.roundTripsPerSecond > 0);
      assert(result.latency.min > 0, "every round trip takes some time");
      assertEquals(result.address.hostname, "127.0.0.1");
      assertEquals(result.address.port, port);
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
  assertEquals(result.errors, NO_ERRORS);
  assert(result.roundTrips > 0);
  assertEquals(result.roundTrips, result.sent);
  assertEquals(result.warmup, 300);
  // Sending stops after the duration; the echoes in flight then come back.
  assert(
    result.elapsed >= 1100 && result.elapsed < 1200 + 1000,
    `${result.elapsed}`,
  );
  assert(phases.has("measure"), [...phases].join());
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
  assertEquals(result.errors.mismatches, 1);
  assertMatch(
    result.firstError ?? "",
    /^connection 1: echoed byte 1000 is 0x[0-9a-f]{2}, sent 0x[0-9a-f]{2}$/,
  );
  // Only the messages wholly before the bad byte count.
  assert(result.roundTrips <= Math.floor(1000 / 64), `${result.roundTrips}`);
});

Deno.test("runBench() catches echoes delivered to the wrong connection", () => {
  // Two connections' streams differ everywhere that matters: where one
  // connection's bytes would be taken for another's, they differ.
  const table = payloadTable(1);
  const a = payloadKey(0);
  const b = payloadKey(1);
  assert(a !== b);
  const differing = Array.from(
    { length: 1000 },
    (_, i) => table[a + i] !== table[b + i],
  ).filter(Boolean).length;
  assert(differing > 950, `${differing}`);
  assert(
    !table.includes(0x0a),
    "no newline: the payload never says the quit word",
  );
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
  assertEquals(result.errors.closedEarly, 1);
  assertEquals(result.roundTrips, 10);
  assertMatch(result.firstError ?? "", /closed the connection/);
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
  assertEquals(result.errors.timeouts, 2);
  assertEquals(result.roundTrips, 0);
  assertMatch(result.firstError ?? "", /no echo for [0-9]+ ms/);
});

Deno.test("runBench() stops and rejects when its signal aborts", async (t) => {
  await t.step("while connecting", async () => {
    const controller = new AbortController();
    await using server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      onOpen: () => controller.abort(new Error("stop")),
    });
    await assertRejects(
      () =>
        runBench({
          hostname: "127.0.0.1",
          port: server.addrs[0]!.port,
          connections: 20,
          duration: 60_000,
          signal: controller.signal,
        }),
      Error,
      "stop",
    );
  });
  await t.step("under load", async () => {
    const controller = new AbortController();
    // Aborts as soon as the first bytes of load arrive.
    await using server = scriptedServer(echoing((offset) => {
      if (offset === 0) controller.abort(new Error("stop"));
    }));
    await assertRejects(
      () =>
        runBench({
          hostname: "127.0.0.1",
          port: server.port,
          connections: 4,
          pipeline: 4,
          duration: 60_000,
          signal: controller.signal,
        }),
      Error,
      "stop",
    );
  });
  await t.step("before it starts", async () => {
    await assertRejects(
      () =>
        runBench({ port: 1, signal: AbortSignal.abort(new Error("early")) }),
      Error,
      "early",
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
    await assertRejects(() => runBench({ port: 1, ...options }), RangeError);
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
      assertEquals(histogram.count, values.length);
      assertEquals(histogram.min, values[0]);
      assertEquals(histogram.max, values.at(-1));
      const mean = values.reduce((a, b) => a + b) / values.length;
      assert(Math.abs(histogram.mean - mean) <= mean * 1e-9);
      for (const p of [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100]) {
        const rank = Math.max(1, Math.ceil((p / 100) * values.length));
        const exact = values[rank - 1]!;
        const got = histogram.percentile(p);
        // Values are floored to whole units before bucketing: allow one unit.
        const bound = exact * Histogram.RELATIVE_ERROR + 1;
        assert(
          Math.abs(got - exact) <= bound,
          `p${p}: got ${got}, exact ${exact}, bound ${bound}`,
        );
      }
    });
  }
  await t.step("small whole numbers are exact", () => {
    const histogram = new Histogram();
    for (let v = 0; v < 128; v++) histogram.record(v, 2);
    assertEquals(histogram.count, 256);
    assertEquals(histogram.percentile(50), 63);
    assertEquals([...histogram.buckets()][5], [5, 6, 2]);
  });
  await t.step("empty, add and reset", () => {
    const a = new Histogram();
    assert(Number.isNaN(a.percentile(50)) && Number.isNaN(a.min));
    const b = new Histogram();
    b.record(1000);
    b.record(3000);
    a.record(2000);
    a.add(b);
    assertEquals(a.count, 3);
    assertEquals(a.min, 1000);
    assertEquals(a.max, 3000);
    assertEquals(a.mean, 2000);
    a.reset();
    assertEquals(a.count, 0);
  });
});

Deno.test("fairness() is Jain's index and the least share of the mean", () => {
  assertEquals(fairness([5, 5, 5, 5]), { index: 1, minShare: 1 });
  assertEquals(fairness([10, 0, 0, 0]), { index: 0.25, minShare: 0 });
  const { index, minShare } = fairness([1, 2, 3]);
  assert(Math.abs(index - 36 / 42) < 1e-12);
  assertEquals(minShare, 0.5);
  assertEquals(fairness([0, 0]), { index: 0, minShare: 0 });
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
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stderr, "");
  assertEquals(result.stdout.trimEnd().split("\n").length, 1);
  const json = JSON.parse(result.stdout);
  assertEquals(Object.keys(json), [
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
  assertEquals(json.target, `127.0.0.1:${port}`);
  assertEquals(json.connections, 2);
  assertEquals(json.size, 1024);
  assertEquals(json.pipeline, 4);
  assertEquals(json.rate, 0);
  assertEquals(json.warmupMs, 0);
  assertEquals(json.roundTrips, 200);
  assertEquals(json.bytesReceived, 200 * 1024);
  assertEquals(json.perConnection, [100, 100]);
  assertEquals(Object.keys(json.latencyUs), [
    "min",
    "mean",
    "p50",
    "p90",
    "p99",
    "p999",
    "max",
  ]);
  const { min, p50, p99, max } = json.latencyUs;
  assert(0 < min && min <= p50 && p50 <= p99 && p99 <= max, result.stdout);
  assertEquals(json.errors, { total: 0, ...NO_ERRORS });
  assertEquals(json.firstError, null);
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
  assertEquals(result.code, 0, result.stderr);
  // Not a terminal: no progress line.
  assertEquals(result.stderr, "");
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
    assertMatch(result.stdout, new RegExp(`^${label} +\\S`, "m"));
  }
  assertMatch(result.stdout, /open loop/);
  assertMatch(result.stdout, /^Errors +0$/m);
  assertMatch(result.stdout, /^Latency histogram \(log scale\)$/m);
  assertMatch(result.stdout, /\|#+ *\| +[0-9,]+ +[0-9.]+%$/m);
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
  assertEquals(result.code, 9, result.stderr);
  assertEquals(JSON.parse(result.stdout).errors.mismatches, 1);
  assertMatch(
    result.stderr,
    /^echo-client bench: connection 1: echoed byte 0 is/,
  );
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
      assertEquals(result.code, 2);
      assertEquals(result.stdout, "");
      assertMatch(result.stderr, message);
      assertMatch(result.stderr, /Try 'echo-client bench --help'/);
    });
  }
  await t.step("--help", async () => {
    const result = await runClient(["bench", "--help"]);
    assertEquals(result.code, 0);
    assertMatch(result.stdout, /^Usage: echo-client bench /);
    assertMatch(result.stdout, /--connections N/);
  });
});
