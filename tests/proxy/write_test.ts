// Copyright the deno-echo authors. MIT license.

// writeProxyHeader(): a header with the connection's own addresses (or a
// stated source), read back by readProxyHeader() on the other end.

import { assertEquals, assertRejects } from "@std/assert";
import { readProxyHeader } from "../../src/proxy/read.ts";
import { writeProxyHeader } from "../../src/proxy/write.ts";

for (const version of [1, 2] as const) {
  Deno.test(`writeProxyHeader() v${version} states the connection's own addresses, or the given source`, async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    {
      using client = await Deno.connect({
        hostname: "127.0.0.1",
        port: listener.addr.port,
      });
      using server = await listener.accept();
      await writeProxyHeader(client, version);
      const { header } = await readProxyHeader(server, { timeout: 5000 });
      assertEquals(header.version, version);
      assertEquals(header.source, client.localAddr);
      assertEquals(header.destination, listener.addr);
    }
    {
      using client = await Deno.connect({
        hostname: "127.0.0.1",
        port: listener.addr.port,
      });
      using server = await listener.accept();
      const source: Deno.NetAddr = {
        transport: "tcp",
        hostname: "2001:db8::7",
        port: 4242,
      };
      await writeProxyHeader(client, version, { source });
      const { header } = await readProxyHeader(server, { timeout: 5000 });
      assertEquals(header.source, source);
      // Mixed families go as IPv6: the IPv4 destination comes back unmapped.
      assertEquals(header.destination, listener.addr);
    }
  });
}

Deno.test("writeProxyHeader() refuses a connection that is not over TCP", async () => {
  const conn = {
    localAddr: { transport: "unix", path: "/tmp/a.sock" } as const,
    remoteAddr: { transport: "unix", path: "/tmp/b.sock" } as const,
    write: (p: Uint8Array) => Promise.resolve(p.length),
  };
  await assertRejects(
    () => writeProxyHeader(conn, 1),
    TypeError,
    'its local address is "unix"',
  );
});
