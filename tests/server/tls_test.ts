// Copyright the deno-echo authors. MIT license.

// tls:// listeners through the library: serve() and dialTls(). Needs
// openssl for the fixtures; without it each test says "skipped:".

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
} from "@std/assert";
import { type ConnectionInfo, dialTls, serve } from "../../mod.ts";
import { readToEnd, writeAll } from "../_helpers/cli.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";
import { assertEchoes, dialGood, NO_OPENSSL } from "./_transport.ts";
import { all, on } from "./_events.ts";

const decoder = new TextDecoder();

Deno.test("serve() on tls:// echoes to a dialTls() client that trusts its CA, and negotiates ALPN echo", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
  });
  assertEquals(server.listeners.length, 1);
  const listener = server.listeners[0]!;
  const { port } = listener.addr as Deno.NetAddr;
  assertNotEquals(port, 0);
  assertEquals(listener.transport, "tls");
  assertEquals(listener.url, `tls://127.0.0.1:${port}`);

  using conn = await dialGood(fx, port);
  const { alpnProtocol } = await conn.handshake();
  assertEquals(alpnProtocol, "echo");
  await assertEchoes(conn, "hello\n");
  // The quit line is echoed, then the server closes the connection.
  await writeAll(conn, "BYE\n");
  assertEquals(decoder.decode(await readToEnd(conn)), "BYE\n");
});

Deno.test("serve() on tls:// reports a client that does not trust its certificate as a handshake-error event and serves good clients before and after", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const opened: ConnectionInfo[] = [];
  const failed = Promise.withResolvers<
    { info: ConnectionInfo; error: unknown }
  >();
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
    onEvent: all(
      on("open", ({ conn }) => opened.push(conn)),
      on(
        "handshake-error",
        ({ conn, error }) => failed.resolve({ info: conn, error }),
      ),
    ),
  });
  const listener = server.listeners[0]!;
  const { port } = listener.addr as Deno.NetAddr;

  using before = await dialGood(fx, port);
  await assertEchoes(before, "before\n");

  // No caCerts: the private CA is not trusted.
  await assertRejects(
    () => dialTls({ hostname: "localhost", port, family: 4, timeout: 5000 }),
    Deno.errors.InvalidData,
  );
  const { info, error } = await within(
    failed.promise,
    5000,
    "a handshake-error event",
  );
  assertEquals(info.id, 2);
  assertEquals(info.listener, listener.url);
  assertEquals((info.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  assert(error instanceof Error);
  assertMatch(error.message, /UnknownCA/);

  await assertEchoes(before, "still served\n");
  using after = await dialGood(fx, port);
  await assertEchoes(after, "after\n");
  // The failed client never counts as opened.
  assertEquals(opened.map((o) => o.id), [1, 3]);
  assertEquals(server.connections, 2);
});

Deno.test("serve() on tls:// gives up on a TCP client that never handshakes after handshakeTimeout, serving a good client meanwhile", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const failed = Promise.withResolvers<
    { info: ConnectionInfo; error: unknown; at: number }
  >();
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, handshakeTimeout: 200 },
    onEvent: on(
      "handshake-error",
      ({ conn, error }) =>
        failed.resolve({ info: conn, error, at: performance.now() }),
    ),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;

  using good = await dialGood(fx, port);
  const connectedAt = performance.now();
  // Plain TCP: connected, but never says a word of TLS.
  using silent = await Deno.connect({ hostname: "127.0.0.1", port });
  // Meanwhile the open client is served, and a new one gets through.
  await assertEchoes(good, "meanwhile\n");
  {
    using other = await dialGood(fx, port);
    await assertEchoes(other, "another\n");
  }

  const { info, error, at } = await within(
    failed.promise,
    5000,
    "a handshake-error event for the silent client",
  );
  assertEquals((info.remoteAddr as Deno.NetAddr).port, silent.localAddr.port);
  assert(error instanceof Deno.errors.TimedOut, String(error));
  assertEquals(error.message, "TLS handshake not done in 200 ms");
  // The server's timer starts at accept, which comes after our connect.
  assert(at - connectedAt >= 190, `gave up after ${at - connectedAt} ms`);
  // That the silent client then sees its connection closed is in
  // tls_limits_test.ts.

  await assertEchoes(good, "after\n");
});

Deno.test("serve() on tls:// close() ends a pending handshake at once, not after handshakeTimeout", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const failed = Promise.withResolvers<
    { info: ConnectionInfo; error: unknown }
  >();
  const server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, handshakeTimeout: 60_000 },
    onEvent: on(
      "handshake-error",
      ({ conn, error }) => failed.resolve({ info: conn, error }),
    ),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  using silent = await Deno.connect({ hostname: "127.0.0.1", port });
  // Accepts are in order: once a later client is served, the silent one has
  // been accepted and is in its handshake.
  using good = await dialGood(fx, port);
  await assertEchoes(good, "later\n");
  // close() must not wait 60 s for the silent client's handshake.
  await within(server.close(), 5000, "close() with a handshake pending");
  const { info, error } = await within(
    failed.promise,
    5000,
    "a handshake-error event",
  );
  assertEquals((info.remoteAddr as Deno.NetAddr).port, silent.localAddr.port);
  assert(!(error instanceof Deno.errors.TimedOut), String(error));
});

Deno.test("serve() takes tls options without a tls:// listener, and does not use them", async () => {
  // A configuration that always gives `tls`, in a deployment without a
  // tls:// listener: options unusable for TLS must not stop the others (and
  // used to leave their ports bound behind the error).
  await using server = await serve({
    listen: ["tcp://127.0.0.1:0"],
    tls: { cert: "not a certificate", key: "not a key" },
  });
  const { port } = server.addr as Deno.NetAddr;
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await assertEchoes(conn, "hello\n");
});
