// Copyright the deno-echo authors. MIT license.

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
} from "@std/assert";
import { concat } from "@std/bytes";
import { buildProxyHeader } from "../../src/proxy/build.ts";
import {
  type ProxyHeaderReader,
  readProxyHeader,
} from "../../src/proxy/read.ts";
import { ProxyHeaderError } from "../../src/proxy/types.ts";
import {
  assertBytesEqual,
  bytes,
  mulberry32,
  randomBytes,
} from "../_helpers/util.ts";

/** Hands out the chunks it was given, as reads of at most `p.length`. */
class ChunkReader implements ProxyHeaderReader {
  #chunks: Uint8Array[];
  /** Every byte handed out so far. */
  given = 0;
  /** The largest buffer a read was given. */
  largest = 0;

  constructor(chunks: Uint8Array[]) {
    this.#chunks = chunks.filter((chunk) => chunk.length > 0);
  }

  read(p: Uint8Array): Promise<number | null> {
    this.largest = Math.max(this.largest, p.length);
    const chunk = this.#chunks[0];
    if (chunk === undefined) return Promise.resolve(null);
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#chunks[0] = chunk.subarray(n);
    else this.#chunks.shift();
    this.given += n;
    return Promise.resolve(n);
  }

  /** What was not read yet. */
  remaining(): Uint8Array {
    return concat(this.#chunks);
  }
}

const addr = (hostname: string, port: number): Deno.NetAddr => ({
  transport: "tcp",
  hostname,
  port,
});

const HEADERS: [string, Uint8Array][] = [
  [
    "v1 TCP4",
    buildProxyHeader(1, {
      source: addr("203.0.113.7", 51234),
      destination: addr("192.0.2.1", 2000),
    }),
  ],
  [
    "v1 TCP6",
    buildProxyHeader(1, {
      source: addr("2001:db8::7", 1),
      destination: addr("::1", 2000),
    }),
  ],
  ["v1 UNKNOWN", buildProxyHeader(1)],
  [
    "v2 IPv4",
    buildProxyHeader(2, {
      source: addr("203.0.113.7", 51234),
      destination: addr("192.0.2.1", 2000),
    }),
  ],
  [
    "v2 IPv6 with TLVs",
    buildProxyHeader(2, {
      source: addr("2001:db8::7", 1),
      destination: addr("::1", 2000),
      alpn: "echo",
      authority: "echo.example",
    }),
  ],
  ["v2 LOCAL", buildProxyHeader(2)],
];

// The payload starts like a header, so that reading one byte too many shows.
const PAYLOAD = concat([
  bytes("PROXY TCP4 \r\n\r\n\0"),
  randomBytes(mulberry32(7), 48),
]);

async function check(
  header: Uint8Array,
  chunks: Uint8Array[],
  exact: boolean,
): Promise<void> {
  const reader = new ChunkReader(chunks);
  const { length, rest } = await readProxyHeader(reader, { exact });
  assertEquals(length, header.length);
  if (exact) {
    assertEquals(rest.length, 0);
    assertEquals(reader.given, header.length);
  }
  assertBytesEqual(concat([rest, reader.remaining()]), PAYLOAD, "payload");
}

Deno.test("readProxyHeader() reads the header however it is split, losing no byte after it", async (t) => {
  for (const [name, header] of HEADERS) {
    const data = concat([header, PAYLOAD]);
    for (const exact of [false, true]) {
      await t.step(`${name}${exact ? ", exact" : ""}`, async () => {
        await check(header, [data], exact);
        // One byte at a time.
        await check(
          header,
          Array.from(data, (byte) => Uint8Array.of(byte)),
          exact,
        );
        // Every split in two.
        for (let i = 1; i < data.length; i++) {
          await check(header, [data.subarray(0, i), data.subarray(i)], exact);
        }
        // Every split in three within the header and just past it.
        const end = Math.min(data.length, header.length + 2);
        for (let i = 1; i < end; i++) {
          for (let j = i + 1; j < end; j++) {
            await check(
              header,
              [data.subarray(0, i), data.subarray(i, j), data.subarray(j)],
              exact,
            );
          }
        }
      });
    }
  }
});

Deno.test("readProxyHeader() never asks for more than its bounded buffer", async () => {
  // A peer that sends a megabyte after a small header, or in place of one.
  const flood = new Uint8Array(1 << 20).fill(0x78);
  const good = new ChunkReader([buildProxyHeader(1), flood]);
  const { rest } = await readProxyHeader(good);
  assert(good.largest <= 16 + 1024, `read of ${good.largest} bytes`);
  assert(rest.length <= 16 + 1024 - 15);
  const bad = new ChunkReader([bytes("PROXY UNKNOWN "), flood]);
  await assertRejects(
    () => readProxyHeader(bad),
    ProxyHeaderError,
    "no CRLF within the first 107 bytes",
  );
  assert(bad.given <= 16 + 1024, `${bad.given} bytes read`);
  const small = new ChunkReader([bytes("PROXY UNKNOWN "), flood]);
  await assertRejects(
    () => readProxyHeader(small, { maxV2Length: 0 }),
    ProxyHeaderError,
  );
  assert(small.given <= 107, `${small.given} bytes read`);
});

Deno.test("readProxyHeader() rejects a stream that ends before the header", async () => {
  await assertRejects(
    () => readProxyHeader(new ChunkReader([])),
    ProxyHeaderError,
    "Connection closed before a PROXY header",
  );
  await assertRejects(
    () => readProxyHeader(new ChunkReader([bytes("PROXY TCP4 ")])),
    ProxyHeaderError,
    "Connection closed after 11 bytes of a PROXY header",
  );
  const v2 = buildProxyHeader(2);
  await assertRejects(
    () => readProxyHeader(new ChunkReader([v2.subarray(0, 15)])),
    ProxyHeaderError,
    "after 15 bytes",
  );
});

Deno.test("readProxyHeader() rejects bad options with a RangeError", async () => {
  for (const timeout of [0, -1, 1.5, 2 ** 31, NaN, Infinity]) {
    await assertRejects(
      () => readProxyHeader(new ChunkReader([]), { timeout }),
      RangeError,
      "Invalid timeout",
    );
  }
  await assertRejects(
    () => readProxyHeader(new ChunkReader([]), { maxV2Length: 70000 }),
    RangeError,
    "Invalid maxV2Length",
  );
});

Deno.test("readProxyHeader() over TCP: header and data sent a byte at a time", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  client.setNoDelay(true);
  using conn = await listener.accept();
  const header = HEADERS[1]![1];
  const data = concat([header, PAYLOAD]);
  const sending = (async () => {
    for (let i = 0; i < data.length; i++) {
      await client.write(data.subarray(i, i + 1));
    }
    await client.closeWrite();
  })();
  const { header: parsed, rest } = await readProxyHeader(conn, {
    timeout: 10_000,
  });
  assertEquals(parsed.source, addr("2001:db8::7", 1));
  const after = [rest];
  const buffer = new Uint8Array(256);
  for (let n; (n = await conn.read(buffer)) !== null;) {
    after.push(buffer.slice(0, n));
  }
  await sending;
  assertBytesEqual(concat(after), PAYLOAD, "payload");
});

Deno.test("readProxyHeader() times out, leaving the connection to the caller", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  const conn = await listener.accept();
  await client.write(bytes("PROXY TCP4 "));
  const error = await assertRejects(
    () => readProxyHeader(conn, { timeout: 100 }),
    Deno.errors.TimedOut,
    "No complete PROXY header within 100 ms",
  );
  assertInstanceOf(error, Deno.errors.TimedOut);
  // Still open: the caller closes it, which ends the read left pending.
  await client.write(bytes("x"));
  conn.close();
  assertEquals(await client.read(new Uint8Array(1)), null);
});

Deno.test("readProxyHeader() stops when its signal aborts", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using _client = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  const conn = await listener.accept();
  const controller = new AbortController();
  const reading = readProxyHeader(conn, { signal: controller.signal });
  controller.abort(new Error("shutting down"));
  await assertRejects(() => reading, Error, "shutting down");
  conn.close();
  const aborted = AbortSignal.abort(new Error("already"));
  const reader = new ChunkReader([buildProxyHeader(1)]);
  await assertRejects(
    () => readProxyHeader(reader, { signal: aborted }),
    Error,
    "already",
  );
  assertEquals(reader.given, 0);
});
