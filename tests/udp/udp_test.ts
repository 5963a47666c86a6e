// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import type { RemoteInfo, Socket } from "node:dgram";
import { UnknownHostError } from "../../src/net/resolve.ts";
import { SourceLimiter } from "../../src/udp/source_limiter.ts";
import {
  DatagramLostError,
  openUdpClient,
  udpEcho,
} from "../../src/udp/udp_client.ts";
import {
  REFLECTOR_PORTS,
  serveUdp,
  type UdpDatagramInfo,
  type UdpDropInfo,
  type UdpEchoServer,
  type UdpServeOptions,
} from "../../src/udp/udp_server.ts";
import {
  runUdpSession,
  type UdpLostLine,
} from "../../src/client/udp_session.ts";
import { bindUdp, closeUdp } from "../../src/udp/udp_socket.ts";
import { bytes, skip } from "../_helpers/util.ts";

const decoder = new TextDecoder();
const text = (data: Uint8Array): string => decoder.decode(data);

/** A plain socket for playing client or fake server; closed on dispose. */
interface RawSocket extends AsyncDisposable {
  socket: Socket;
  addr: Deno.NetAddr;
  /** Every datagram received, in order. */
  received: { data: Uint8Array; from: RemoteInfo }[];
  /** Resolves once `count` datagrams in all have been received. */
  receivedCount(count: number): Promise<void>;
  send(data: Uint8Array, to: { hostname: string; port: number }): Promise<void>;
}

async function rawSocket(
  hostname: string,
  port = 0,
  onMessage?: (raw: RawSocket, data: Uint8Array, from: RemoteInfo) => void,
): Promise<RawSocket> {
  const waiters: { count: number; resolve: () => void }[] = [];
  const received: RawSocket["received"] = [];
  // Set once the socket is bound, for onMessage.
  const self: { raw?: RawSocket } = {};
  const { socket, addr } = await bindUdp(hostname, port, (s) => {
    s.on("error", () => {});
    s.on("message", (msg, from) => {
      const data = new Uint8Array(msg);
      received.push({ data, from });
      for (const w of waiters) if (received.length >= w.count) w.resolve();
      if (self.raw !== undefined) onMessage?.(self.raw, data, from);
    });
  });
  const raw: RawSocket = {
    socket,
    addr,
    received,
    receivedCount: (count) => {
      if (received.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    send: (data, to) =>
      new Promise((resolve, reject) =>
        socket.send(
          data,
          to.port,
          to.hostname,
          (error) => error ? reject(error) : resolve(),
        )
      ),
    [Symbol.asyncDispose]: () => closeUdp(socket),
  };
  self.raw = raw;
  return raw;
}

/**
 * Binds a raw socket on a fixed loopback port, or says visibly why not (no
 * permission for a privileged port, or the port is taken).
 */
async function rawSocketOnPort(port: number): Promise<RawSocket | undefined> {
  try {
    return await rawSocket("127.0.0.1", port);
  } catch (error) {
    if (
      error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.AddrInUse
    ) {
      skip(`cannot bind 127.0.0.1:${port} (${error.name})`);
      return undefined;
    }
    throw error;
  }
}

/** Binds the first free privileged port below 1024 that is no reflector. */
async function privilegedSocket(): Promise<RawSocket | undefined> {
  for (let port = 1023; port > 1013; port--) {
    if (REFLECTOR_PORTS.has(port)) continue;
    try {
      return await rawSocket("127.0.0.1", port);
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) continue;
      if (error instanceof Deno.errors.PermissionDenied) break;
      throw error;
    }
  }
  skip("cannot bind a privileged port (not root?)");
  return undefined;
}

/**
 * A server whose hooks count datagrams, to wait for them without sleeping;
 * closed on dispose.
 */
interface Watched extends AsyncDisposable {
  server: UdpEchoServer;
  echoes: UdpDatagramInfo[];
  drops: UdpDropInfo[];
  /** Resolves once `count` datagrams in all were echoed or dropped. */
  handled(count: number): Promise<void>;
}

async function watchedServer(options: UdpServeOptions): Promise<Watched> {
  const echoes: UdpDatagramInfo[] = [];
  const drops: UdpDropInfo[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of waiters) {
      if (echoes.length + drops.length >= w.count) w.resolve();
    }
  };
  const server = await serveUdp({
    ...options,
    onEcho: (info) => {
      echoes.push(info);
      check();
    },
    onDrop: (info) => {
      drops.push(info);
      check();
    },
  });
  return {
    server,
    echoes,
    drops,
    handled: (count) => {
      if (echoes.length + drops.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
}

const NO_DROPS = {
  "privileged-port": 0,
  "reflector-port": 0,
  "oversize": 0,
  "rate-limit": 0,
  "overload": 0,
};

Deno.test("serveUdp() echoes datagrams over IPv4, IPv6 and localhost", async (t) => {
  await t.step("127.0.0.1", async () => {
    await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
    assertEquals(server.addrs.map((a) => [a.transport, a.hostname]), [
      ["udp", "127.0.0.1"],
    ]);
    const reply = await udpEcho("over v4", server.addrs[0]!);
    assertEquals(text(reply.data), "over v4");
    assertEquals(reply.attempts, 1);
    assertEquals(reply.remoteAddr, server.addrs[0]);
    assertEquals(server.stats, {
      echoedDatagrams: 1,
      echoedBytes: 7,
      dropped: NO_DROPS,
      sendErrors: 0,
    });
  });

  await t.step("::1", async () => {
    await using server = await serveUdp({ hostname: "::1", port: 0 });
    const reply = await udpEcho("over v6", server.addrs[0]!);
    assertEquals(text(reply.data), "over v6");
    assertEquals(reply.remoteAddr.hostname, "::1");
  });

  await t.step("localhost binds both loopbacks on one port", async () => {
    const listened = Promise.withResolvers<readonly Deno.NetAddr[]>();
    await using w = await watchedServer({
      port: 0,
      onListen: (addrs) => listened.resolve(addrs),
    });
    const { server } = w;
    assertEquals(await listened.promise, server.addrs);
    assertEquals(server.addrs.map((a) => a.hostname).sort(), [
      "127.0.0.1",
      "::1",
    ]);
    assertEquals(server.addrs[0]!.port, server.addrs[1]!.port);
    for (const addr of server.addrs) {
      const reply = await udpEcho(`via ${addr.hostname}`, addr);
      assertEquals(text(reply.data), `via ${addr.hostname}`);
    }
    for (const family of [4, 6] as const) {
      await using client = await openUdpClient({
        hostname: "localhost",
        port: server.addrs[0]!.port,
        family,
      });
      const reply = await client.echo(`family ${family}`);
      assertEquals(
        reply.remoteAddr.hostname,
        family === 4 ? "127.0.0.1" : "::1",
      );
    }
    assertEquals(
      w.echoes.map((e) => [e.remoteAddr.hostname, e.localAddr.hostname]),
      [
        ...server.addrs.map((a) => [a.hostname, a.hostname]),
        ["127.0.0.1", "127.0.0.1"],
        ["::1", "::1"],
      ],
    );
  });
});

Deno.test("serveUdp() on :: is dual-stack and shows IPv4 senders as plain IPv4", async () => {
  await using w = await watchedServer({ hostname: "::", port: 0 });
  // The dual-stack socket covers IPv4: 0.0.0.0 is not bound as well.
  assertEquals(w.server.addrs.map((a) => a.hostname), ["::"]);
  const port = w.server.addrs[0]!.port;
  await using v4 = await rawSocket("127.0.0.1");
  await v4.send(bytes("v4 over v6"), { hostname: "127.0.0.1", port });
  await v4.receivedCount(1);
  assertEquals(text(v4.received[0]!.data), "v4 over v6");
  assertEquals(v4.received[0]!.from.address, "127.0.0.1");
  assertEquals(w.echoes[0]!.remoteAddr, {
    transport: "udp",
    hostname: "127.0.0.1",
    port: v4.addr.port,
  });
  assertEquals(w.echoes[0]!.localAddr, w.server.addrs[0]);

  const reply = await udpEcho("v6", { hostname: "::1", port });
  assertEquals(text(reply.data), "v6");
  assertEquals(w.echoes[1]!.remoteAddr.hostname, "::1");
});

Deno.test("serveUdp() drops datagrams from privileged source ports unless allowed", async (t) => {
  await using sender = await privilegedSocket();
  if (sender === undefined) return;
  assert(sender.addr.port < 1024);

  await t.step("dropped by default", async () => {
    await using w = await watchedServer({ hostname: "127.0.0.1", port: 0 });
    await sender.send(bytes("from a system port"), w.server.addrs[0]!);
    await w.handled(1);
    assertEquals(w.drops, [{
      remoteAddr: {
        transport: "udp",
        hostname: "127.0.0.1",
        port: sender.addr.port,
      },
      localAddr: w.server.addrs[0],
      size: 18,
      reason: "privileged-port",
    }]);
    assertEquals(w.server.stats.dropped, { ...NO_DROPS, "privileged-port": 1 });
    assertEquals(w.server.stats.echoedDatagrams, 0);
  });

  await t.step("echoed with allowPrivilegedSourcePorts", async () => {
    await using w = await watchedServer({
      hostname: "127.0.0.1",
      port: 0,
      allowPrivilegedSourcePorts: true,
    });
    const before = sender.received.length;
    await sender.send(bytes("allowed"), w.server.addrs[0]!);
    await sender.receivedCount(before + 1);
    assertEquals(text(sender.received[before]!.data), "allowed");
    assertEquals(w.server.stats.echoedDatagrams, 1);
  });
});

Deno.test("serveUdp() always drops datagrams from reflector ports", async (t) => {
  await using w = await watchedServer({
    hostname: "127.0.0.1",
    port: 0,
    allowPrivilegedSourcePorts: true,
  });
  let handled = 0;
  // chargen (privileged) and mDNS (not): both would answer the echo.
  for (const port of [19, 5353]) {
    await t.step(`source port ${port}`, async () => {
      await using sender = await rawSocketOnPort(port);
      if (sender === undefined) return;
      await sender.send(bytes("loop?"), w.server.addrs[0]!);
      await w.handled(++handled);
      assertEquals(w.drops.at(-1)!.reason, "reflector-port");
      assertEquals(w.drops.at(-1)!.remoteAddr.port, port);
    });
  }
  assertEquals(w.server.stats.dropped, {
    ...NO_DROPS,
    "reflector-port": handled,
  });
  assertEquals(w.server.stats.echoedDatagrams, 0);
});

Deno.test("serveUdp() drops datagrams larger than maxDatagramSize", async (t) => {
  for (const maxDatagramSize of [undefined, 100]) {
    const limit = maxDatagramSize ?? 8192;
    await t.step(`limit ${limit}`, async () => {
      await using w = await watchedServer({
        hostname: "127.0.0.1",
        port: 0,
        ...(maxDatagramSize === undefined ? {} : { maxDatagramSize }),
      });
      await using client = await rawSocket("127.0.0.1");
      await client.send(new Uint8Array(limit + 1), w.server.addrs[0]!);
      await w.handled(1);
      await client.send(new Uint8Array(limit).fill(7), w.server.addrs[0]!);
      await client.receivedCount(1);
      assertEquals(client.received[0]!.data.length, limit);
      assertEquals(w.drops.map((d) => [d.reason, d.size]), [
        ["oversize", limit + 1],
      ]);
      assertEquals(w.server.stats, {
        echoedDatagrams: 1,
        echoedBytes: limit,
        dropped: { ...NO_DROPS, oversize: 1 },
        sendErrors: 0,
      });
    });
  }
});

Deno.test("serveUdp() rate-limits each source address with a token bucket", async () => {
  // Practically no refill during the test: the burst is all there is.
  await using w = await watchedServer({
    port: 0,
    ratePerSource: 0.001,
    burst: 5,
  });
  const [v4, v6] = ["127.0.0.1", "::1"].map((hostname) =>
    w.server.addrs.find((a) => a.hostname === hostname)!
  );
  await using flooder = await rawSocket("127.0.0.1");
  for (let i = 0; i < 12; i++) await flooder.send(bytes(`#${i}`), v4!);
  await w.handled(12);
  await flooder.receivedCount(5);
  assertEquals(w.server.stats.dropped, { ...NO_DROPS, "rate-limit": 7 });
  assertEquals(w.server.stats.echoedDatagrams, 5);
  assert(w.drops.every((d) => d.remoteAddr.hostname === "127.0.0.1"));

  // Another source address has a bucket of its own.
  await using other = await rawSocket("::1");
  for (let i = 0; i < 3; i++) await other.send(bytes(`v6 #${i}`), v6!);
  await other.receivedCount(3);
  assertEquals(w.server.stats.echoedDatagrams, 8);
  // The same address from another port shares the first one's bucket.
  await using sibling = await rawSocket("127.0.0.1");
  await sibling.send(bytes("same address"), v4!);
  await w.handled(16);
  assertEquals(w.server.stats.dropped, { ...NO_DROPS, "rate-limit": 8 });
});

Deno.test("SourceLimiter keeps a bounded number of sources, least recent out", () => {
  const limiter = new SourceLimiter({ rate: 1, burst: 1, maxSources: 3 });
  const t0 = 1000;
  for (const source of ["a", "b", "c"]) assert(limiter.allow(source, t0));
  assert(!limiter.allow("a", t0)); // "a" is now the most recent, then c, b.
  for (let i = 0; i < 1000; i++) limiter.allow(`spoofed ${i}`, t0);
  assertEquals(limiter.size, 3);
  // "a" was pushed out by the flood: forgotten, it starts with a full bucket.
  assert(limiter.allow("a", t0));
  // Refill: one token per second, never more than the burst.
  assert(!limiter.allow("a", t0 + 500));
  assert(limiter.allow("a", t0 + 1500));
  assert(!limiter.allow("a", t0 + 1500));
  assert(limiter.allow("a", t0 + 100_000));
  assert(!limiter.allow("a", t0 + 100_000));
});

Deno.test("serveUdp() validates its options", async (t) => {
  const cases: [string, UdpServeOptions][] = [
    ["port -1", { port: -1 }],
    ["port 65536", { port: 65536 }],
    ["port 1.5", { port: 1.5 }],
    ["maxDatagramSize 0", { maxDatagramSize: 0 }],
    ["maxDatagramSize 65508", { maxDatagramSize: 65508 }],
    ["ratePerSource -1", { ratePerSource: -1 }],
    ["ratePerSource NaN", { ratePerSource: NaN }],
    ["burst 0", { burst: 0 }],
    ["burst 1.5", { burst: 1.5 }],
    ["maxSources 0", { maxSources: 0 }],
  ];
  for (const [name, options] of cases) {
    await t.step(name, async () => {
      await assertRejects(
        () => serveUdp({ hostname: "127.0.0.1", ...options }),
        RangeError,
      );
    });
  }
  await t.step("unknown host", async () => {
    await assertRejects(
      () => serveUdp({ hostname: "no-such-host.invalid", port: 0 }),
      UnknownHostError,
    );
  });
  await t.step("port in use", async () => {
    await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
    await assertRejects(
      () => serveUdp({ hostname: "127.0.0.1", port: server.addrs[0]!.port }),
      Deno.errors.AddrInUse,
    );
  });
  await t.step("ratePerSource 0 means no limit", async () => {
    await using w = await watchedServer({
      hostname: "127.0.0.1",
      port: 0,
      ratePerSource: 0,
      burst: 1,
    });
    await using client = await rawSocket("127.0.0.1");
    for (let i = 0; i < 5; i++) {
      await client.send(bytes("x"), w.server.addrs[0]!);
    }
    await client.receivedCount(5);
    assertEquals(w.server.stats.echoedDatagrams, 5);
  });
});

Deno.test("serveUdp() stops on abort, and shutdown() is close()", async (t) => {
  await t.step("aborted before it starts", async () => {
    const reason = new Error("not today");
    await assertRejects(() =>
      serveUdp({
        hostname: "127.0.0.1",
        port: 0,
        signal: AbortSignal.abort(reason),
      })
    ).then((error) => assert(error === reason));
  });
  await t.step("aborted while running", async () => {
    const controller = new AbortController();
    const server = await serveUdp({
      hostname: "127.0.0.1",
      port: 0,
      signal: controller.signal,
    });
    controller.abort();
    await server.finished;
    // The port is free again.
    await using again = await serveUdp({
      hostname: "127.0.0.1",
      port: server.addrs[0]!.port,
    });
    assertEquals(again.addrs[0]!.port, server.addrs[0]!.port);
  });
  await t.step("shutdown() twice, then close()", async () => {
    const server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
    await Promise.all([server.shutdown(), server.shutdown()]);
    await server.close();
    await server.finished;
  });
});

Deno.test("serveUdp() survives hooks that throw", async () => {
  await using server = await serveUdp({
    hostname: "127.0.0.1",
    port: 0,
    maxDatagramSize: 10,
    onListen: () => {
      throw new Error("listen hook");
    },
    onEcho: () => {
      throw new Error("echo hook");
    },
    onDrop: () => {
      throw new Error("drop hook");
    },
  });
  await using client = await rawSocket("127.0.0.1");
  await client.send(new Uint8Array(11), server.addrs[0]!);
  await client.send(bytes("fine"), server.addrs[0]!);
  await client.receivedCount(1);
  assertEquals(text(client.received[0]!.data), "fine");
  assertEquals(server.stats.dropped, { ...NO_DROPS, oversize: 1 });
});

/** A fake server that hands each datagram to `reply` (echo, ignore, ...). */
function fakeServer(
  reply: (raw: RawSocket, data: Uint8Array, from: RemoteInfo) => void,
): Promise<RawSocket> {
  return rawSocket("127.0.0.1", 0, reply);
}

Deno.test("UdpEchoClient sends again when a datagram is lost", async () => {
  let seen = 0;
  await using server = await fakeServer((raw, data, from) => {
    // The first datagram is "lost"; the rest are echoed.
    if (++seen > 1) {
      void raw.send(data, { hostname: from.address, port: from.port });
    }
  });
  const reply = await udpEcho("again", {
    hostname: "127.0.0.1",
    port: server.addr.port,
    timeout: 100,
    retries: 2,
  });
  assertEquals(text(reply.data), "again");
  assertEquals(reply.attempts, 2);
  assertEquals(server.received.length, 2);
});

Deno.test("UdpEchoClient reports a loss when the server never answers", async () => {
  await using server = await fakeServer(() => {});
  const started = performance.now();
  await assertRejects(() =>
    udpEcho("anyone?", {
      hostname: "127.0.0.1",
      port: server.addr.port,
      timeout: 100,
      retries: 1,
    })
  ).then((error) =>
    assert(error instanceof DatagramLostError && error.attempts === 2)
  );
  assert(performance.now() - started >= 190);
  await server.receivedCount(2);
  assertEquals(server.received.map((r) => text(r.data)), [
    "anyone?",
    "anyone?",
  ]);
});

Deno.test("UdpEchoClient ignores replies that do not match", async () => {
  await using stranger = await rawSocket("127.0.0.1");
  let seen = 0;
  await using server = await fakeServer((raw, data, from) => {
    const to = { hostname: from.address, port: from.port };
    if (++seen === 1) {
      // First: the right bytes from the wrong port, and the wrong bytes
      // from the right one. Neither is the echo.
      void stranger.send(data, to);
      void raw.send(bytes("something else"), to);
    } else {
      void raw.send(data, to);
    }
  });
  const reply = await udpEcho("the echo", {
    hostname: "127.0.0.1",
    port: server.addr.port,
    timeout: 200,
    retries: 2,
  });
  assertEquals(text(reply.data), "the echo");
  assertEquals(reply.attempts, 2);
});

Deno.test("UdpEchoClient matches concurrent echoes by content", async () => {
  await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
  await using client = await openUdpClient(server.addrs[0]!);
  const words = ["one", "two", "three", "four"];
  const replies = await Promise.all(words.map((w) => client.echo(w)));
  assertEquals(replies.map((r) => text(r.data)), words);
  assert(replies.every((r) => r.attempts === 1 && r.rtt >= 0));
});

Deno.test("openUdpClient() uses the address of a name that answers", async () => {
  // A server on ::1 only; localhost is tried on both loopbacks.
  await using w = await watchedServer({ hostname: "::1", port: 0 });
  await using client = await openUdpClient({
    port: w.server.addrs[0]!.port,
    timeout: 500,
  });
  const first = await client.echo("which one?");
  assertEquals(first.remoteAddr.hostname, "::1");
  assertEquals(client.remoteAddr, first.remoteAddr);
  const second = await client.echo("this one");
  assertEquals(second.remoteAddr.hostname, "::1");
  assertEquals(w.echoes.length, 2);
});

Deno.test("UdpEchoClient validates, refuses big payloads, and stops on close or abort", async (t) => {
  await t.step("options", async () => {
    for (
      const options of [
        { port: 0 },
        { port: 65536 },
        { timeout: 0 },
        { timeout: Infinity },
        { retries: -1 },
        { retries: 0.5 },
        { maxDatagramSize: 65508 },
      ]
    ) {
      await assertRejects(
        () => openUdpClient({ hostname: "127.0.0.1", ...options }),
        RangeError,
      );
    }
    await assertRejects(
      () => openUdpClient({ hostname: "::1", port: 7, family: 4 }),
      UnknownHostError,
    );
  });

  await using server = await fakeServer(() => {});
  const to = { hostname: "127.0.0.1", port: server.addr.port };

  await t.step("payload larger than maxDatagramSize", async () => {
    await using client = await openUdpClient({ ...to, maxDatagramSize: 4 });
    await assertRejects(() => client.echo("12345"), RangeError);
    assertEquals(server.received.length, 0);
  });

  await t.step("close() while waiting", async () => {
    const client = await openUdpClient({ ...to, timeout: 10_000 });
    const pending = assertRejects(
      () => client.echo("wait"),
      Deno.errors.BadResource,
    );
    await server.receivedCount(1);
    await client.close();
    await pending;
    await assertRejects(() => client.echo("closed"), Deno.errors.BadResource);
  });

  await t.step("abort while waiting", async () => {
    const controller = new AbortController();
    await using client = await openUdpClient({
      ...to,
      timeout: 10_000,
      signal: controller.signal,
    });
    const reason = new Error("enough");
    const pending = assertRejects(() => client.echo("wait")).then((error) =>
      assert(error === reason)
    );
    await server.receivedCount(2);
    controller.abort(reason);
    await pending;
  });
});

/** Runs a session over the given input text; returns its result and output. */
async function session(
  options: Parameters<typeof runUdpSession>[0],
  input: string | Uint8Array[],
): Promise<
  { result: Awaited<ReturnType<typeof runUdpSession>>; output: string }
> {
  let output = "";
  const chunks = typeof input === "string" ? [bytes(input)] : input;
  const result = await runUdpSession(
    options,
    ReadableStream.from(chunks),
    new WritableStream({ write: (c) => void (output += text(c)) }),
  );
  return { result, output };
}

Deno.test("runUdpSession() sends lines as datagrams until the quit line", async (t) => {
  await using w = await watchedServer({ hostname: "127.0.0.1", port: 0 });
  const options = { hostname: "127.0.0.1", port: w.server.addrs[0]!.port };

  await t.step("line rules and BYE", async () => {
    const before = w.echoes.length;
    const { result, output } = await session(
      options,
      "one\r\ntwo\n\n  BYE \r\nnot sent\n",
    );
    assertEquals(output, "one\ntwo\n\n  BYE \n");
    assertEquals(result, {
      sent: 4,
      echoed: 4,
      lost: 0,
      retries: 0,
      outputClosed: false,
    });
    // Each line is one datagram, without its newline.
    assertEquals(w.echoes.slice(before).map((e) => e.size), [3, 3, 0, 6]);
  });

  await t.step(
    "lines split across chunks, last one without newline",
    async () => {
      const { result, output } = await session(
        options,
        ["sp", "lit\r", "\nlast\r"].map(bytes),
      );
      assertEquals(output, "split\nlast\n");
      assertEquals(result.echoed, 2);
    },
  );

  await t.step("quitWord null sends everything", async () => {
    const { output } = await session(
      { ...options, quitWord: null },
      "BYE\nmore",
    );
    assertEquals(output, "BYE\nmore\n");
  });

  await t.step(
    "an output that stops taking data ends the session",
    async () => {
      const result = await runUdpSession(
        options,
        ReadableStream.from([bytes("one\ntwo\n")]),
        new WritableStream({
          write: () => Promise.reject(new Error("pipe closed")),
        }),
      );
      assertEquals(result, {
        sent: 1,
        echoed: 1,
        lost: 0,
        retries: 0,
        outputClosed: true,
      });
    },
  );

  await t.step(
    "a line longer than maxDatagramSize fails before it is sent",
    async () => {
      const before = w.echoes.length;
      let output = "";
      await assertRejects(() =>
        runUdpSession(
          { ...options, maxDatagramSize: 8 },
          ReadableStream.from([bytes("short\r\n12345678\n123456789\nnext\n")]),
          new WritableStream({ write: (c) => void (output += text(c)) }),
        )
      ).then((error) =>
        assert(error instanceof RangeError && /Line 3/.test(error.message))
      );
      assertEquals(output, "short\n12345678\n");
      assertEquals(w.echoes.length - before, 2);
    },
  );
});

Deno.test("runUdpSession() counts lost lines and retries, and goes on", async () => {
  let seen = 0;
  await using server = await fakeServer((raw, data, from) => {
    // Datagram 1 ("a", first try) is lost, then "a" is echoed on its
    // retry; "b" is never echoed; "c" is.
    seen++;
    if (seen === 1 || text(data) === "b") return;
    void raw.send(data, { hostname: from.address, port: from.port });
  });
  const lost: UdpLostLine[] = [];
  const { result, output } = await session(
    {
      hostname: "127.0.0.1",
      port: server.addr.port,
      timeout: 100,
      retries: 1,
      onLost: (info) => lost.push(info),
    },
    "a\nb\nc\n",
  );
  assertEquals(output, "a\nc\n");
  assertEquals(result, {
    sent: 3,
    echoed: 2,
    lost: 1,
    retries: 2,
    outputClosed: false,
  });
  assertEquals(lost, [{ line: 2, size: 1, attempts: 2 }]);
});

Deno.test("runUdpSession() stops at once when aborted", async () => {
  await using server = await fakeServer(() => {});
  const controller = new AbortController();
  const reason = new Error("stop");
  let cancelled = false;
  const input = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(bytes("waits\nnever read\n")),
    cancel: () => void (cancelled = true),
  });
  const running = assertRejects(() =>
    runUdpSession(
      {
        hostname: "127.0.0.1",
        port: server.addr.port,
        timeout: 10_000,
        signal: controller.signal,
      },
      input,
      new WritableStream(),
    )
  ).then((error) => assert(error === reason));
  await server.receivedCount(1);
  controller.abort(reason);
  await running;
  assert(cancelled);
  assertEquals(server.received.length, 1);
});
