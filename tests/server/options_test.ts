// Copyright the deno-echo authors. MIT license.

import { delay } from "@std/async";
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  DEFAULT_DRAIN_TIMEOUT,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_HOSTNAME,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_PER_IP,
  DEFAULT_PORT,
  DEFAULT_QUIT_WORD,
  serve,
} from "../../mod.ts";
import {
  listenerSpecs,
  resolveSettings,
  SERVE_DEFAULTS,
} from "../../src/server/options.ts";
import { MAX_TIMEOUT } from "../../src/net/duration.ts";
import type { ListenerSpec, ServeTlsOptions } from "../../server.ts";

Deno.test("SERVE_DEFAULTS is what the DEFAULT_* constants say", () => {
  assertEquals(SERVE_DEFAULTS, {
    hostname: DEFAULT_HOSTNAME,
    port: DEFAULT_PORT,
    workers: 1,
    quitWord: DEFAULT_QUIT_WORD,
    drainTimeout: DEFAULT_DRAIN_TIMEOUT,
    idleTimeout: DEFAULT_IDLE_TIMEOUT,
    maxConnections: DEFAULT_MAX_CONNECTIONS,
    maxPerIp: DEFAULT_MAX_PER_IP,
    maxBytes: 0,
    handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT,
  });
  assertThrows(() => {
    (SERVE_DEFAULTS as { port: number }).port = 1;
  }, TypeError);
});

Deno.test("the @default of every option in the docs is its SERVE_DEFAULTS value", async () => {
  const source = await Deno.readTextFile(
    new URL("../../src/server/types.ts", import.meta.url),
  );
  const documented = new Map<string, string>();
  for (
    const [, value, key] of source.matchAll(
      /@default \{([^}]*)\}\s*\*\/\s*(\w+)\?:/g,
    )
  ) {
    documented.set(key!, value!);
  }
  for (const [key, value] of Object.entries(SERVE_DEFAULTS)) {
    const text = documented.get(key);
    assertEquals(text && JSON.parse(text), value, `@default of ${key}`);
  }
});

Deno.test("resolveSettings() applies the defaults and refuses bad limits", async (t) => {
  await t.step("defaults", () => {
    assertEquals(resolveSettings({}), {
      quitWord: "BYE",
      drainTimeout: 5000,
      idleTimeout: 300_000,
      maxConnections: 10_000,
      maxPerIp: 256,
      maxBytes: 0,
    });
  });
  await t.step("given values, null quit word", () => {
    assertEquals(
      resolveSettings({ quitWord: null, maxBytes: 10, idleTimeout: 0 }),
      {
        quitWord: null,
        drainTimeout: 5000,
        idleTimeout: 0,
        maxConnections: 10_000,
        maxPerIp: 256,
        maxBytes: 10,
      },
    );
  });
  for (const value of [-1, NaN, Infinity]) {
    await t.step(`maxPerIp ${value}`, () => {
      assertThrows(
        () => resolveSettings({ maxPerIp: value }),
        RangeError,
        `Invalid maxPerIp ${value}: expected 0 or more`,
      );
    });
  }
  await t.step("a quit word with a space", () => {
    assertThrows(() => resolveSettings({ quitWord: "GOOD BYE" }), TypeError);
  });
});

Deno.test("listenerSpecs() reads listen, or hostname and port", async (t) => {
  await t.step("the short form, defaults applied", () => {
    assertEquals(listenerSpecs({}), [
      { transport: "tcp", hostname: "localhost", port: 2000 },
    ]);
    assertEquals(listenerSpecs({ port: 0 }), [
      { transport: "tcp", hostname: "localhost", port: 0 },
    ]);
  });
  await t.step("URLs and objects", () => {
    assertEquals(
      listenerSpecs({
        listen: ["unix:/tmp/e.sock", {
          transport: "udp",
          hostname: "::1",
          port: 7,
        }],
      }),
      [
        { transport: "unix", path: "/tmp/e.sock" },
        { transport: "udp", hostname: "::1", port: 7 },
      ],
    );
  });
  await t.step("mistakes", () => {
    assertThrows(
      () => listenerSpecs({ listen: ["tcp://[::1]:1"], port: 1 }),
      TypeError,
      "Give either listen or hostname and port, not both",
    );
    assertThrows(
      () => listenerSpecs({ listen: [] }),
      RangeError,
      "No listeners given",
    );
    assertThrows(
      () => listenerSpecs({ listen: ["tls://[::1]:1"] }),
      TypeError,
      "A tls:// listener needs the tls option",
    );
  });
});

Deno.test("the default maxPerIp keeps one address from holding every slot", () => {
  assertEquals(DEFAULT_MAX_PER_IP, 256);
  assert(
    DEFAULT_MAX_PER_IP > 0 && DEFAULT_MAX_PER_IP < DEFAULT_MAX_CONNECTIONS,
  );
});

Deno.test("resolveSettings() refuses durations a timer cannot wait", async (t) => {
  for (const key of ["drainTimeout", "idleTimeout"] as const) {
    assertEquals(resolveSettings({ [key]: MAX_TIMEOUT })[key], MAX_TIMEOUT);
    for (const value of [MAX_TIMEOUT + 1, 40_000 * 60_000, Infinity, NaN, -1]) {
      await t.step(`${key} ${value}`, () => {
        assertThrows(
          () => resolveSettings({ [key]: value }),
          RangeError,
          `Invalid ${key} ${value}: expected 0 to 2147483647 ms`,
        );
      });
    }
  }
  const tls = (handshakeTimeout: number): { tls: ServeTlsOptions } => ({
    tls: { cert: "", key: "", handshakeTimeout },
  });
  assertEquals(resolveSettings(tls(MAX_TIMEOUT)).maxBytes, 0);
  for (const value of [NaN, -1, 0, Infinity, MAX_TIMEOUT + 1]) {
    await t.step(`tls.handshakeTimeout ${value}`, () => {
      assertThrows(
        () => resolveSettings(tls(value)),
        RangeError,
        `Invalid tls.handshakeTimeout ${value}: expected 1 to 2147483647 ms`,
      );
    });
  }
});

Deno.test("resolveSettings() takes only whole numbers for counts, and a string or null for the quit word", async (t) => {
  for (const key of ["maxConnections", "maxPerIp", "maxBytes"] as const) {
    for (const value of [0.5, 1.5, 2 ** 53]) {
      await t.step(`${key} ${value}`, () => {
        assertThrows(
          () => resolveSettings({ [key]: value }),
          RangeError,
          `Invalid ${key} ${value}: expected a whole number, 0 or more`,
        );
      });
    }
  }
  await t.step("quitWord 5", () => {
    assertThrows(
      () => resolveSettings({ quitWord: 5 as unknown as string }),
      TypeError,
      "Invalid quitWord 5: expected a string or null",
    );
  });
});

Deno.test("listenerSpecs() refuses listener objects that are not listeners", async (t) => {
  const cases: [string, unknown, string][] = [
    [
      "an unknown transport",
      { transport: "sctp", hostname: "localhost", port: 1 },
      'Invalid listener transport "sctp": expected "tcp", "tls", "unix" or "udp"',
    ],
    [
      "no transport",
      { hostname: "localhost", port: 1 },
      "Invalid listener transport undefined",
    ],
    [
      "unix without a path",
      { transport: "unix" },
      "A unix listener needs a path, got undefined",
    ],
    [
      "unix with an empty path",
      { transport: "unix", path: "" },
      'A unix listener needs a path, got ""',
    ],
    [
      "tcp without a hostname",
      { transport: "tcp", port: 1 },
      "A tcp listener needs a hostname, got undefined",
    ],
    ["null", null, "Invalid listener transport undefined"],
  ];
  for (const [name, entry, message] of cases) {
    await t.step(name, () => {
      assertThrows(
        () => listenerSpecs({ listen: [entry as ListenerSpec] }),
        TypeError,
        message,
      );
    });
  }
});

Deno.test("listenerSpecs() names a listener given twice", async (t) => {
  await t.step("the same unix: path", () => {
    assertThrows(
      () =>
        listenerSpecs({
          listen: ["unix:/tmp/e.sock", "tcp://127.0.0.1:0", {
            transport: "unix",
            path: "/tmp/e.sock",
          }],
        }),
      TypeError,
      'Listener "unix:/tmp/e.sock" is given twice',
    );
  });
  await t.step("tcp:// and tls:// on one port", () => {
    assertThrows(
      () =>
        listenerSpecs({
          listen: ["tcp://[::1]:2000", "tls://[::1]:2000"],
          tls: { cert: "", key: "" },
        }),
      TypeError,
      'Listeners "tcp://[::1]:2000" and "tls://[::1]:2000" use the same address',
    );
  });
  await t.step("port 0 twice, and one port for TCP and UDP, are fine", () => {
    assertEquals(
      listenerSpecs({
        listen: [
          "tcp://[::1]:0",
          "tcp://[::1]:0",
          "udp://[::1]:7",
          "tcp://[::1]:7",
        ],
      }).length,
      4,
    );
  });
});

Deno.test("serve() does not give a PROXY listener's peer only tls.handshakeTimeout for its header", async () => {
  const errors: unknown[] = [];
  await using server = await serve({
    listen: ["tcp://127.0.0.1:0?proxy-protocol"],
    tls: { cert: "unused", key: "unused", handshakeTimeout: 100 },
    onEvent: (event) => {
      if (event.type === "proxy-error") errors.push(event.error);
    },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  // A peer that has sent nothing yet, for four times the handshake timeout.
  using _conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await delay(400);
  assertEquals(errors, []);
  assertEquals(server.connections, 1);
});
