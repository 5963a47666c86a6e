// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { dialTls, EchoClient, serve } from "../../mod.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip } from "../_helpers/util.ts";

Deno.test("EchoClient wraps a TCP connection opened by the caller", async () => {
  await using server = await serve({ hostname: "::", port: 0 });
  const { port } = server.addrs[0]!;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await using client = new EchoClient(conn);
  const tcp: Deno.TcpConn = client.conn;
  assertEquals(tcp, conn);
  assertEquals(client.remoteAddr, {
    transport: "tcp",
    hostname: "127.0.0.1",
    port,
  });
  assertEquals(client.toString(), `127.0.0.1:${port}`);
  assertEquals(await client.send("one"), "one");
  await client.writeLine("two");
  await client.closeWrite();
  assertEquals(await client.readLine(), "two");
  assertEquals(await client.readLine(), null);
});

Deno.test("EchoClient wraps a TLS connection opened by the caller", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip("openssl is not installed");
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const conn = await dialTls({
    hostname: "localhost",
    port,
    family: 4,
    caCerts: [fx.ca],
    timeout: 5000,
  });
  await using client = new EchoClient(conn);
  const tls: Deno.TlsConn = client.conn;
  assertEquals(tls, conn);
  assertEquals(client.toString(), `127.0.0.1:${port}`);
  const bytes = new Uint8Array([0, 255, 13, 66, 10]);
  assertEquals(await client.echoBytes(bytes), bytes);
  assertEquals(await client.send("BYE"), "BYE");
  assertEquals(await client.readLine(), null);
});

Deno.test("EchoClient wraps a Unix connection opened by the caller", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deno_echo_client_" });
  try {
    const path = `${dir}/echo.sock`;
    await using _server = await serve({ listen: [`unix:${path}`] });
    const conn = await Deno.connect({ transport: "unix", path });
    await using client = new EchoClient(conn, { maxLineLength: 8 });
    const unix: Deno.UnixConn = client.conn;
    assertEquals(unix, conn);
    assertEquals(client.remoteAddr, { transport: "unix", path });
    assertEquals(client.toString(), `unix:${path}`);
    assertEquals(await client.send("12345678"), "12345678");
    await client.writeLine("123456789");
    await assertRejects(
      () => client.readLine(),
      RangeError,
      "Echoed line longer than 8 bytes",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EchoClient refuses a maxLineLength below 1 or not whole", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  using _accepted = await listener.accept();
  for (const maxLineLength of [0, -1, 2.5, NaN]) {
    assertThrows(
      () => new EchoClient(conn, { maxLineLength }),
      RangeError,
      `Invalid maxLineLength ${maxLineLength}`,
    );
  }
});

Deno.test("EchoClient.send() refuses a line with a newline, and the next send gets its own echo", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addrs[0]!;
  await using client = new EchoClient(
    await Deno.connect({ hostname: "127.0.0.1", port }),
  );
  await assertRejects(() => client.send("a\nb"), TypeError, "newline");
  assertEquals(await client.send("next"), "next");
  await assertRejects(() => client.writeLine("c\n"), TypeError, "newline");
  assertEquals(await client.send("last"), "last");
});
