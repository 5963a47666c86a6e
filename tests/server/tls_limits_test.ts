// Copyright the deno-echo authors. MIT license.

// tls:// connections the server gives up on really end: a silent client
// (no ClientHello) whose handshake times out, one refused by maxPerIp or
// maxConnections, one pending when the server closes: each sees its
// connection closed, which means the server's socket, descriptor and all,
// is gone (a TLS socket closed mid-handshake used to stay open until the
// peer left). Needs openssl for the fixtures; without it each test says
// "skipped:".

import { assert, assertEquals } from "@std/assert";
import { type ConnectionInfo, serve } from "../../mod.ts";
import { readUntilClosed } from "../_helpers/conn.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";
import { assertEchoes, dialGood, NO_OPENSSL } from "./_transport.ts";
import { on } from "./_events.ts";

/** Resolves once the server has closed `conn` (EOF or reset). */
async function closedByServer(conn: Deno.Conn, what: string): Promise<void> {
  const received = await within(readUntilClosed(conn), 5000, what);
  assertEquals(received.length, 0, `${what}: nothing is sent in clear`);
}

Deno.test("serve() on tls:// closes the socket of a client that never handshakes once handshakeTimeout is up", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const failed = Promise.withResolvers<unknown>();
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, handshakeTimeout: 200 },
    onEvent: on("handshake-error", ({ error }) => failed.resolve(error)),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const started = performance.now();
  using silent = await Deno.connect({ hostname: "127.0.0.1", port });
  await closedByServer(silent, "the silent client's connection to be closed");
  const after = performance.now() - started;
  assert(after >= 150, `closed after ${Math.round(after)} ms`);
  const error = await failed.promise;
  assert(error instanceof Deno.errors.TimedOut, String(error));
  assertEquals(server.connections, 0);
  // And the listener serves on.
  using good = await dialGood(fx, port);
  await assertEchoes(good, "after the timeout\n");
});

Deno.test("serve() on tls:// closes connections refused by maxPerIp at once, socket and all, and serves again once one ends", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const rejected: ConnectionInfo[] = [];
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, handshakeTimeout: 60_000 },
    maxPerIp: 2,
    onEvent: on("reject", ({ conn }) => rejected.push(conn)),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  // Two silent clients hold both slots of 127.0.0.1 (in their handshakes).
  const held = [
    await Deno.connect({ hostname: "127.0.0.1", port }),
    await Deno.connect({ hostname: "127.0.0.1", port }),
  ];
  try {
    const refused: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        refused.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      }
      await Promise.all(
        refused.map((conn) =>
          closedByServer(conn, "a refused connection to be closed")
        ),
      );
    } finally {
      for (const conn of refused) conn.close();
    }
    assertEquals(rejected.length, 20);
    assertEquals(server.connections, 2);
  } finally {
    for (const conn of held) conn.close();
  }
  // The held ones' handshakes fail as their peers leave; then one serves.
  const deadline = Date.now() + 5000;
  while (server.connections > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  using good = await dialGood(fx, port);
  await assertEchoes(good, "served again\n");
});

Deno.test("serve() on tls:// close() closes the sockets of pending handshakes: their clients see the end", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const failed = Promise.withResolvers<void>();
  const server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, handshakeTimeout: 60_000 },
    onEvent: on("handshake-error", () => failed.resolve()),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  using silent = await Deno.connect({ hostname: "127.0.0.1", port });
  // Accepts are in order: once a later client is served, the silent one is
  // in its handshake.
  {
    using good = await dialGood(fx, port);
    await assertEchoes(good, "later\n");
  }
  await within(server.close(), 5000, "close() with a handshake pending");
  await failed.promise;
  await closedByServer(silent, "the pending handshake's socket to be closed");
});
