// Copyright the deno-echo authors. MIT license.

// A tls:// client that sends, half-closes (its close_notify and TCP FIN)
// and reads on must get every byte back, then the server's close_notify. The
// server's close_notify used to be lost whenever the TCP write before it, or
// the close_notify's own, did not complete at once (a full socket buffer):
// `node:tls` finishes its side before it has handed its last records to the
// duplex under it, then destroys itself and the duplex. Here every server
// write waits a macrotask first, as a write to a full buffer does, which
// made every such close lose it. From 256 KiB on, `node:tls` also took the
// client's close_notify, and the TCP end after it, without reporting either,
// so the echo never ended: now, once the TCP stream has ended and nothing
// comes for a moment, the input counts as ended. Needs openssl for the
// fixtures; without it the test says "skipped:".

import { assertEquals } from "@std/assert";
import { echo } from "../../src/echo/echo.ts";
import { loadTls, startTls, tlsSetup } from "../../src/server/tls.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";
import { NO_OPENSSL } from "./_transport.ts";

/** A TCP connection whose writes each wait one macrotask before they go. */
function slowWrites(conn: Deno.TcpConn): Deno.TcpConn {
  return new Proxy(conn, {
    get(target, key): unknown {
      if (key === "write") {
        return async (data: Uint8Array): Promise<number> => {
          await new Promise((resolve) => setTimeout(resolve, 0));
          return await target.write(data);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Reads to the end; the error, if the end was not clean. */
async function readAll(
  conn: Deno.Conn,
): Promise<{ bytes: number; error?: unknown }> {
  const buffer = new Uint8Array(64 * 1024);
  let bytes = 0;
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return { bytes };
      bytes += n;
    }
  } catch (error) {
    return { bytes, error };
  }
}

Deno.test("a TLS echo after the client's half-close sends every byte, then its close_notify, even when its writes do not complete at once", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await loadTls();
  const setup = tlsSetup({ cert: fx.cert, key: fx.key });
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  for (const size of [0, 1, 1024, 100 * 1024, 256 * 1024, 1024 * 1024]) {
    for (let round = 0; round < 3; round++) {
      const accepted = listener.accept();
      using client = await Deno.connectTls({
        hostname: "localhost",
        port,
        caCerts: [fx.ca],
      });
      const serving = (async () => {
        const conn = slowWrites(await accepted);
        const { conn: tls } = await startTls(conn, undefined, setup, 5000, {
          stopped: false,
        });
        return await echo(tls, { quitWord: null });
      })();
      const payload = new Uint8Array(size).fill(0x61);
      const reading = readAll(client);
      for (let off = 0; off < size;) {
        off += await client.write(payload.subarray(off));
      }
      await client.closeWrite();
      const { bytes, error } = await within(reading, 10_000, "the echo");
      const result = await within(serving, 10_000, "the server's echo");
      assertEquals(result.reason, "eof");
      assertEquals(
        { size, bytes, error: error === undefined ? undefined : String(error) },
        { size, bytes: size, error: undefined },
      );
    }
  }
});
