// Copyright the deno-echo authors. MIT license.

// PROXY protocol on tls:// listeners: the header comes before the TLS
// handshake, in clear; the handshake and the echo follow as usual. Needs
// openssl for the fixtures; without it each test says "skipped:".

import { assert, assertEquals } from "@std/assert";
import { type ConnectionInfo, serve } from "../../mod.ts";
import { buildProxyHeader } from "../../src/proxy/build.ts";
import { readUntilClosed, writeAll } from "../_helpers/conn.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";
import { assertEchoes, NO_OPENSSL } from "./_transport.ts";
import { all, on } from "./_events.ts";

const CLIENT: Deno.NetAddr = {
  transport: "tcp",
  hostname: "2001:db8::7",
  port: 443,
};

Deno.test("serve() on tls://...?proxy-protocol reads the PROXY header, then runs the handshake and echoes", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const opened: ConnectionInfo[] = [];
  await using server = await serve({
    listen: ["tls://127.0.0.1:0?proxy-protocol"],
    tls: { cert: fx.cert, key: fx.key },
    onEvent: on("open", ({ conn }) => opened.push(conn)),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(
    raw,
    buildProxyHeader(2, {
      source: CLIENT,
      destination: { transport: "tcp", hostname: "2001:db8::1", port: 443 },
      authority: "localhost",
    }),
  );
  using conn = await Deno.startTls(raw, {
    hostname: "localhost",
    caCerts: [fx.ca],
    alpnProtocols: ["echo"],
  });
  const { alpnProtocol } = await conn.handshake();
  assertEquals(alpnProtocol, "echo");
  await assertEchoes(conn, "over TLS, behind a proxy\n");
  assertEquals(opened.length, 1);
  assertEquals(opened[0]!.remoteAddr, CLIENT);
  assertEquals(opened[0]!.proxyAuthority, "localhost");
  assertEquals(opened[0]!.proxy?.hostname, "127.0.0.1");
});

Deno.test("serve() on tls://...?proxy-protocol refuses a TLS ClientHello where the header should be", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const errors: unknown[] = [];
  await using server = await serve({
    listen: ["tls://127.0.0.1:0?proxy-protocol"],
    tls: { cert: fx.cert, key: fx.key },
    onEvent: all(on("proxy-error", ({ error }) => errors.push(error))),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  const tls = Deno.startTls(raw, { hostname: "localhost", caCerts: [fx.ca] });
  let failed = false;
  try {
    using conn = await tls;
    await conn.handshake();
  } catch {
    failed = true;
  }
  assert(failed, "the handshake failed");
  assertEquals(errors.length, 1);
  assertEquals(server.connections, 0);
  // A raw peer that sends nothing useful is closed too.
  using other = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(other, "\x16\x03\x01 not a header");
  assertEquals(
    (await within(readUntilClosed(other), 5000, "close")).length,
    0,
  );
});

Deno.test("serve() on tls://...?proxy-protocol fails only the handshake when bytes that are not TLS come with the header", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const failures: unknown[] = [];
  await using server = await serve({
    listen: ["tls://127.0.0.1:0?proxy-protocol"],
    tls: { cert: fx.cert, key: fx.key },
    onEvent: all(
      on("handshake-error", ({ error }) => failures.push(error)),
    ),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  for (const junk of ["x", "GET / HTTP/1.0\r\n\r\n"]) {
    using raw = await Deno.connect({ hostname: "127.0.0.1", port });
    // One write: the header and what follows it arrive in the same read.
    await writeAll(raw, `PROXY UNKNOWN\r\n${junk}`);
    assertEquals(
      (await within(readUntilClosed(raw), 5000, "close")).length,
      0,
    );
  }
  assertEquals(failures.length, 2);
  // The server still serves.
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(raw, "PROXY UNKNOWN\r\n");
  using conn = await Deno.startTls(raw, {
    hostname: "localhost",
    caCerts: [fx.ca],
  });
  await assertEchoes(conn, "still here\n");
});
