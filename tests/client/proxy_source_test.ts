// Copyright the deno-echo authors. MIT license.

// Connecting from a chosen source address and port (node:net's
// localAddress and localPort behind a Deno.Conn): the server must see
// that address as the peer, over TCP, TLS and UDP, IPv4 and IPv6.

import { assertEquals, assertMatch, assertRejects } from "@std/assert";
import { createSocket, type RemoteInfo } from "node:dgram";
import { type ConnectionInfo, serve } from "../../mod.ts";
import { runPing } from "../../src/client/ping.ts";
import { dialRoute } from "../../src/client/proxy_dial.ts";
import { runSession } from "../../src/client/session.ts";
import { findProgram } from "../_helpers/proxies.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";

const openssl = await findProgram("openssl");

/** A port free on `hostname` right now. */
function freePort(hostname: string): number {
  using listener = Deno.listen({ hostname, port: 0 });
  return listener.addr.port;
}

/** A server that records who opened each connection. */
async function recording(hostname: string): Promise<
  {
    opened: ConnectionInfo[];
    port: number;
  } & AsyncDisposable
> {
  const opened: ConnectionInfo[] = [];
  const server = await serve({
    hostname,
    port: 0,
    onEvent: (event) => void (event.type === "open" && opened.push(event.conn)),
  });
  return {
    opened,
    port: server.addrs[0]!.port,
    [Symbol.asyncDispose]: () => server.close(),
  };
}

Deno.test("dialRoute() connects from the source address and port given", async (t) => {
  for (
    const [hostname, source] of [["127.0.0.1", "127.0.0.2"], [
      "::1",
      "::1",
    ]] as const
  ) {
    await t.step(`${source} to ${hostname}`, async () => {
      await using server = await recording(hostname);
      const port = freePort(source);
      const { conn } = await dialRoute({
        hostname,
        port: server.port,
        source: { hostname: source, port },
        timeout: 2000,
      });
      const echoed: Uint8Array[] = [];
      const result = await runSession(
        conn,
        ReadableStream.from([new TextEncoder().encode("from a source\n")]),
        new WritableStream({ write: (chunk) => void echoed.push(chunk) }),
      );
      assertEquals(result.linesEchoed, 1);
      assertEquals(server.opened.length, 1);
      assertEquals(server.opened[0]!.remoteAddr, {
        transport: "tcp",
        hostname: source,
        port,
      });
    });
  }
});

Deno.test("runPing() probes from the source given, over one connection and a new one each", async () => {
  await using server = await recording("127.0.0.1");
  for (const newConnection of [false, true]) {
    const summary = await runPing({
      hostname: "127.0.0.1",
      port: server.port,
      count: 2,
      interval: 10,
      newConnection,
      source: { hostname: "127.0.0.2" },
    });
    assertEquals(summary.echoed, 2);
  }
  assertEquals(server.opened.length, 3);
  for (const conn of server.opened) {
    assertEquals((conn.remoteAddr as Deno.NetAddr).hostname, "127.0.0.2");
  }
});

Deno.test({
  name: "dialRoute() runs TLS over a connection from a chosen source",
  ignore: openssl === undefined,
  async fn(): Promise<void> {
    await using fx = await createTlsFixtures();
    const opened: ConnectionInfo[] = [];
    await using server = await serve({
      listen: ["tls://127.0.0.1:0"],
      tls: { cert: fx!.cert, key: fx!.key },
      onEvent: (event) =>
        void (event.type === "open" && opened.push(event.conn)),
    });
    const port = freePort("127.0.0.2");
    const summary = await runPing({
      transport: "tls",
      hostname: "localhost",
      port: server.addrs[0]!.port,
      family: 4,
      caCerts: [fx!.ca],
      source: { hostname: "127.0.0.2", port },
      count: 1,
      newConnection: true,
    }, {
      onProbe: (probe) => {
        assertEquals(typeof probe.timings?.tls, "number");
      },
    });
    assertEquals(summary.echoed, 1);
    assertEquals(opened[0]!.remoteAddr, {
      transport: "tcp",
      hostname: "127.0.0.2",
      port,
    });
    // Without the CA the handshake fails, as a TLS failure.
    await assertRejects(
      () =>
        dialRoute({
          hostname: "localhost",
          port: server.addrs[0]!.port,
          family: 4,
          tls: true,
          source: { hostname: "127.0.0.2" },
        }),
      Deno.errors.InvalidData,
    );
  },
});

Deno.test("runPing() over UDP sends from the source address and port given", async () => {
  const seen: RemoteInfo[] = [];
  const socket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    seen.push(rinfo);
    socket.send(msg, rinfo.port, rinfo.address);
  });
  const { promise, resolve } = Promise.withResolvers<void>();
  socket.bind(0, "127.0.0.1", () => resolve());
  await promise;
  try {
    const port = freePort("127.0.0.2");
    let local = "";
    const summary = await runPing(
      {
        transport: "udp",
        hostname: "127.0.0.1",
        port: socket.address().port,
        source: { hostname: "127.0.0.2", port },
        count: 2,
        interval: 10,
      },
      {
        onLink: (event) =>
          void (event.type === "connected" && (local = event.local)),
      },
    );
    assertEquals(summary.echoed, 2);
    assertEquals(
      seen.map((r) => `${r.address}:${r.port}`),
      [`127.0.0.2:${port}`, `127.0.0.2:${port}`],
    );
    assertEquals(local, `127.0.0.2:${port}`);
  } finally {
    const closed = Promise.withResolvers<void>();
    socket.close(() => closed.resolve());
    await closed.promise;
  }
});

Deno.test("dialRoute() says when the source cannot be bound", async (t) => {
  await using server = await recording("127.0.0.1");
  await t.step("a port in use", async () => {
    using busy = Deno.listen({ hostname: "127.0.0.2", port: 0 });
    const error = await assertRejects(
      () =>
        dialRoute({
          hostname: "127.0.0.1",
          port: server.port,
          source: { hostname: "127.0.0.2", port: busy.addr.port },
        }),
      Deno.errors.AddrInUse,
    );
    assertMatch(error.message, /^Cannot connect from 127\.0\.0\.2:\d+: /);
  });
  await t.step("an address this host does not have", async () => {
    await assertRejects(
      () =>
        dialRoute({
          hostname: "127.0.0.1",
          port: server.port,
          source: { hostname: "192.0.2.1" },
        }),
      Deno.errors.AddrInUse,
      "the address is not this host's",
    );
  });
  assertEquals(server.opened.length, 0);
});
