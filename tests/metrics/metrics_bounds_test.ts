// Copyright the deno-echo authors. MIT license.

// serveMetrics() shares the echo server's process: no client can hold its
// shutdown, open more than a few connections, keep one for long, or stop
// its accept loop with an error.

import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  METRICS_SHUTDOWN_GRACE,
  type MetricsSource,
  serveMetrics,
  serveMetricsOn,
} from "../../src/metrics/metrics_server.ts";
import { within } from "../_helpers/util.ts";
import { RawClient } from "./_http.ts";

const metrics: MetricsSource = { expose: () => "up 1\n" };

/** Bound on a shutdown: the grace, and a margin for a loaded machine. */
const SHUTDOWN_BOUND = METRICS_SHUTDOWN_GRACE + 1500;

Deno.test("serveMetrics() shutdown is not held by a request that never finishes", async (t) => {
  const cases: [string, string, MetricsSource?][] = [
    [
      "a body shorter than its content-length",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc",
    ],
    ["a head never ended", "GET /metrics HTTP/1.1\r\nHost: x\r\n"],
    ["nothing sent", ""],
    [
      "an answer never read",
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
      // Far more than the socket buffers hold: the write waits on the peer.
      { expose: () => "big 1\n".repeat(8 << 20) },
    ],
  ];
  for (const [name, request, source] of cases) {
    await t.step(name, async () => {
      const server = serveMetrics({ port: 0, metrics: source ?? metrics });
      using client = await RawClient.connect(server.addr);
      await client.send(request);
      if (source !== undefined) {
        // The answer has begun: its first bytes are here.
        const first = new Uint8Array(15);
        assert(await client.conn.read(first) !== null);
      } else {
        // Accepted and waiting: a second connection is answered meanwhile.
        using other = await RawClient.connect(server.addr);
        await other.request("GET", "/healthz");
        assertEquals((await other.answer()).status, 200);
      }
      try {
        await within(server.shutdown(), SHUTDOWN_BOUND, "shutdown()");
      } finally {
        client[Symbol.dispose]();
        await server.finished;
      }
    });
  }
});

Deno.test("serveMetrics() close() closes every connection at once", async () => {
  const big: MetricsSource = { expose: () => "big 1\n".repeat(8 << 20) };
  const server = serveMetrics({ port: 0, metrics: big });
  using client = await RawClient.connect(server.addr);
  await client.request("GET", "/metrics");
  assert(await client.conn.read(new Uint8Array(15)) !== null);
  const started = performance.now();
  await within(server.close(), SHUTDOWN_BOUND, "close()");
  assert(performance.now() - started < METRICS_SHUTDOWN_GRACE);
});

Deno.test("serveMetrics() keeps at most maxConnections open and closes the rest at once", async () => {
  await using server = serveMetrics({
    port: 0,
    metrics,
    maxConnections: 2,
    requestTimeout: 30_000,
  });
  using a = await RawClient.connect(server.addr);
  using b = await RawClient.connect(server.addr);
  for (const client of [a, b]) {
    await client.request("GET", "/healthz");
    assertEquals((await client.answer()).status, 200);
  }
  for (let i = 0; i < 5; i++) {
    using extra = await RawClient.connect(server.addr);
    await extra.request("GET", "/metrics").catch(() => {});
    // Closed unanswered, well before any timeout.
    assertEquals(await within(extra.closed(), 2000, "closed"), "");
  }
  // The two open still scrape.
  for (const client of [a, b]) {
    await client.request("GET", "/metrics");
    const answer = await client.answer();
    assertEquals([answer.status, answer.body], [200, "up 1\n"]);
  }
  // Once one leaves, a newcomer is served.
  a[Symbol.dispose]();
  assertEquals(await scrapeSoon(server.addr), "up 1\n");
});

/**
 * Scrapes with a new connection, trying again (20 times at most, 50 ms
 * apart) while the server has not yet seen a departed one go.
 */
async function scrapeSoon(addr: Deno.NetAddr): Promise<string> {
  for (let attempt = 0;; attempt++) {
    using client = await RawClient.connect(addr);
    try {
      await client.request("GET", "/metrics");
      return (await client.answer()).body;
    } catch (error) {
      if (attempt === 20) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("serveMetrics() closes a connection that takes longer than requestTimeout", async (t) => {
  const requestTimeout = 300;
  await using server = serveMetrics({ port: 0, metrics, requestTimeout });
  const cases: [string, (client: RawClient) => Promise<void>][] = [
    ["silent from the start", async () => {}],
    ["a head sent in part", (c) => c.send("GET /metrics HTTP/1.1\r\nHo")],
    ["idle after an answer", async (c) => {
      await c.request("GET", "/healthz");
      assertEquals((await c.answer()).body, "ok\n");
    }],
  ];
  for (const [name, act] of cases) {
    await t.step(name, async () => {
      using client = await RawClient.connect(server.addr);
      await act(client);
      const started = performance.now();
      assertEquals(await within(client.closed(), 3000, "closed"), "");
      assert(performance.now() - started > requestTimeout / 2);
    });
  }
  // And the slots they held are free again.
  assertEquals(await scrapeSoon(server.addr), "up 1\n");
});

/** A listener whose accept() throws the errors given before it accepts. */
class FlakyListener implements Deno.Listener<Deno.TcpConn, Deno.NetAddr> {
  readonly #inner: Deno.TcpListener;
  readonly #errors: Error[];
  accepts = 0;

  constructor(errors: Error[]) {
    this.#inner = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#errors = errors;
  }

  get addr(): Deno.NetAddr {
    return this.#inner.addr;
  }

  accept(): Promise<Deno.TcpConn> {
    this.accepts++;
    const error = this.#errors.shift();
    return error === undefined ? this.#inner.accept() : Promise.reject(error);
  }

  close(): void {
    this.#inner.close();
  }

  ref(): void {
    this.#inner.ref();
  }

  unref(): void {
    this.#inner.unref();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Deno.TcpConn> {
    return this.#inner[Symbol.asyncIterator]();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

Deno.test("serveMetricsOn() waits out errors accepting and goes on serving", async () => {
  const emfile = (): Error => new Error("Too many open files (os error 24)");
  const listener = new FlakyListener([
    emfile(),
    emfile(),
    new Deno.errors.ConnectionReset("reset before accept"),
    new TypeError("something unforeseen"),
    emfile(),
  ]);
  await using server = serveMetricsOn(listener, { metrics });
  using client = await RawClient.connect(server.addr);
  await client.request("GET", "/metrics");
  const answer = await within(client.answer(), 5000, "the answer");
  assertEquals([answer.status, answer.body], [200, "up 1\n"]);
  // Five errors, one connection, and the accept waiting for the next.
  assertEquals(listener.accepts, 7);
});

Deno.test("serveMetrics() rejects bounds that are not positive", () => {
  for (const maxConnections of [0, -1, 1.5, NaN]) {
    assertThrows(
      () => serveMetrics({ port: 0, metrics, maxConnections }),
      RangeError,
      "maxConnections",
    );
  }
  for (const requestTimeout of [0, -5, NaN, Infinity]) {
    assertThrows(
      () => serveMetrics({ port: 0, metrics, requestTimeout }),
      RangeError,
      "requestTimeout",
    );
  }
});
