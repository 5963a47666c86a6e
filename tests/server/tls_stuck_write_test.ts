// Copyright the deno-echo authors. MIT license.

// A tls:// client that sends and never reads leaves the server's echo write
// stuck. Closing such a connection (the idle timeout, shutdown) must still
// tear it down at once: it used to throw inside close() and leave the
// connection, its descriptor and its slot held until the peer left. Needs
// openssl for the fixtures; without it the test says "skipped:".

import { assert } from "@std/assert";
import { serve } from "../../mod.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";
import { dialGood, NO_OPENSSL } from "./_transport.ts";

/** Writes until a write fails (the server closed), at most `max` chunks. */
async function writeUntilClosed(conn: Deno.Conn, max: number): Promise<number> {
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  for (let n = 0; n < max; n++) {
    try {
      await conn.write(chunk);
    } catch {
      return n;
    }
  }
  return max;
}

Deno.test("serve() on tls:// closes a connection whose echo write is stuck, once it is idle", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
    idleTimeout: 300,
    quitWord: null,
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  using conn = await dialGood(fx, port);
  // 32 MiB is far more than the socket buffers hold, so the echo's write is
  // stuck once the client stops sending; then the idle timeout closes it.
  await within(
    writeUntilClosed(conn, 512),
    10_000,
    "the client's writes to end",
  );
  await within(
    (async () => {
      while (server.connections > 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })(),
    5000,
    "the server to count the connection out",
  );
});

/**
 * Writes until a write has not completed for `stallMs` or `max` bytes are
 * written; returns the bytes written.
 */
async function writeUntilStalled(
  conn: Deno.Conn,
  max: number,
  stallMs: number,
): Promise<number> {
  const chunk = new Uint8Array(64 * 1024).fill(0x62);
  let written = 0;
  while (written < max) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<"stalled">((resolve) => {
      timer = setTimeout(() => resolve("stalled"), stallMs);
    });
    const wrote = conn.write(chunk);
    const outcome = await Promise.race([wrote, stalled]);
    clearTimeout(timer);
    if (outcome === "stalled") {
      conn.close();
      await wrote.catch(() => {});
      return written;
    }
    written += outcome;
  }
  return written;
}

Deno.test("serve() on tls:// holds back a client that sends without reading, as TCP does", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
    quitWord: null,
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  const conn = await dialGood(fx, port);
  const max = 256 * 1024 * 1024;
  const written = await within(
    writeUntilStalled(conn, max, 1000),
    30_000,
    "the client's writes to stall",
  );
  // The socket buffers on both sides and the server's read-ahead hold a few
  // MiB; without flow control every byte was taken.
  assert(written < 32 * 1024 * 1024, `${written} bytes taken`);
});
