// Copyright the deno-echo authors. MIT license.

// What serve() and serveUdp() make of options that are wrong, and of a
// signal aborted while they start.

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  type ListenerSpec,
  serve,
  type ServeOptions,
  serveUdp,
} from "../../mod.ts";
import { connectTo } from "../_helpers/conn.ts";

Deno.test("serve() refuses options that are not what they say, before binding anything", async (t) => {
  const cases: [string, ServeOptions, ErrorConstructor, string][] = [
    [
      "transport sctp",
      { listen: [{ transport: "sctp" } as unknown as ListenerSpec] },
      TypeError,
      'Invalid listener transport "sctp"',
    ],
    [
      "unix without a path",
      { listen: [{ transport: "unix" } as unknown as ListenerSpec] },
      TypeError,
      "A unix listener needs a path",
    ],
    [
      "quitWord 5",
      { port: 0, quitWord: 5 as unknown as string },
      TypeError,
      "Invalid quitWord 5",
    ],
    [
      "maxBytes 0.5",
      { port: 0, maxBytes: 0.5 },
      RangeError,
      "Invalid maxBytes 0.5: expected a whole number, 0 or more",
    ],
    [
      "drainTimeout over 2^31 - 1 ms",
      { port: 0, drainTimeout: 2 ** 31 },
      RangeError,
      "Invalid drainTimeout 2147483648",
    ],
    [
      "tls.handshakeTimeout NaN",
      {
        listen: ["tls://127.0.0.1:0"],
        tls: { cert: "", key: "", handshakeTimeout: NaN },
      },
      RangeError,
      "Invalid tls.handshakeTimeout NaN",
    ],
    [
      "the same unix: path twice",
      {
        listen: [
          "unix:/tmp/deno_echo_twice.sock",
          "unix:/tmp/deno_echo_twice.sock",
        ],
      },
      TypeError,
      'Listener "unix:/tmp/deno_echo_twice.sock" is given twice',
    ],
  ];
  for (const [name, options, type, message] of cases) {
    await t.step(name, async () => {
      let listening = false;
      await assertRejects(
        () => serve({ ...options, onListen: () => listening = true }),
        type,
        message,
      );
      assertEquals(listening, false);
    });
  }
  // A unix listener without a path once bound a socket named "undefined".
  await assertRejects(() => Deno.lstat("undefined"), Deno.errors.NotFound);
});

Deno.test("serve() aborted while it starts rejects with the signal's reason and leaves nothing listening", async (t) => {
  for (const workers of [1, 2]) {
    await t.step(`workers ${workers}`, async () => {
      const controller = new AbortController();
      const reason = new Error("stopped while starting");
      let listening = false;
      let port = 0;
      const starting = serve({
        hostname: "127.0.0.1",
        port: 0,
        workers,
        signal: controller.signal,
        onListen: () => listening = true,
        onEvent: () => {},
      });
      // serve() is past its checks and binding (it awaits the lookup).
      controller.abort(reason);
      const error = await starting.then(
        (server) => {
          port = server.addrs[0]!.port;
          return undefined;
        },
        (error) => error,
      );
      assertEquals(error, reason);
      assertEquals(listening, false);
      assertEquals(port, 0);
    });
  }
});

Deno.test("serveUdp() aborted while it starts rejects with the signal's reason", async () => {
  const controller = new AbortController();
  const reason = new Error("stopped while binding");
  let listening = false;
  const starting = serveUdp({
    hostname: "localhost",
    port: 0,
    signal: controller.signal,
    onListen: () => listening = true,
  });
  controller.abort(reason);
  await assertRejects(() => starting, Error, "stopped while binding");
  assertEquals(listening, false);
});

Deno.test("serve() with a signal that is not aborted starts as usual", async () => {
  const controller = new AbortController();
  let addrs: readonly Deno.NetAddr[] = [];
  const server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: (bound) => addrs = bound,
  });
  assertEquals(addrs, server.addrs);
  using conn = await connectTo(server.addrs[0]!);
  assert(conn.remoteAddr.port > 0);
  controller.abort();
  await server.finished;
});
