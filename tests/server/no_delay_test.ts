// Copyright the deno-echo authors. MIT license.

// When the server turns Nagle off: for plain TCP, before a connection's
// second chunk is echoed (never for a connection of one chunk); for PROXY
// protocol connections, before their header is read. Observed through
// `setNoDelay` on Deno's own TCP connections, recorded for the ones the
// server accepted.

import { assertEquals } from "@std/assert";
import { serve } from "../../mod.ts";
import { buildProxyHeader } from "../../src/proxy/build.ts";
import { bytes } from "../_helpers/util.ts";

/** The prototype Deno's TCP connections share. */
async function tcpConnPrototype(): Promise<{ setNoDelay(on: boolean): void }> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  return Object.getPrototypeOf(conn);
}

/**
 * Records `setNoDelay` calls on connections whose local port is `port`,
 * by the client's port, until disposed.
 */
async function recordNoDelay(): Promise<
  { calls: Map<number, boolean[]>; port: { value: number } } & Disposable
> {
  const prototype = await tcpConnPrototype();
  const original = prototype.setNoDelay;
  const calls = new Map<number, boolean[]>();
  const port = { value: -1 };
  prototype.setNoDelay = function (this: Deno.TcpConn, on: boolean): void {
    if (this.localAddr.port === port.value) {
      const client = this.remoteAddr.port;
      calls.set(client, [...calls.get(client) ?? [], on]);
    }
    return original.call(this, on);
  };
  return {
    calls,
    port,
    [Symbol.dispose]: () => prototype.setNoDelay = original,
  };
}

/** Sends each chunk and reads its echo in turn; the client's port. */
async function echoChunks(
  port: number,
  chunks: string[],
  header?: Uint8Array,
): Promise<number> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (header !== undefined) await conn.write(header);
  for (const chunk of chunks) {
    await conn.write(bytes(chunk));
    const echo = new Uint8Array(chunk.length);
    for (let off = 0; off < echo.length;) {
      const n = await conn.read(echo.subarray(off));
      if (n === null) throw new Error("The server closed the connection");
      off += n;
    }
    assertEquals(new TextDecoder().decode(echo), chunk);
  }
  return conn.localAddr.port;
}

Deno.test("serve() turns Nagle off on a plain TCP connection at its second chunk, not for one of one chunk", async () => {
  using recorded = await recordNoDelay();
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  const { port } = server.addrs[0]!;
  recorded.port.value = port;
  const once = await echoChunks(port, ["only\n"]);
  const twice = await echoChunks(port, ["one\n", "two\n"]);
  await server.shutdown();
  assertEquals(recorded.calls.get(once), undefined);
  assertEquals(recorded.calls.get(twice), [true]);
});

Deno.test("serve() turns Nagle off on a PROXY protocol connection before its header", async () => {
  using recorded = await recordNoDelay();
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    proxyProtocol: true,
  });
  const { port } = server.addrs[0]!;
  recorded.port.value = port;
  const header = buildProxyHeader(1, {
    source: { transport: "tcp", hostname: "192.0.2.1", port: 4000 },
    destination: { transport: "tcp", hostname: "192.0.2.2", port: 2000 },
  });
  const once = await echoChunks(port, ["only\n"], header);
  await server.shutdown();
  assertEquals(recorded.calls.get(once), [true]);
});
