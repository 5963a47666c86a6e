// Copyright the deno-echo authors. MIT license.

// A real server with metrics, known traffic over TCP, UDP and (when openssl
// is installed) TLS, and a scrape of /metrics over HTTP afterwards.

import { createSocket } from "node:dgram";
import { assertEquals } from "@std/assert";
import { serve, type ServeOptions, type ServerEvent } from "../../mod.ts";
import { serveMetrics } from "../../src/metrics/metrics_server.ts";
import { ServerMetrics } from "../../src/metrics/server_metrics.ts";
import {
  connectTo,
  readExactly,
  readToEnd,
  readUntilClosed,
  writeAll,
} from "../_helpers/conn.ts";
import { createTlsFixtures } from "../_helpers/tls.ts";
import { bytes, within } from "../_helpers/util.ts";

/** Resolves when enough events of a type have been seen. */
export class EventCounts {
  readonly #counts = new Map<string, number>();
  readonly #waits: { type: string; n: number; resolve: () => void }[] = [];

  /** For `onEvent`, beside the metrics. */
  readonly hook = (event: ServerEvent): void => {
    const n = (this.#counts.get(event.type) ?? 0) + 1;
    this.#counts.set(event.type, n);
    for (const wait of this.#waits) {
      if (wait.type === event.type && n >= wait.n) wait.resolve();
    }
  };

  /** Resolves once `n` events of `type` have been seen in all. */
  until(type: ServerEvent["type"], n: number): Promise<void> {
    if ((this.#counts.get(type) ?? 0) >= n) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waits.push({ type, n, resolve });
    return within(promise, 10_000, `${n} "${type}" events`);
  }
}

/** What the traffic was, to compare the scrape with. */
export interface Traffic {
  /** The exposition scraped after the traffic. */
  text: string;
  /** The listeners' URLs. */
  tcp: string;
  udp: string;
  /** Absent when openssl is not installed. */
  tls: string | undefined;
  /** Bytes the TCP clients sent (and had echoed), by how they ended. */
  eofBytes: number;
  quitBytes: number;
}

const HELD = 3;
const REJECTED = 2;
const QUITTERS = 2;

/** Runs the traffic and scrapes; cleans up after itself. */
export async function runTraffic(): Promise<Traffic> {
  await using fixtures = await createTlsFixtures();
  const metrics = new ServerMetrics({ version: "9.8.7" });
  const counts = new EventCounts();
  const options: ServeOptions = {
    listen: [
      "tcp://127.0.0.1:0",
      "udp://127.0.0.1:0",
      ...(fixtures ? ["tls://127.0.0.1:0"] : []),
    ],
    ...(fixtures ? { tls: { cert: fixtures.cert, key: fixtures.key } } : {}),
    udp: { maxDatagramSize: 100 },
    maxConnections: HELD,
    onEvent: (event) => {
      metrics.observe(event);
      counts.hook(event);
    },
  };
  await using server = await serve(options);
  metrics.attach(server);
  await using scraper = serveMetrics({ port: 0, metrics });
  const url = (t: string): string | undefined =>
    server.listeners.find((l) => l.transport === t)?.url;
  const tcpAddr = server.addrs[0]!;
  const [eofBytes, quitBytes] = await tcpTraffic(tcpAddr, counts);
  await udpTraffic(server.listeners.find((l) => l.transport === "udp")!.addr);
  await counts.until("udp-drop", 1);
  if (fixtures) {
    const tls = server.listeners.find((l) => l.transport === "tls")!;
    await tlsTraffic(tls.addr as Deno.NetAddr, fixtures.ca, counts);
  }
  const response = await fetch(`http://127.0.0.1:${scraper.addr.port}/metrics`);
  assertEquals(response.status, 200);
  return {
    text: await response.text(),
    tcp: url("tcp")!,
    udp: url("udp")!,
    tls: url("tls"),
    eofBytes,
    quitBytes,
  };
}

/**
 * Three clients held open, two rejected by `maxConnections`, the three
 * closed by EOF, then two that say the quit word.
 *
 * @returns The bytes echoed to the EOF clients and to the quitters.
 */
async function tcpTraffic(
  addr: Deno.NetAddr,
  counts: EventCounts,
): Promise<[number, number]> {
  const held = await Promise.all(
    Array.from({ length: HELD }, () => connectTo(addr)),
  );
  let eofBytes = 0;
  for (const [i, conn] of held.entries()) {
    const payload = bytes(String(i).repeat(1000 * (i + 1)));
    await writeAll(conn, payload);
    assertEquals(await readExactly(conn, payload.length), payload);
    eofBytes += payload.length;
  }
  await counts.until("open", HELD);
  for (let i = 0; i < REJECTED; i++) {
    using conn = await connectTo(addr);
    assertEquals((await readUntilClosed(conn)).length, 0);
  }
  await counts.until("reject", REJECTED);
  for (const conn of held) {
    await conn.closeWrite();
    assertEquals((await readToEnd(conn)).length, 0);
    conn.close();
  }
  await counts.until("close", HELD);
  let quitBytes = 0;
  for (let i = 0; i < QUITTERS; i++) {
    using conn = await connectTo(addr);
    const said = bytes(`client ${i}\nBYE\n`);
    await writeAll(conn, said);
    assertEquals(await readToEnd(conn), said);
    quitBytes += said.length;
  }
  await counts.until("close", HELD + QUITTERS);
  return [eofBytes, quitBytes];
}

/**
 * One datagram dropped as oversize (200 bytes), then one echoed (10 bytes):
 * the echo coming back shows the first was seen.
 */
async function udpTraffic(addr: Deno.Addr): Promise<void> {
  const { hostname, port } = addr as Deno.NetAddr;
  const socket = createSocket("udp4");
  const send = (data: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) =>
      socket.send(
        data,
        port,
        hostname,
        (error) => error ? reject(error) : resolve(),
      )
    );
  try {
    const echoed = new Promise<Uint8Array>((resolve) =>
      socket.once("message", (message) => resolve(new Uint8Array(message)))
    );
    await send(new Uint8Array(200));
    await send(bytes("0123456789"));
    assertEquals(
      await within(echoed, 10_000, "the datagram's echo"),
      bytes("0123456789"),
    );
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** One good TLS client (6 bytes), one that sends no handshake. */
async function tlsTraffic(
  addr: Deno.NetAddr,
  ca: string,
  counts: EventCounts,
): Promise<void> {
  {
    using conn = await Deno.connectTls({
      hostname: addr.hostname,
      port: addr.port,
      caCerts: [ca],
    });
    await writeAll(conn, "secure");
    assertEquals(await readExactly(conn, 6), bytes("secure"));
    await conn.closeWrite();
    assertEquals((await readToEnd(conn)).length, 0);
  }
  {
    using conn = await connectTo(addr);
    await writeAll(conn, "GET / HTTP/1.0\r\n\r\n");
    await readUntilClosed(conn);
  }
  await counts.until("handshake-error", 1);
  await counts.until("close", HELD + QUITTERS + 1);
}
