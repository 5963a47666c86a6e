// Copyright the deno-echo authors. MIT license.

// dialRoute() through real proxies: tinyproxy for HTTP CONNECT, Dante for
// SOCKS5, each started on loopback with a config the test writes. Ignored
// (and counted so) where a proxy is not installed.

import { assertEquals, assertRejects } from "@std/assert";
import { serve } from "../../mod.ts";
import { dialRoute, type RouteOptions } from "../../src/client/proxy_dial.ts";
import { ProxyError } from "../../src/client/proxy_errors.ts";
import {
  findProgram,
  startDante,
  startTinyproxy,
} from "../_helpers/proxies.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";

const tinyproxy = await findProgram("tinyproxy");
const danted = await findProgram("danted");
const openssl = await findProgram("openssl");

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Dials by the route, echoes one line, returns it and the local address. */
async function echoThrough(
  options: RouteOptions,
): Promise<{ echo: string; local: Deno.NetAddr }> {
  const { conn, timings } = await dialRoute({ timeout: 5000, ...options });
  try {
    if (options.proxy !== undefined && !(timings.proxy! >= 0)) {
      throw new Error("No proxy time");
    }
    await conn.write(encoder.encode("through\n"));
    const buffer = new Uint8Array(8);
    let filled = 0;
    while (filled < 8) {
      const n = await conn.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return {
      echo: decoder.decode(buffer.subarray(0, filled)),
      local: conn.localAddr as Deno.NetAddr,
    };
  } finally {
    conn.close();
  }
}

/** A port nothing listens on. */
function closedPort(hostname: string): number {
  using listener = Deno.listen({ hostname, port: 0 });
  return listener.addr.port;
}

Deno.test({
  name: "dialRoute() tunnels through tinyproxy (HTTP CONNECT), IPv4 and IPv6",
  ignore: tinyproxy === undefined,
  async fn(t): Promise<void> {
    for (const hostname of ["127.0.0.1", "::1"]) {
      await t.step(hostname, async () => {
        await using server = await serve({ hostname, port: 0 });
        const { port } = server.addrs[0]!;
        await using proxy = await startTinyproxy({
          hostname,
          connectPorts: [port],
        });
        const { echo } = await echoThrough({
          hostname,
          port,
          proxy: proxy.url(),
        });
        assertEquals(echo, "through\n");
      });
    }
  },
});

Deno.test({
  name:
    "dialRoute() through tinyproxy: credentials, a forbidden port, a target that is down",
  ignore: tinyproxy === undefined,
  async fn(t): Promise<void> {
    await using server = await serve({ hostname: "127.0.0.1", port: 0 });
    const { port } = server.addrs[0]!;
    const down = closedPort("127.0.0.1");
    await using proxy = await startTinyproxy({
      connectPorts: [port, down],
      basicAuth: { user: "alice", password: "s3cret" },
    });
    const hostname = "127.0.0.1";
    await t.step("right credentials", async () => {
      const { echo } = await echoThrough({
        hostname,
        port,
        proxy: proxy.url("alice:s3cret"),
      });
      assertEquals(echo, "through\n");
    });
    for (
      const [what, credentials, failure, words] of [
        ["no credentials", undefined, "auth", "wants credentials (407"],
        ["wrong credentials", "alice:nope", "auth", "refused the credentials"],
      ] as const
    ) {
      await t.step(what, async () => {
        const error = await assertRejects(
          () => echoThrough({ hostname, port, proxy: proxy.url(credentials) }),
          ProxyError,
          words,
        );
        assertEquals(error.failure, failure);
      });
    }
    await t.step("a port CONNECT may not go to: 403", async () => {
      const error = await assertRejects(
        () =>
          echoThrough({
            hostname,
            port: 1,
            proxy: proxy.url("alice:s3cret"),
          }),
        ProxyError,
        "refused to connect to 127.0.0.1:1 (403",
      );
      assertEquals(error.failure, "denied");
    });
    await t.step("nothing listens there", async () => {
      const error = await assertRejects(
        () =>
          echoThrough({
            hostname,
            port: down,
            proxy: proxy.url("alice:s3cret"),
          }),
        ProxyError,
        `could not reach 127.0.0.1:${down} (500`,
      );
      assertEquals(error.failure, "target");
    });
  },
});

Deno.test({
  name: "dialRoute() tunnels through Dante (SOCKS5, socks5h), IPv4 and IPv6",
  ignore: danted === undefined,
  async fn(t): Promise<void> {
    for (
      const [hostname, target] of [
        ["127.0.0.1", "127.0.0.1"],
        ["127.0.0.1", "localhost"],
        ["::1", "::1"],
      ] as const
    ) {
      await t.step(`${hostname} to ${target}`, async () => {
        await using server = await serve({ hostname, port: 0 });
        const { port } = server.addrs[0]!;
        await using proxy = await startDante({ hostname, allowPorts: [port] });
        for (const scheme of ["socks5", "socks5h"]) {
          const { echo } = await echoThrough({
            hostname: target,
            port,
            family: hostname === "::1" ? 6 : 4,
            proxy: proxy.url().replace("socks5", scheme),
          });
          assertEquals(echo, "through\n", scheme);
        }
      });
    }
  },
});

Deno.test({
  name:
    "dialRoute() through Dante: a blocked port, a refused target, credentials wanted",
  ignore: danted === undefined,
  async fn(t): Promise<void> {
    const hostname = "127.0.0.1";
    const down = closedPort(hostname);
    await t.step("blocked by a rule, and refused by the target", async () => {
      await using proxy = await startDante({ allowPorts: [down] });
      const blocked = await assertRejects(
        () => echoThrough({ hostname, port: 1, proxy: proxy.url() }),
        ProxyError,
        "(connection not allowed by ruleset)",
      );
      assertEquals(blocked.failure, "denied");
      const refused = await assertRejects(
        () => echoThrough({ hostname, port: down, proxy: proxy.url() }),
        ProxyError,
        `could not reach 127.0.0.1:${down} (connection refused)`,
      );
      assertEquals(refused.failure, "target");
    });
    await t.step("username method: none given, and wrong ones", async () => {
      await using proxy = await startDante({
        method: "username",
        allowPorts: [down],
      });
      const wanted = await assertRejects(
        () => echoThrough({ hostname, port: down, proxy: proxy.url() }),
        ProxyError,
        "wants credentials",
      );
      assertEquals(wanted.failure, "auth");
      const refused = await assertRejects(
        () =>
          echoThrough({
            hostname,
            port: down,
            proxy: proxy.url("nobody-here:wrong"),
          }),
        ProxyError,
        "refused the username and password",
      );
      assertEquals(refused.failure, "auth");
    });
  },
});

Deno.test({
  name: "dialRoute() runs TLS through each proxy, also from a chosen source",
  ignore: danted === undefined || tinyproxy === undefined ||
    openssl === undefined,
  async fn(t): Promise<void> {
    await using fx = await createTlsFixtures();
    await using server = await serve({
      listen: ["tls://127.0.0.1:0"],
      tls: { cert: fx!.cert, key: fx!.key },
    });
    const { port } = server.addrs[0]!;
    await using dante = await startDante({ allowPorts: [port] });
    await using http = await startTinyproxy({ connectPorts: [port] });
    const tls = { hostname: "localhost", port, tls: true, caCerts: [fx!.ca] };
    for (const proxy of [dante.url(), http.url()]) {
      await t.step(proxy.slice(0, 6), async () => {
        assertEquals((await echoThrough({ ...tls, proxy })).echo, "through\n");
        const from = await echoThrough({
          ...tls,
          proxy,
          source: { hostname: "127.0.0.2" },
        });
        assertEquals(from.echo, "through\n");
        assertEquals(from.local.hostname, "127.0.0.2");
      });
    }
  },
});

Deno.test("dialRoute() names the proxy it cannot reach", async () => {
  const port = closedPort("127.0.0.1");
  const error = await assertRejects(
    () =>
      dialRoute({
        hostname: "127.0.0.1",
        port: 2000,
        proxy: `socks5://127.0.0.1:${port}`,
        timeout: 2000,
      }),
    ProxyError,
    `Proxy socks5://127.0.0.1:${port}: cannot connect to it:`,
  );
  assertEquals(error.failure, "connect");
});
