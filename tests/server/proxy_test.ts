// Copyright the deno-echo authors. MIT license.

// PROXY protocol listeners through the library: serve({ listen:
// ["tcp://...?proxy-protocol"] }), proxyProtocol, proxyFrom. The header is
// consumed, never echoed, however it is split; its client address is the
// connection's; a missing, malformed or late header, or an untrusted peer,
// ends that connection alone.

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { concat } from "@std/bytes";
import {
  type ConnectionInfo,
  parseListenUrl,
  serve,
  type ServerEvent,
} from "../../mod.ts";
import { buildProxyHeader } from "../../src/proxy/build.ts";
import { ProxyHeaderError } from "../../src/proxy/types.ts";
import {
  readToEnd,
  readUntilClosed,
  roundTrip,
  writeAll,
} from "../_helpers/conn.ts";
import { bytes, within } from "../_helpers/util.ts";
import { assertEchoes } from "./_transport.ts";
import { all, on } from "./_events.ts";

const decoder = new TextDecoder();
const CLIENT: Deno.NetAddr = {
  transport: "tcp",
  hostname: "203.0.113.7",
  port: 51234,
};
const OTHER: Deno.NetAddr = { ...CLIENT, hostname: "203.0.113.8" };

function header(
  version: 1 | 2,
  source: Deno.NetAddr = CLIENT,
  tlvs: { alpn?: string; authority?: string } = {},
): Uint8Array {
  const destination: Deno.NetAddr = {
    transport: "tcp",
    hostname: "192.0.2.1",
    port: 2000,
  };
  return buildProxyHeader(version, { source, destination, ...tlvs });
}

/** Collects events by type. */
function recorder(): {
  events: ServerEvent[];
  of: <T extends ServerEvent["type"]>(
    type: T,
  ) => Extract<ServerEvent, { type: T }>[];
  onEvent: (event: ServerEvent) => void;
} {
  const events: ServerEvent[] = [];
  return {
    events,
    of: (type) => events.filter((e) => e.type === type) as never,
    onEvent: (event) => events.push(event),
  };
}

async function waitUntil(test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function portOf(server: { listeners: readonly { addr: Deno.Addr }[] }): number {
  return (server.listeners[0]!.addr as Deno.NetAddr).port;
}

/** A server with one PROXY listener on loopback, its events to `onEvent`. */
function proxyServer(
  onEvent: (event: ServerEvent) => void,
): ReturnType<typeof serve> {
  return serve({ listen: ["tcp://127.0.0.1:0?proxy-protocol"], onEvent });
}

/** A connection to the server's first listener. */
function dial(
  server: { listeners: readonly { addr: Deno.Addr }[] },
): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port: portOf(server) });
}

Deno.test("serve() on a ?proxy-protocol listener consumes a v1 header sent a byte at a time, echoes what follows, and reports the header's client", async () => {
  const seen = recorder();
  await using server = await proxyServer(seen.onEvent);
  assertEquals(server.listeners[0]!.proxyProtocol, true);
  using conn = await dial(server);
  for (const byte of header(1)) await writeAll(conn, new Uint8Array([byte]));
  await assertEchoes(conn, "hello\n");
  // Bytes that came with the header's end are echoed first, quit word too.
  await writeAll(conn, "BYE\n");
  assertEquals(decoder.decode(await readToEnd(conn)), "BYE\n");
  await waitUntil(() => seen.of("close").length === 1, "the close event");
  const [open] = seen.of("open");
  assertEquals(open!.conn.remoteAddr, CLIENT);
  assertEquals(open!.conn.proxy?.hostname, "127.0.0.1");
  assertEquals(open!.conn.proxy?.port, conn.localAddr.port);
  // A plain object, printed as such (Deno's own addresses have no prototype).
  assertEquals(Object.getPrototypeOf(open!.conn.proxy), Object.prototype);
  assertEquals(seen.of("close")[0]!.result.bytes, "hello\nBYE\n".length);
});

Deno.test("serve() on a PROXY listener echoes the bytes sent in the same write as a v2 header, reports its ALPN and authority, and keeps a DGRAM header's transport", async () => {
  const seen = recorder();
  await using server = await proxyServer(seen.onEvent);
  using conn = await dial(server);
  const data = bytes("first bytes\nsecond line\n");
  const echoed = await roundTrip(
    conn,
    concat([header(2, OTHER, { alpn: "h2", authority: "echo.example" }), data]),
  );
  assertEquals(decoder.decode(echoed), decoder.decode(data));
  await waitUntil(() => seen.of("close").length === 1, "the close event");
  const info = seen.of("open")[0]!.conn;
  assertEquals(info.remoteAddr, OTHER);
  assertEquals([info.proxyAlpn, info.proxyAuthority], ["h2", "echo.example"]);
  assertEquals(info.proxyLocal, undefined);

  // A header for a UDP client: its address says so, the proxy's stays TCP.
  using udpConn = await dial(server);
  const udpClient: Deno.NetAddr = { ...CLIENT, transport: "udp" };
  const datagram = bytes("datagram?\n");
  const again = await roundTrip(
    udpConn,
    concat([header(2, udpClient), datagram]),
  );
  assertEquals(decoder.decode(again), "datagram?\n");
  await waitUntil(() => seen.of("open").length === 2, "the second open event");
  const udpInfo = seen.of("open")[1]!.conn;
  assertEquals(udpInfo.remoteAddr, udpClient);
  assertEquals(udpInfo.proxy?.transport, "tcp");
});

Deno.test("serve() on a PROXY listener accepts a v2 LOCAL header (a proxy's health check) as the proxy's own connection", async () => {
  const seen = recorder();
  await using server = await proxyServer(seen.onEvent);
  using conn = await dial(server);
  const echoed = await roundTrip(
    conn,
    concat([buildProxyHeader(2), bytes("ok?\n")]),
  );
  assertEquals(decoder.decode(echoed), "ok?\n");
  const info = seen.of("open")[0]!.conn;
  assertEquals(info.proxyLocal, true);
  assertEquals((info.remoteAddr as Deno.NetAddr).port, conn.localAddr.port);
  assertEquals(info.proxy, info.remoteAddr);
});

Deno.test("serve() on a PROXY listener closes a connection without a valid header, reports a proxy-error, and serves the next", async (t) => {
  const seen = recorder();
  await using server = await serve({
    listen: ["tcp://127.0.0.1:0?proxy-protocol"],
    proxyHeaderTimeout: 300,
    onEvent: seen.onEvent,
  });
  const port = portOf(server);
  await t.step("malformed: closed at once, nothing echoed", async () => {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, "GET / HTTP/1.0\r\n\r\n");
    assertEquals(
      (await within(readUntilClosed(conn), 5000, "close")).length,
      0,
    );
    await waitUntil(() => seen.of("proxy-error").length === 1, "proxy-error");
    const { error, conn: info } = seen.of("proxy-error")[0]!;
    assert(error instanceof ProxyHeaderError, String(error));
    assertMatch(error.message, /expected "PROXY " or the v2 signature/);
    assertEquals((info.remoteAddr as Deno.NetAddr).port, conn.localAddr.port);
  });
  await t.step("silent: closed after proxyHeaderTimeout", async () => {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    assertEquals(
      (await within(readUntilClosed(conn), 5000, "close")).length,
      0,
    );
    await waitUntil(() => seen.of("proxy-error").length === 2, "proxy-error");
    const { error } = seen.of("proxy-error")[1]!;
    assert(error instanceof Deno.errors.TimedOut, String(error));
  });
  await t.step("the next connection is served", async () => {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const echoed = await roundTrip(conn, concat([header(1), bytes("next\n")]));
    assertEquals(decoder.decode(echoed), "next\n");
  });
  assertEquals(seen.of("open").length, 1);
  assertEquals(server.connections, 0);
});

Deno.test("serve() on a PROXY listener gives a peer 10 s for its header when proxyHeaderTimeout is not set", async () => {
  const seen = recorder();
  await using server = await proxyServer(seen.onEvent);
  using conn = await dial(server);
  await writeAll(conn, "PROXY TCP4 ");
  assertEquals(
    (await within(readUntilClosed(conn), 15_000, "close")).length,
    0,
  );
  await waitUntil(() => seen.of("proxy-error").length === 1, "proxy-error");
  const { error } = seen.of("proxy-error")[0]!;
  assert(error instanceof Deno.errors.TimedOut, String(error));
  assertEquals(error.message, "No complete PROXY header within 10000 ms");
});

Deno.test("serve() with proxyFrom refuses PROXY listener peers outside its ranges, and only on PROXY listeners", async () => {
  const seen = recorder();
  await using server = await serve({
    listen: ["tcp://127.0.0.1:0?proxy-protocol", "tcp://127.0.0.1:0"],
    proxyFrom: ["10.0.0.0/8", "2001:db8::/32"],
    onEvent: seen.onEvent,
  });
  const [proxied, plain] = server.listeners.map((l) =>
    (l.addr as Deno.NetAddr).port
  );
  {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port: proxied! });
    await writeAll(conn, concat([header(1), bytes("spoofed\n")]));
    assertEquals(
      (await within(readUntilClosed(conn), 5000, "close")).length,
      0,
    );
  }
  const [reject] = seen.of("reject");
  assertEquals(reject?.reason, "proxy-untrusted");
  assertEquals((reject!.conn.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  // A listener without the PROXY protocol echoes everything, header too.
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: plain! });
  const sent = concat([header(1), bytes("plain\n")]);
  assertEquals(await roundTrip(conn, sent), sent);
});

Deno.test("serve() with proxyFrom serves a PROXY listener peer inside its ranges", async () => {
  const seen = recorder();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    proxyProtocol: true,
    proxyFrom: ["127.0.0.0/8"],
    onEvent: seen.onEvent,
  });
  using conn = await dial(server);
  const echoed = await roundTrip(conn, concat([header(2), bytes("trusted\n")]));
  assertEquals(decoder.decode(echoed), "trusted\n");
  assertEquals(seen.of("open")[0]!.conn.remoteAddr, CLIENT);
});

Deno.test("serve() on a PROXY listener counts maxPerIp by the header's client address, not the trusted proxy's", async () => {
  const rejected: ConnectionInfo[] = [];
  const opened: ConnectionInfo[] = [];
  await using server = await serve({
    listen: ["tcp://127.0.0.1:0?proxy-protocol"],
    proxyFrom: ["127.0.0.1"],
    maxPerIp: 1,
    onEvent: all(
      on("open", ({ conn }) => opened.push(conn)),
      on("reject", ({ conn }) => rejected.push(conn)),
    ),
  });
  const port = portOf(server);
  // Two clients through one proxy address: one slot each.
  using first = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(first, concat([header(1, CLIENT), bytes("one\n")]));
  using second = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(second, concat([header(1, OTHER), bytes("two\n")]));
  await waitUntil(() => opened.length === 2, "both clients to be served");
  // The first client again, while its connection is open: over its limit.
  using again = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(again, concat([header(1, CLIENT), bytes("three\n")]));
  assertEquals((await within(readUntilClosed(again), 5000, "close")).length, 0);
  assertEquals(rejected.map((c) => c.remoteAddr), [CLIENT]);
  assertEquals(server.connections, 2);
});

Deno.test("serve() on a PROXY listener without proxyFrom counts connections still waiting for their header by the peer's address", async () => {
  const seen = recorder();
  await using server = await serve({
    listen: ["tcp://127.0.0.1:0?proxy-protocol"],
    maxPerIp: 2,
    onEvent: seen.onEvent,
  });
  const port = portOf(server);
  // Silent: they hold the peer's two slots until they send a header.
  using one = await Deno.connect({ hostname: "127.0.0.1", port });
  using two = await Deno.connect({ hostname: "127.0.0.1", port });
  using third = await Deno.connect({ hostname: "127.0.0.1", port });
  assertEquals((await within(readUntilClosed(third), 5000, "close")).length, 0);
  const [reject] = seen.of("reject");
  assertEquals(reject?.reason, "max-per-ip");
  assertEquals(
    (reject!.conn.remoteAddr as Deno.NetAddr).port,
    third.localAddr.port,
  );
  // Once they send headers, they count as their clients.
  await writeAll(one, header(1, CLIENT));
  await writeAll(two, header(1, OTHER));
  await waitUntil(() => seen.of("open").length === 2, "two opens");
  using fourth = await Deno.connect({ hostname: "127.0.0.1", port });
  const echoed = await roundTrip(
    fourth,
    concat([header(1, CLIENT), bytes("4\n")]),
  );
  assertEquals(decoder.decode(echoed), "4\n");
});

Deno.test("serve() with workers: 2 serves PROXY listeners in every isolate", async () => {
  const opened: ConnectionInfo[] = [];
  await using server = await serve({
    listen: ["tcp://127.0.0.1:0?proxy-protocol"],
    workers: 2,
    onEvent: on("open", ({ conn }) => opened.push(conn)),
  });
  const port = portOf(server);
  for (let i = 0; i < 8; i++) {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const source = { ...CLIENT, port: 40_000 + i };
    const echoed = await roundTrip(
      conn,
      concat([header(2, source), bytes(`${i}\n`)]),
    );
    assertEquals(decoder.decode(echoed), `${i}\n`);
  }
  await waitUntil(() => opened.length === 8, "eight open events");
  assertEquals(
    opened.map((c) => (c.remoteAddr as Deno.NetAddr).port).sort(),
    Array.from({ length: 8 }, (_, i) => 40_000 + i),
  );
  assert(opened.every((c) => c.proxy?.hostname === "127.0.0.1"));
});

Deno.test("serve() refuses invalid PROXY protocol options before listening", async (t) => {
  await t.step("a proxyFrom entry that is not a CIDR range", async () => {
    await assertRejects(
      () =>
        serve({ hostname: "127.0.0.1", port: 0, proxyFrom: ["10.0.0.1/8"] }),
      RangeError,
      'Invalid CIDR "10.0.0.1/8"',
    );
  });
  for (const timeout of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
    await t.step(`proxyHeaderTimeout ${timeout}`, async () => {
      await assertRejects(
        () =>
          serve({
            hostname: "127.0.0.1",
            port: 0,
            proxyHeaderTimeout: timeout,
          }),
        RangeError,
        "Invalid proxyHeaderTimeout",
      );
    });
  }
  await t.step("?proxy-protocol on udp://, or another option", () => {
    for (
      const url of [
        "udp://127.0.0.1:0?proxy-protocol",
        "tcp://127.0.0.1:0?proxy",
      ]
    ) {
      assertThrows(() => parseListenUrl(url), RangeError, "?proxy-protocol");
    }
  });
});

Deno.test("serve() on a PROXY listener: shutdown() ends when the last connection, still in its header, fails it", async () => {
  const seen = recorder();
  const server = await serve({
    listen: ["tcp://127.0.0.1:0?proxy-protocol"],
    proxyHeaderTimeout: 5000,
    drainTimeout: 5000,
    onEvent: seen.onEvent,
  });
  using conn = await dial(server);
  await waitUntil(() => server.connections === 1, "the connection counted");
  const shutdown = server.shutdown();
  await writeAll(conn, "not a PROXY header\r\n");
  // Well before the drain timeout: the failed header ends the drain.
  const result = await within(shutdown, 2000, "shutdown");
  assertEquals(result, { drained: true, closed: 0 });
  assertEquals(seen.of("proxy-error").length, 1);
  assertEquals(server.connections, 0);
});
