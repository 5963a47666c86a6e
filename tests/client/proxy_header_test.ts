// Copyright the deno-echo authors. MIT license.

// dialRoute() and echo-client --proxy-header: a PROXY protocol header sent
// first, read by the server's own PROXY listener, which then takes the
// header's client address for the connection's.

import { assertEquals, assertMatch, assertRejects } from "@std/assert";
import { type ConnectionInfo, serve } from "../../mod.ts";
import { runPing } from "../../src/client/ping.ts";
import { dialRoute, type RouteOptions } from "../../src/client/proxy_dial.ts";
import { runClient } from "../_helpers/cli.ts";
import { findProgram, startDante } from "../_helpers/proxies.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";

const danted = await findProgram("danted");
const openssl = await findProgram("openssl");

/** A PROXY protocol listener that records who each connection says it is. */
async function proxyListener(
  url: string,
  tls?: { cert: string; key: string },
): Promise<
  {
    opened: ConnectionInfo[];
    port: number;
  } & AsyncDisposable
> {
  const opened: ConnectionInfo[] = [];
  const server = await serve({
    listen: [`${url}?proxy-protocol`],
    ...(tls === undefined ? {} : { tls }),
    onEvent: (event) => void (event.type === "open" && opened.push(event.conn)),
  });
  return {
    opened,
    port: server.addrs[0]!.port,
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** Dials, echoes a line, and returns the local address it came from. */
async function echoOnce(options: RouteOptions): Promise<Deno.NetAddr> {
  const { conn } = await dialRoute({ timeout: 5000, ...options });
  try {
    await conn.write(new TextEncoder().encode("hi\n"));
    const buffer = new Uint8Array(3);
    for (let n = 0; n < 3;) n += (await conn.read(buffer.subarray(n))) ?? 3;
    assertEquals(new TextDecoder().decode(buffer), "hi\n");
    return conn.localAddr as Deno.NetAddr;
  } finally {
    conn.close();
  }
}

Deno.test("dialRoute() sends a v1 or v2 PROXY header with its own addresses, IPv4 and IPv6", async (t) => {
  for (const hostname of ["127.0.0.1", "::1"]) {
    for (const version of [1, 2] as const) {
      await t.step(`v${version} over ${hostname}`, async () => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        await using server = await proxyListener(`tcp://${host}:0`);
        const local = await echoOnce({
          hostname,
          port: server.port,
          proxyHeader: { version },
        });
        assertEquals(server.opened[0]!.remoteAddr, {
          transport: "tcp",
          hostname,
          port: local.port,
        });
        assertEquals(server.opened[0]!.proxy?.port, local.port);
      });
    }
  }
});

Deno.test("dialRoute() states the client address given, also before TLS", async (t) => {
  const stated = { hostname: "203.0.113.7", port: 51234 };
  await t.step("tcp", async () => {
    await using server = await proxyListener("tcp://127.0.0.1:0");
    await echoOnce({
      hostname: "127.0.0.1",
      port: server.port,
      proxyHeader: { version: 2, source: stated },
    });
    assertEquals(server.opened[0]!.remoteAddr, { transport: "tcp", ...stated });
  });
  await t.step({
    name: "tls",
    ignore: openssl === undefined,
    fn: async () => {
      await using fx = await createTlsFixtures();
      await using server = await proxyListener("tls://127.0.0.1:0", {
        cert: fx!.cert,
        key: fx!.key,
      });
      await echoOnce({
        hostname: "localhost",
        family: 4,
        port: server.port,
        tls: true,
        caCerts: [fx!.ca],
        proxyHeader: { version: 1, source: stated },
      });
      assertEquals(server.opened[0]!.remoteAddr, {
        transport: "tcp",
        ...stated,
      });
    },
  });
});

Deno.test({
  name:
    "dialRoute() sends the PROXY header through a SOCKS5 tunnel, to the server's address",
  ignore: danted === undefined,
  async fn(): Promise<void> {
    await using server = await proxyListener("tcp://127.0.0.1:0");
    await using proxy = await startDante({ allowPorts: [server.port] });
    const local = await echoOnce({
      hostname: "127.0.0.1",
      port: server.port,
      proxy: proxy.url(),
      proxyHeader: { version: 2 },
    });
    // The header names this client; the TCP peer is the proxy.
    assertEquals(server.opened[0]!.remoteAddr, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: local.port,
    });
    await assertRejects(
      () =>
        echoOnce({
          hostname: "localhost",
          port: server.port,
          proxy: proxy.url(),
          proxyHeader: { version: 2 },
        }),
      TypeError,
      'give an IP address, not "localhost"',
    );
  },
});

Deno.test("runPing() sends the PROXY header on every connection", async () => {
  await using server = await proxyListener("tcp://127.0.0.1:0");
  const summary = await runPing({
    hostname: "127.0.0.1",
    port: server.port,
    count: 2,
    interval: 10,
    newConnection: true,
    proxyHeader: {
      version: 1,
      source: { hostname: "198.51.100.9", port: 4000 },
    },
  });
  assertEquals(summary.echoed, 2);
  assertEquals(
    server.opened.map((c) => (c.remoteAddr as Deno.NetAddr).hostname),
    ["198.51.100.9", "198.51.100.9"],
  );
});

Deno.test("echo-client --proxy-header and --proxy-source", async (t) => {
  await using server = await proxyListener("tcp://127.0.0.1:0");
  await t.step("the server takes the stated client", async () => {
    const result = await runClient(
      [
        "--proxy-header",
        "v2",
        "--proxy-source",
        "[2001:db8::7]:51234",
        `127.0.0.1:${server.port}`,
      ],
      "behind a balancer\n",
    );
    assertEquals(
      [result.code, result.stdout],
      [0, "behind a balancer\n"],
      result.stderr,
    );
    assertEquals(server.opened.at(-1)!.remoteAddr, {
      transport: "tcp",
      hostname: "2001:db8::7",
      port: 51234,
    });
  });
  const cases: [string[], RegExp][] = [
    [
      ["--proxy-header", "v3", "localhost"],
      /Invalid --proxy-header "v3": expected v1 or v2/,
    ],
    [
      ["--proxy-source", "203.0.113.7:1", "localhost"],
      /--proxy-source goes with --proxy-header/,
    ],
    [
      ["--proxy-header", "v1", "--proxy-source", "203.0.113.7", "localhost"],
      /expected ADDR:PORT with an IP address/,
    ],
    [
      ["--proxy-header", "v1", "udp://localhost"],
      /--proxy-header goes with TCP and TLS, not with a udp target/,
    ],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const result = await runClient(args, "");
      assertEquals(result.code, 2, result.stderr);
      assertMatch(result.stderr, message);
    });
  }
});
