// Copyright the deno-echo authors. MIT license.

// serveMetrics() over raw HTTP/1.1: keep-alive and close, HEAD, pipelined
// requests, and the requests it refuses because of their size or framing.

import { assertEquals } from "@std/assert";
import {
  METRICS_CONTENT_TYPE,
  serveMetrics,
} from "../../src/metrics/metrics_server.ts";
import { within } from "../_helpers/util.ts";
import { RawClient } from "./_http.ts";

const EXPOSITION = "# TYPE up gauge\nup 1\n";
const metrics = { expose: () => EXPOSITION };

Deno.test("serveMetrics() keeps a connection for several requests, in order", async () => {
  await using server = serveMetrics({ port: 0, metrics });
  using client = await RawClient.connect(server.addr);
  await client.request("GET", "/metrics");
  const first = await client.answer();
  assertEquals(first.status, 200);
  assertEquals(first.headers.get("content-type"), METRICS_CONTENT_TYPE);
  assertEquals(first.headers.get("cache-control"), "no-store");
  assertEquals(first.headers.get("content-length"), `${EXPOSITION.length}`);
  assertEquals(first.headers.has("connection"), false);
  assertEquals(first.body, EXPOSITION);
  // Three pipelined in one write, answered in order.
  await client.send(
    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const got = [];
  for (let i = 0; i < 3; i++) {
    const { status, body } = await client.answer();
    got.push([status, body]);
  }
  assertEquals(got, [[200, "ok\n"], [404, "not found\n"], [200, EXPOSITION]]);
});

Deno.test("serveMetrics() answers HEAD with the length of GET and no body", async () => {
  await using server = serveMetrics({ port: 0, metrics });
  using client = await RawClient.connect(server.addr);
  await client.request("HEAD", "/metrics");
  const head = await client.answer(true);
  assertEquals(head.status, 200);
  assertEquals(head.headers.get("content-length"), `${EXPOSITION.length}`);
  // Nothing follows the head: the next answer starts right after it.
  await client.request("GET", "/healthz");
  assertEquals((await client.answer()).body, "ok\n");
});

Deno.test("serveMetrics() closes the connection when the client asks", async (t) => {
  await using server = serveMetrics({ port: 0, metrics });
  const cases: [string, string][] = [
    ["HTTP/1.1 with Connection: close", "Connection: close\r\n"],
    ["HTTP/1.0", ""],
  ];
  for (const [name, header] of cases) {
    await t.step(name, async () => {
      using client = await RawClient.connect(server.addr);
      const version = name === "HTTP/1.0" ? "1.0" : "1.1";
      await client.send(`GET /healthz HTTP/${version}\r\n${header}\r\n`);
      const answer = await client.answer();
      assertEquals([answer.status, answer.body], [200, "ok\n"]);
      assertEquals(answer.headers.get("connection"), "close");
      assertEquals(await within(client.closed(), 2000, "closed"), "");
    });
  }
  await t.step("HTTP/1.0 with Connection: keep-alive stays", async () => {
    using client = await RawClient.connect(server.addr);
    for (let i = 0; i < 2; i++) {
      await client.send(
        "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      );
      assertEquals((await client.answer()).body, "ok\n");
    }
  });
});

Deno.test("serveMetrics() reads a small body and goes on", async () => {
  await using server = serveMetrics({ port: 0, metrics });
  using client = await RawClient.connect(server.addr);
  await client.send(
    `POST /metrics HTTP/1.1\r\nContent-Length: 1000\r\n\r\n${"x".repeat(1000)}`,
  );
  const refused = await client.answer();
  assertEquals([refused.status, refused.body], [405, "method not allowed\n"]);
  assertEquals(refused.headers.get("allow"), "GET, HEAD");
  await client.request("GET", "/metrics");
  assertEquals((await client.answer()).body, EXPOSITION);
});

Deno.test("serveMetrics() refuses requests it will not read, and closes", async (t) => {
  await using server = serveMetrics({ port: 0, metrics });
  const cases: [string, string, number][] = [
    [
      "a head over 8 KiB",
      `GET /metrics HTTP/1.1\r\nX-Big: ${"a".repeat(9000)}\r\n\r\n`,
      431,
    ],
    [
      "a body over 64 KiB",
      "POST /metrics HTTP/1.1\r\nContent-Length: 1000000\r\n\r\nabc",
      413,
    ],
    [
      "a chunked body",
      "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc",
      411,
    ],
    ["two lengths", "GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", 400],
    ["a malformed request line", "GET /metrics\r\n\r\n", 400],
    ["a malformed header", "GET /metrics HTTP/1.1\r\nNo colon\r\n\r\n", 400],
    ["HTTP/2", "GET /metrics HTTP/2.0\r\n\r\n", 505],
  ];
  for (const [name, request, status] of cases) {
    await t.step(name, async () => {
      using client = await RawClient.connect(server.addr);
      await client.send(request);
      const answer = await client.answer();
      assertEquals(answer.status, status);
      assertEquals(answer.headers.get("connection"), "close");
      assertEquals(await within(client.closed(), 3000, "closed"), "");
    });
  }
});
