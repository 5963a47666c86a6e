// Copyright the deno-echo authors. MIT license.

// udp:// listeners: echo-server and echo-client as real processes, with
// node:dgram sockets as other peers. A test that cannot bind a privileged
// source port says so on a line starting "skipped:".

import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { createSocket, type Socket } from "node:dgram";
import { assertStopsCleanly, logLine, runClient } from "../_helpers/cli.ts";
import { skip } from "../_helpers/util.ts";
import {
  assertClientEchoes,
  assertOneLineFailure,
  CLIENT,
  startListening,
  udpSummary,
} from "./_transport.ts";

const encoder = new TextEncoder();

/** A node:dgram socket on 127.0.0.1 playing a client. */
interface UdpPeer extends AsyncDisposable {
  readonly port: number;
  /** Every datagram received, in order. */
  readonly received: Uint8Array[];
  send(data: Uint8Array | string, port: number): Promise<void>;
  /** true once `count` datagrams have arrived; false after `ms` ms. */
  receivedWithin(count: number, ms: number): Promise<boolean>;
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // Never bound, or closed already.
    }
  });
}

/**
 * Binds a UDP socket on 127.0.0.1 (port 0: any free one).
 *
 * @throws The bind's error, with its `code` (EACCES, EADDRINUSE, ...).
 */
async function udpPeer(port = 0): Promise<UdpPeer> {
  const socket = createSocket({ type: "udp4" });
  const received: Uint8Array[] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (msg) => {
    received.push(new Uint8Array(msg));
    for (const waiter of waiters) waiter();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address: "127.0.0.1", port }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await closeSocket(socket);
    throw error;
  }
  // ICMP port unreachable and the like: the tests look at what arrives.
  socket.on("error", () => {});
  return {
    port: socket.address().port,
    received,
    send: (data, to) =>
      new Promise((resolve, reject) =>
        socket.send(
          typeof data === "string" ? encoder.encode(data) : data,
          to,
          "127.0.0.1",
          (error) => error ? reject(error) : resolve(),
        )
      ),
    receivedWithin: (count, ms) =>
      new Promise((resolve) => {
        if (received.length >= count) return resolve(true);
        const check = (): void => {
          if (received.length < count) return;
          done();
          resolve(true);
        };
        const timer = setTimeout(() => {
          done();
          resolve(false);
        }, ms);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
      }),
    [Symbol.asyncDispose]: () => closeSocket(socket),
  };
}

/** A peer on a fixed source port, or null (after saying why) if refused. */
async function privilegedPeer(port: number): Promise<UdpPeer | null> {
  try {
    return await udpPeer(port);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "EACCES" || code === "EPERM" || code === "EADDRINUSE") {
      skip(`cannot bind UDP source port ${port} (${code})`);
      return null;
    }
    throw error;
  }
}

/** How long a dropped datagram is given to (not) come back. */
const NO_ECHO_WAIT = 300;

Deno.test("echo-server --listen udp:// echoes echo-client's lines and drops datagrams from privileged and reflector ports and oversized ones", async (t) => {
  await using server = await startListening([
    "--listen",
    "udp://127.0.0.1:0",
    "--max-datagram",
    "512",
  ]);
  const listening = server.listening[0]!;
  assertEquals(listening.transport, "udp");
  assertEquals(listening.hostname, "127.0.0.1");
  const { port } = listening;
  assertNotEquals(port, 0);
  assertEquals(listening.text, `udp://127.0.0.1:${port}`);
  const expected: Record<string, number> = {};
  let echoed = 0;

  await t.step(
    "echo-client udp://127.0.0.1:PORT prints piped lines, exit 0",
    async () => {
      const result = await assertClientEchoes([`udp://127.0.0.1:${port}`]);
      assertEquals(result.stderr, "");
      echoed += 2;
    },
  );

  for (
    const [source, reason] of [
      [1000, "privileged-port"],
      [19, "reflector-port"],
    ] as const
  ) {
    await t.step(
      `from source port ${source}: dropped as ${reason}`,
      async () => {
        await using peer = await privilegedPeer(source);
        if (peer === null) return;
        await peer.send("ping", port);
        await server.waitFor(
          "stderr",
          logLine(
            `udp 127\\.0\\.0\\.1:${source} datagram of 4 bytes dropped: ${reason}`,
          ),
        );
        assertEquals(await peer.receivedWithin(1, NO_ECHO_WAIT), false);
        expected[reason] = 1;
      },
    );
  }

  await t.step(
    "1000 bytes over --max-datagram 512: dropped as oversize; 512 bytes echoed",
    async () => {
      await using peer = await udpPeer();
      await peer.send(new Uint8Array(1000).fill(0x61), port);
      await server.waitFor(
        "stderr",
        logLine(
          `udp 127\\.0\\.0\\.1:${peer.port} datagram of 1000 bytes dropped: oversize`,
        ),
      );
      assertEquals(await peer.receivedWithin(1, NO_ECHO_WAIT), false);
      expected["oversize"] = 1;

      const fits = new Uint8Array(512).fill(0x62);
      await peer.send(fits, port);
      assert(await peer.receivedWithin(1, 5000), "the 512-byte echo");
      assertEquals(peer.received, [fits]);
      echoed += 1;
    },
  );

  await t.step(
    "SIGTERM: exit 0, the summary line counts echoes and drops",
    async () => {
      const result = await assertStopsCleanly(server);
      const summary = udpSummary(result.stderr, `udp://127.0.0.1:${port}`);
      assertEquals(summary.echoed, echoed);
      assertEquals(summary.dropped, expected);
    },
  );
});

Deno.test("echo-server --udp-rate 5 drops a burst beyond the rate from one source and counts the drops at shutdown", async () => {
  await using server = await startListening([
    "--listen",
    "udp://127.0.0.1:0",
    "--udp-rate",
    "5",
  ]);
  const { port } = server.listening[0]!;
  await using peer = await udpPeer();
  const burst = 30;
  for (let i = 0; i < burst; i++) await peer.send(`datagram ${i}`, port);
  await server.waitFor(
    "stderr",
    logLine(
      `udp 127\\.0\\.0\\.1:${peer.port} datagram of \\d+ bytes dropped: rate-limit`,
    ),
  );

  const result = await assertStopsCleanly(server);
  const { echoed, dropped } = udpSummary(
    result.stderr,
    `udp://127.0.0.1:${port}`,
  );
  const limited = dropped["rate-limit"] ?? 0;
  assertEquals(Object.keys(dropped), ["rate-limit"]);
  assertEquals(echoed + limited, burst);
  assert(echoed >= 5 && echoed < burst, `${echoed} echoed`);
  assert(limited > 0);
  // Every echo the server counted did arrive, and no more.
  assert(await peer.receivedWithin(echoed, 5000), "the counted echoes");
  assertEquals(peer.received.length, echoed);
});

Deno.test("echo-client udp:// exits 11 when no echo ever comes back", async () => {
  // A peer that takes every datagram and answers none. (A port nothing is
  // bound to on loopback is reported as refused: see the client's tests.)
  await using silent = await udpPeer();
  const result = await runClient(
    [`udp://127.0.0.1:${silent.port}`, "--read-timeout", "200ms"],
    "lost\n",
    CLIENT,
  );
  assertOneLineFailure(
    result,
    11,
    /^echo-client: 1 of 1 lines got no echo/,
  );
});
