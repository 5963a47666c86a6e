// Copyright the deno-echo authors. MIT license.

// readProxyHeader() against a real HAProxy: a client bound to 127.0.0.2
// talks through it to a plain Deno listener, which must learn the client's
// address and port from the header and then get the client's bytes, exact.
// Ignored (and reported as such) where haproxy is not installed.

import { assertEquals } from "@std/assert";
import { concat } from "@std/bytes";
import { once } from "node:events";
import net from "node:net";
import { readProxyHeader } from "../../src/proxy/read.ts";
import { createTlsFixtures, toolAvailable } from "../_helpers/tls.ts";
import {
  findHaproxy,
  type SendProxy,
  startHaproxy,
} from "../_helpers/haproxy.ts";
import {
  assertBytesEqual,
  bytes,
  mulberry32,
  randomBytes,
  within,
} from "../_helpers/util.ts";

const haproxy = await findHaproxy();
const ignore = haproxy === undefined;
const noOpenssl = !await toolAvailable("openssl", ["version"]);
const CLIENT_HOST = "127.0.0.2";

async function readExactly(
  conn: Deno.Conn,
  first: Uint8Array,
  size: number,
): Promise<Uint8Array> {
  const chunks = [first];
  let have = first.length;
  const buffer = new Uint8Array(64 * 1024);
  while (have < size) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    have += n;
  }
  return concat(chunks);
}

const CASES: [SendProxy, 1 | 2, string][] = [
  ["send-proxy", 1, ""],
  // A CRC32C to check and a unique ID to skip, as HAProxy writes them.
  ["send-proxy-v2", 2, "proxy-v2-options crc32c,unique-id"],
];

for (const [sendProxy, version, serverOptions] of CASES) {
  Deno.test({
    name:
      `readProxyHeader() learns the client's address from HAProxy's ${sendProxy}`,
    ignore,
    async fn(): Promise<void> {
      using backend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      await using proxy = await startHaproxy({
        backend: backend.addr,
        sendProxy,
        serverOptions,
      });
      // Deno.connect cannot choose its source address; node:net can.
      const client = net.connect({
        host: proxy.hostname,
        port: proxy.port,
        localAddress: CLIENT_HOST,
      });
      const closed = once(client, "close");
      client.on("error", () => {});
      try {
        await within(once(client, "connect"), 10_000, "connecting to HAProxy");
        const message = concat([
          bytes("hello through HAProxy\r\n"),
          randomBytes(mulberry32(11), 200_000),
        ]);
        client.write(message);
        using conn = await within(
          backend.accept(),
          10_000,
          "HAProxy's connection",
        );
        const { header, rest } = await readProxyHeader(conn, {
          timeout: 10_000,
        });
        assertEquals(header.version, version);
        assertEquals(header.command, "proxy");
        assertEquals(header.transport, "tcp");
        assertEquals(header.source, {
          transport: "tcp",
          hostname: CLIENT_HOST,
          port: client.localPort!,
        });
        assertEquals(header.destination, {
          transport: "tcp",
          hostname: proxy.hostname,
          port: proxy.port,
        });
        const received = await within(
          readExactly(conn, rest, message.length),
          10_000,
          "the client's bytes",
        );
        assertBytesEqual(received, message, "bytes after the header");
      } finally {
        client.destroy();
        await closed;
      }
    },
  });
}

Deno.test({
  name: "readProxyHeader() reads HAProxy's v2 health checks as LOCAL",
  ignore,
  async fn(): Promise<void> {
    using backend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await using _proxy = await startHaproxy({
      backend: backend.addr,
      sendProxy: "send-proxy-v2",
      serverOptions: "check check-send-proxy inter 100",
      // The check waits for an answer, so it is still open when read.
      backendLines: ["option tcp-check", "tcp-check expect string OK"],
    });
    using conn = await within(
      acceptOne(backend),
      10_000,
      "HAProxy's health check",
    );
    const { header, rest } = await readProxyHeader(conn, { timeout: 10_000 });
    assertEquals(header, { version: 2, command: "local" });
    assertEquals(rest.length, 0);
    await conn.write(bytes("OK\n"));
  },
});

/** The next connection that is still there when accepted. */
async function acceptOne(listener: Deno.Listener): Promise<Deno.Conn> {
  for (;;) {
    try {
      return await listener.accept();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotConnected)) throw error;
    }
  }
}

Deno.test({
  name: "readProxyHeader() reports the ALPN and SNI HAProxy's TLS frontend saw",
  ignore: ignore || noOpenssl,
  async fn(): Promise<void> {
    await using fixtures = await createTlsFixtures();
    if (fixtures === null) throw new Error("openssl went missing");
    const pem = `${fixtures.dir}/haproxy.pem`;
    await Deno.writeTextFile(pem, `${fixtures.cert}\n${fixtures.key}`);
    using backend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await using proxy = await startHaproxy({
      backend: backend.addr,
      sendProxy: "send-proxy-v2",
      serverOptions: "proxy-v2-options authority",
      bindOptions: `ssl crt ${pem} alpn echo`,
    });
    using client = await Deno.connectTls({
      hostname: "localhost",
      port: proxy.port,
      caCerts: [fixtures.ca],
      alpnProtocols: ["echo"],
    });
    await client.write(bytes("over TLS"));
    using conn = await within(backend.accept(), 10_000, "HAProxy's connection");
    const { header, rest } = await readProxyHeader(conn, { timeout: 10_000 });
    assertEquals(header.alpn, "echo");
    assertEquals(header.authority, "localhost");
    assertEquals(header.source, {
      transport: "tcp",
      hostname: client.localAddr.hostname,
      port: client.localAddr.port,
    });
    const received = await readExactly(conn, rest, 8);
    assertEquals(new TextDecoder().decode(received), "over TLS");
  },
});
