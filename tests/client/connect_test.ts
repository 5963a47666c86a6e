// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { connect, serve, UnknownHostError } from "../../mod.ts";
import { parseConnectAddress } from "../../src/client/connect.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip } from "../_helpers/util.ts";

/** A port with nothing listening on 127.0.0.1 (bound, then released). */
function closedPort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

Deno.test("parseConnectAddress() reads HOST:PORT and listener URLs", async (t) => {
  const cases: [string, ReturnType<typeof parseConnectAddress>][] = [
    ["localhost", { transport: "tcp", hostname: "localhost", port: 2000 }],
    ["127.0.0.1:7", { transport: "tcp", hostname: "127.0.0.1", port: 7 }],
    ["[::1]:2000", { transport: "tcp", hostname: "::1", port: 2000 }],
    ["::1", { transport: "tcp", hostname: "::1", port: 2000 }],
    ["tcp://example.com:9", {
      transport: "tcp",
      hostname: "example.com",
      port: 9,
    }],
    ["tcp://[::1]:9/", { transport: "tcp", hostname: "::1", port: 9 }],
    ["TLS://localhost", {
      transport: "tls",
      hostname: "localhost",
      port: 2000,
    }],
    ["tls://[::1]:2443", { transport: "tls", hostname: "::1", port: 2443 }],
    ["unix:/run/echo.sock", { transport: "unix", path: "/run/echo.sock" }],
    ["unix:///run/echo.sock", { transport: "unix", path: "/run/echo.sock" }],
    ["unix:echo.sock", { transport: "unix", path: "echo.sock" }],
  ];
  for (const [address, expected] of cases) {
    await t.step(address, () => {
      assertEquals(parseConnectAddress(address), expected);
    });
  }

  const bad: [string, ErrorConstructor, string][] = [
    ["", RangeError, "Empty host"],
    ["[::1", RangeError, 'Invalid address "[::1": missing "]"'],
    ["::1:2000x", RangeError, "[ADDRESS]:PORT"],
    ["localhost:65536", RangeError, '"65536"'],
    ["unix:", RangeError, 'Invalid address "unix:": expected unix:PATH'],
    ["http://localhost", RangeError, "expected HOST:PORT, tcp://HOST:PORT"],
    ["tcp://", RangeError, 'Invalid address "tcp://": Empty host'],
    ["tls://[::1", RangeError, 'Invalid address "tls://[::1"'],
    ["udp://localhost:7", TypeError, "udp:// carries datagrams"],
  ];
  for (const [address, type, message] of bad) {
    await t.step(`${address || '""'} is refused`, () => {
      assertThrows(() => parseConnectAddress(address), type, message);
    });
  }
});

Deno.test("connect() reaches a TCP server from an options object, HOST:PORT, [V6]:PORT or tcp://", async (t) => {
  await using v4 = await serve({ hostname: "127.0.0.1", port: 0 });
  await using v6 = await serve({ hostname: "::1", port: 0 });
  const port4 = v4.addrs[0]!.port;
  const port6 = v6.addrs[0]!.port;

  await t.step(
    "an options object (a TCP connection, typed as one)",
    async () => {
      await using client = await connect({
        hostname: "127.0.0.1",
        port: port4,
      });
      const tcp: Deno.TcpConn = client.conn;
      assertEquals(typeof tcp.setNoDelay, "function");
      assertEquals(await client.send("ping"), "ping");
    },
  );

  const forms: [string, string][] = [
    [`127.0.0.1:${port4}`, `127.0.0.1:${port4}`],
    [`localhost:${port4}`, `127.0.0.1:${port4}`],
    [`[::1]:${port6}`, `[::1]:${port6}`],
    [`tcp://127.0.0.1:${port4}`, `127.0.0.1:${port4}`],
    [`tcp://[::1]:${port6}/`, `[::1]:${port6}`],
  ];
  for (const [address, peer] of forms) {
    await t.step(address, async () => {
      await using client = await connect(address, {
        timeout: 5000,
        ...(address.startsWith("localhost") ? { family: 4 as const } : {}),
      });
      assertEquals(client.conn.remoteAddr.transport, "tcp");
      assert(!("handshake" in client.conn), "a TCP connection, not TLS");
      assertEquals(client.toString(), peer);
      assertEquals(await client.send("ping"), "ping");
    });
  }

  await t.step("a refused address rejects as Deno.connect does", async () => {
    await assertRejects(
      () => connect(`127.0.0.1:${closedPort()}`),
      Deno.errors.ConnectionRefused,
    );
  });

  await t.step("an unknown host rejects with UnknownHostError", async () => {
    await assertRejects(
      () => connect("no-such-host.invalid:7"),
      UnknownHostError,
    );
  });
});

Deno.test("connect() reaches a tls:// server, trusting the CA it is given", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip("openssl is not installed");
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  {
    await using client = await connect(`tls://localhost:${port}`, {
      caCerts: [fx.ca],
      family: 4,
      timeout: 5000,
    });
    assert("handshake" in client.conn, "a TLS connection");
    const { alpnProtocol } = await (client.conn as Deno.TlsConn).handshake();
    assertEquals(alpnProtocol, "echo");
    assertEquals(await client.send("secret"), "secret");
    assertEquals(client.toString(), `127.0.0.1:${port}`);
  }
  // Without the CA the server's certificate is not trusted.
  await assertRejects(
    () => connect(`tls://localhost:${port}`, { family: 4, timeout: 5000 }),
    Deno.errors.InvalidData,
  );
});

Deno.test("connect() reaches a unix: server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deno_echo_connect_" });
  try {
    const path = `${dir}/echo.sock`;
    await using _server = await serve({ listen: [`unix:${path}`] });
    await using client = await connect(`unix:${path}`);
    assertEquals(client.remoteAddr, { transport: "unix", path });
    assertEquals(client.toString(), `unix:${path}`);
    assertEquals(await client.send("local"), "local");
    await assertRejects(
      () => connect(`unix:${dir}/nothing.sock`),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect() checks its arguments before dialing", async (t) => {
  // Nothing listens there: an error other than ConnectionRefused shows that
  // no connection was tried.
  const port = closedPort();
  await t.step("udp:// is not a stream", async () => {
    await assertRejects(
      () => connect(`udp://127.0.0.1:${port}`),
      TypeError,
      "openUdpClient",
    );
  });
  await t.step("TLS options go with tls:// only", async () => {
    await assertRejects(
      () => connect(`127.0.0.1:${port}`, { caCerts: ["x"] }),
      TypeError,
      'Option "caCerts" goes with a tls:// address',
    );
    await assertRejects(
      () =>
        connect(`unix:/x.sock`, { unsafelyDisableHostnameVerification: true }),
      TypeError,
      "unsafelyDisableHostnameVerification",
    );
  });
  await t.step("maxLineLength must be 1 or more", async () => {
    await assertRejects(
      () => connect(`127.0.0.1:${port}`, { maxLineLength: 0 }),
      RangeError,
      "Invalid maxLineLength 0",
    );
    await assertRejects(
      () => connect({ hostname: "127.0.0.1", port, maxLineLength: 1.5 }),
      RangeError,
      "Invalid maxLineLength 1.5",
    );
  });
  await t.step("port 0 cannot be dialed", async () => {
    await assertRejects(
      () => connect("127.0.0.1:0"),
      RangeError,
      "Invalid port 0",
    );
  });
  await t.step("an aborted signal", async () => {
    const signal = AbortSignal.abort(new Error("stop"));
    for (const address of [`127.0.0.1:${port}`, "unix:/x.sock"]) {
      await assertRejects(() => connect(address, { signal }), Error, "stop");
    }
  });
});

Deno.test("connect() takes a server's bound address: TCP, Unix, not UDP", async (t) => {
  await t.step("server.addr of a TCP listener", async () => {
    await using server = await serve({ hostname: "127.0.0.1", port: 0 });
    await using client = await connect(server.addr);
    assertEquals(await client.send("tcp"), "tcp");
  });
  await t.step("server.addr of a Unix listener", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await using server = await serve({ listen: [`unix:${dir}/s.sock`] });
      assertEquals(server.addr.transport, "unix");
      await using client = await connect(server.addr);
      assertEquals(await client.send("unix"), "unix");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("a UDP address is a TypeError", async () => {
    await assertRejects(
      () => connect({ transport: "udp", hostname: "127.0.0.1", port: 7 }),
      TypeError,
      "openUdpClient",
    );
  });
});
