// Copyright the deno-echo authors. MIT license.

// serveMetrics(): what each request is answered, over real HTTP.

import { assertEquals, assertThrows } from "@std/assert";
import {
  METRICS_CONTENT_TYPE,
  type MetricsSource,
  serveMetrics,
  serveMetricsOn,
} from "../../src/metrics/metrics_server.ts";
import { Registry } from "../../src/metrics/registry.ts";

function registry(): Registry {
  const r = new Registry();
  r.counter({ name: "scrapes_total", help: "Scrapes." }).series({}).value = 3;
  return r;
}

async function request(
  addr: Deno.NetAddr,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(`http://127.0.0.1:${addr.port}${path}`, init);
  return {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  };
}

Deno.test("serveMetrics() answers GET /metrics with the exposition", async () => {
  await using server = serveMetrics({ port: 0, metrics: registry() });
  assertEquals(server.addr.hostname, "127.0.0.1");
  const got = await request(server.addr, "/metrics");
  assertEquals(got.status, 200);
  assertEquals(got.headers.get("content-type"), METRICS_CONTENT_TYPE);
  assertEquals(
    got.body,
    "# HELP scrapes_total Scrapes.\n# TYPE scrapes_total counter\nscrapes_total 3\n",
  );
});

Deno.test("serveMetrics() reads the metrics on every scrape", async () => {
  let n = 0;
  const metrics: MetricsSource = { expose: () => `n ${++n}\n` };
  await using server = serveMetrics({ port: 0, metrics });
  assertEquals((await request(server.addr, "/metrics")).body, "n 1\n");
  assertEquals((await request(server.addr, "/metrics")).body, "n 2\n");
});

Deno.test("serveMetrics() answers /healthz, other paths and other methods", async (t) => {
  await using server = serveMetrics({ port: 0, metrics: registry() });
  await t.step("GET /healthz is 200 ok", async () => {
    const got = await request(server.addr, "/healthz");
    assertEquals([got.status, got.body], [200, "ok\n"]);
  });
  await t.step("a query string does not change the path", async () => {
    const got = await request(server.addr, "/healthz?probe=1");
    assertEquals([got.status, got.body], [200, "ok\n"]);
  });
  await t.step("any other path is 404", async () => {
    for (const path of ["/", "/metrics/", "/Metrics", "/favicon.ico"]) {
      const got = await request(server.addr, path);
      assertEquals([got.status, got.body], [404, "not found\n"], path);
    }
  });
  await t.step("HEAD is answered without a body", async () => {
    const got = await request(server.addr, "/metrics", { method: "HEAD" });
    assertEquals(got.status, 200);
    assertEquals(got.headers.get("content-type"), METRICS_CONTENT_TYPE);
    assertEquals(got.body, "");
  });
  await t.step(
    "POST, PUT and DELETE are 405, saying what is allowed",
    async () => {
      for (const method of ["POST", "PUT", "DELETE"]) {
        const got = await request(server.addr, "/metrics", {
          method,
          body: method === "DELETE" ? null : "x".repeat(1000),
        });
        assertEquals([got.status, got.body], [405, "method not allowed\n"]);
        assertEquals(got.headers.get("allow"), "GET, HEAD");
      }
    },
  );
});

Deno.test("serveMetrics() answers 500 when the metrics cannot be read, and goes on", async () => {
  let fail = true;
  const metrics: MetricsSource = {
    expose: () => {
      if (fail) throw new Error("broken getter");
      return "fine 1\n";
    },
  };
  await using server = serveMetrics({ port: 0, metrics });
  const got = await request(server.addr, "/metrics");
  assertEquals([got.status, got.body], [500, "cannot read the metrics\n"]);
  fail = false;
  assertEquals((await request(server.addr, "/metrics")).body, "fine 1\n");
});

Deno.test("serveMetrics() stops when its signal aborts, and on shutdown()", async (t) => {
  await t.step("signal", async () => {
    const controller = new AbortController();
    const server = serveMetrics({
      port: 0,
      metrics: registry(),
      signal: controller.signal,
    });
    assertEquals((await request(server.addr, "/healthz")).status, 200);
    controller.abort();
    await server.finished;
    await assertRefused(server.addr);
  });
  await t.step("shutdown()", async () => {
    const server = serveMetrics({ port: 0, metrics: registry() });
    await server.shutdown();
    await server.finished;
    await assertRefused(server.addr);
  });
});

Deno.test("serveMetrics() throws when it cannot listen", () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  assertThrows(
    () => serveMetrics({ port: taken.addr.port, metrics: registry() }),
    Deno.errors.AddrInUse,
  );
});

async function assertRefused(addr: Deno.NetAddr): Promise<void> {
  try {
    const conn = await Deno.connect({
      hostname: addr.hostname,
      port: addr.port,
    });
    conn.close();
    throw new Error("the metrics server still accepts connections");
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
  }
}

Deno.test("serveMetricsOn() tells onAcceptError of a failed accept and goes on serving", async () => {
  const real = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let failures = 1;
  // A listener whose first accept fails as when descriptors run out.
  const listener = new Proxy(real, {
    get(target, key): unknown {
      if (key === "accept") {
        return () =>
          failures-- > 0
            ? Promise.reject(new Error("Too many open files (os error 24)"))
            : target.accept();
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const seen: string[] = [];
  await using server = serveMetricsOn(listener, {
    metrics: registry(),
    onAcceptError: (error) => {
      seen.push(error.message);
      throw new Error("a hook that throws");
    },
  });
  const got = await request(server.addr, "/healthz");
  assertEquals(got.status, 200);
  assertEquals(seen, ["Too many open files (os error 24)"]);
});
