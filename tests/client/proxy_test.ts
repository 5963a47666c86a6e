// Copyright the deno-echo authors. MIT license.

// The proxy handshakes byte for byte against scripted proxies: what is
// sent, how each reply is read (exactly, and bounded), and what each
// refusal becomes.

import {
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { ProxyError } from "../../src/client/proxy_errors.ts";
import { httpConnect, MAX_CONNECT_REPLY } from "../../src/client/proxy_http.ts";
import { socks5Connect } from "../../src/client/proxy_socks5.ts";
import {
  describeProxy,
  parseProxyUrl,
  type ProxyConfig,
} from "../../src/client/proxy_url.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A connection that plays back `reply` and records what is written. */
class ScriptedConn {
  readonly #reply: Uint8Array;
  #at = 0;
  written: number[] = [];
  reads = 0;

  constructor(reply: Uint8Array | string | number[]) {
    this.#reply = typeof reply === "string"
      ? encoder.encode(reply)
      : new Uint8Array(reply);
  }

  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    if (this.#at >= this.#reply.length) return Promise.resolve(null);
    // Hand out as much as asked: a reader that asks for more than its
    // reply would take the bytes that follow.
    const n = Math.min(p.length, this.#reply.length - this.#at);
    p.set(this.#reply.subarray(this.#at, this.#at + n));
    this.#at += n;
    return Promise.resolve(n);
  }

  write(p: Uint8Array): Promise<number> {
    this.written.push(...p);
    return Promise.resolve(p.length);
  }

  /** What is left unread. */
  get rest(): string {
    return decoder.decode(this.#reply.subarray(this.#at));
  }

  get text(): string {
    return decoder.decode(new Uint8Array(this.written));
  }
}

const HTTP: ProxyConfig = { scheme: "http", hostname: "127.0.0.1", port: 3128 };
const SOCKS: ProxyConfig = {
  scheme: "socks5",
  hostname: "127.0.0.1",
  port: 1080,
};
const TARGET = { hostname: "127.0.0.1", port: 2000 };

Deno.test("parseProxyUrl() reads the three schemes, credentials and default ports", () => {
  assertEquals(parseProxyUrl("http://proxy.internal"), {
    scheme: "http",
    hostname: "proxy.internal",
    port: 3128,
  });
  assertEquals(parseProxyUrl("SOCKS5://10.0.0.1"), {
    scheme: "socks5",
    hostname: "10.0.0.1",
    port: 1080,
  });
  assertEquals(parseProxyUrl("socks5h://a%3Ab:p%40ss@[::1]:9050/"), {
    scheme: "socks5h",
    hostname: "::1",
    port: 9050,
    auth: { username: "a:b", password: "p@ss" },
  });
  assertEquals(parseProxyUrl("http://user@proxy:8080").auth, {
    username: "user",
    password: "",
  });
});

Deno.test("parseProxyUrl() refuses what it cannot use", async (t) => {
  for (
    const [text, pattern] of [
      ["ftp://proxy:21", /expected http:\/\//],
      ["proxy:3128", /expected http:\/\//],
      ["http://proxy:0", /port 0/],
      ["http://proxy:99999", /Invalid port/],
      ["http://proxy/path", /expected http:\/\//],
      ["socks5://:pw@proxy", /user is 1 to 255 bytes, not 0/],
      [`socks5://${"u".repeat(256)}:pw@proxy`, /not 256/],
      ["http://a%zz:b@proxy", /percent-encoding/],
      ["http://[::1:3128", /Invalid proxy/],
    ] as const
  ) {
    await t.step(text.slice(0, 40), () => {
      const error = assertThrows(() => parseProxyUrl(text), RangeError);
      assertMatch(error.message, pattern);
    });
  }
});

Deno.test("describeProxy() never shows the password", () => {
  const proxy = parseProxyUrl("socks5://me:secret@[::1]:1080");
  assertEquals(describeProxy(proxy), "socks5://me@[::1]:1080");
});

Deno.test("httpConnect() sends CONNECT with basic auth and leaves what follows the reply", async () => {
  const conn = new ScriptedConn(
    "HTTP/1.1 200 Connection established\r\nVia: test\r\n\r\nfirst echo",
  );
  await httpConnect(
    conn,
    { ...HTTP, auth: { username: "user", password: "pässword" } },
    { hostname: "::1", port: 2000 },
  );
  assertEquals(
    conn.text,
    "CONNECT [::1]:2000 HTTP/1.1\r\nHost: [::1]:2000\r\n" +
      `Proxy-Authorization: Basic ${btoa("user:p\u00c3\u00a4ssword")}\r\n\r\n`,
  );
  assertEquals(conn.rest, "first echo");
});

Deno.test("httpConnect() accepts any 2xx and a lax \\n\\n end", async () => {
  const conn = new ScriptedConn("HTTP/1.0 204 OK\n\nx");
  await httpConnect(conn, HTTP, TARGET);
  assertEquals(conn.rest, "x");
});

Deno.test("httpConnect() tells each refusal apart", async (t) => {
  const cases: [string, ProxyConfig, string, RegExp][] = [
    [
      "407",
      HTTP,
      "auth",
      /wants credentials \(407 Proxy Auth\); give them as http:\/\/USER:PASS@HOST:PORT/,
    ],
    [
      "407 with credentials",
      { ...HTTP, auth: { username: "u", password: "p" } },
      "auth",
      /refused the credentials \(407/,
    ],
    ["401", HTTP, "auth", /wants credentials \(401/],
    [
      "403",
      HTTP,
      "denied",
      /refused to connect to 127\.0\.0\.1:2000 \(403 Proxy Auth\)/,
    ],
    ["500", HTTP, "target", /could not reach 127\.0\.0\.1:2000 \(500/],
    ["502", HTTP, "target", /could not reach 127\.0\.0\.1:2000 \(502/],
    ["503", HTTP, "target", /\(503/],
    ["504", HTTP, "target", /\(504/],
    ["301", HTTP, "protocol", /answered CONNECT with 301 Proxy Auth, not 2xx/],
  ];
  for (const [status, proxy, failure, pattern] of cases) {
    await t.step(status, async () => {
      const code = status.slice(0, 3);
      const conn = new ScriptedConn(`HTTP/1.1 ${code} Proxy Auth\r\n\r\n`);
      const error = await assertRejects(
        () => httpConnect(conn, proxy, TARGET),
        ProxyError,
      );
      assertEquals(error.failure, failure);
      assertEquals(error.code, Number(code));
      assertMatch(error.message, pattern);
      assertMatch(error.message, /^Proxy http:\/\/(u@)?127\.0\.0\.1:3128: /);
    });
  }
});

Deno.test("httpConnect() reads at most 8 KiB of reply header", async () => {
  const conn = new ScriptedConn(
    `HTTP/1.1 200 OK\r\nX-Long: ${"a".repeat(2 * MAX_CONNECT_REPLY)}\r\n\r\n`,
  );
  const error = await assertRejects(
    () => httpConnect(conn, HTTP, TARGET),
    ProxyError,
    `longer than ${MAX_CONNECT_REPLY} bytes`,
  );
  assertEquals(error.failure, "protocol");
  assertEquals(conn.reads, MAX_CONNECT_REPLY);
});

Deno.test("httpConnect() reports a reply that is no HTTP, safely printed", async (t) => {
  await t.step("garbage", async () => {
    const conn = new ScriptedConn("SSH-2.0-OpenSSH\u0007\r\n\r\n");
    await assertRejects(
      () => httpConnect(conn, HTTP, TARGET),
      ProxyError,
      'no HTTP status line: "SSH-2.0-OpenSSH?"',
    );
  });
  await t.step("closed without a word", async () => {
    await assertRejects(
      () => httpConnect(new ScriptedConn(""), HTTP, TARGET),
      ProxyError,
      "closed the connection without answering",
    );
  });
  await t.step("closed mid-reply", async () => {
    await assertRejects(
      () => httpConnect(new ScriptedConn("HTTP/1.1 200 OK\r\n"), HTTP, TARGET),
      ProxyError,
      "in the middle of its reply",
    );
  });
});

const SUCCESS_V4 = [5, 0, 0, 1, 127, 0, 0, 1, 0x9c, 0x40];

Deno.test("socks5Connect() sends IPv4, IPv6 and names as RFC 1928 says", async (t) => {
  const cases: [string, number[]][] = [
    ["192.0.2.7", [1, 192, 0, 2, 7]],
    ["::1", [4, ...new Array(15).fill(0), 1]],
    ["echo.internal", [3, 13, ...encoder.encode("echo.internal")]],
  ];
  for (const [hostname, address] of cases) {
    await t.step(hostname, async () => {
      const conn = new ScriptedConn([5, 0, ...SUCCESS_V4, 0x61]);
      const bound = await socks5Connect(conn, SOCKS, { hostname, port: 7 });
      assertEquals(conn.written, [5, 1, 0, 5, 1, 0, ...address, 0, 7]);
      assertEquals(bound, {
        transport: "tcp",
        hostname: "127.0.0.1",
        port: 40000,
      });
      assertEquals(conn.rest, "a");
    });
  }
});

Deno.test("socks5Connect() authenticates with username and password (RFC 1929)", async () => {
  const proxy = { ...SOCKS, auth: { username: "me", password: "pw1" } };
  const conn = new ScriptedConn([5, 2, 1, 0, ...SUCCESS_V4]);
  await socks5Connect(conn, proxy, TARGET);
  assertEquals(conn.written, [
    5,
    2,
    0,
    2, // Both methods offered.
    1,
    2,
    0x6d,
    0x65,
    3,
    0x70,
    0x77,
    0x31, // VER ULEN "me" PLEN "pw1".
    5,
    1,
    0,
    1,
    127,
    0,
    0,
    1,
    0x07,
    0xd0,
  ]);
});

Deno.test("socks5Connect() reads a bound IPv6 address or name to its exact end", async () => {
  const v6 = new ScriptedConn([
    5,
    0,
    5,
    0,
    0,
    4,
    0x20,
    1,
    0x0d,
    0xb8,
    ...new Array(11).fill(0),
    9,
    0,
    80,
    0x62,
  ]);
  assertEquals(await socks5Connect(v6, SOCKS, TARGET), {
    transport: "tcp",
    hostname: "2001:db8::9",
    port: 80,
  });
  assertEquals(v6.rest, "b");
  const name = new ScriptedConn([5, 0, 5, 0, 0, 3, 2, 0x68, 0x6f, 1, 0, 0x63]);
  assertEquals((await socks5Connect(name, SOCKS, TARGET)).hostname, "ho");
  assertEquals(name.rest, "c");
});

Deno.test("socks5Connect() tells refusals apart, each reply code in words", async (t) => {
  const cases: [number, string, string][] = [
    [
      1,
      "target",
      "could not reach 127.0.0.1:2000 (general SOCKS server failure)",
    ],
    [
      2,
      "denied",
      "refused to connect to 127.0.0.1:2000 (connection not allowed by ruleset)",
    ],
    [3, "target", "(network unreachable)"],
    [4, "target", "(host unreachable)"],
    [5, "target", "could not reach 127.0.0.1:2000 (connection refused)"],
    [6, "target", "(TTL expired)"],
    [7, "denied", "(command not supported)"],
    [8, "denied", "(address type not supported)"],
    [9, "protocol", "unknown reply code 9"],
  ];
  for (const [code, failure, words] of cases) {
    await t.step(`reply ${code}`, async () => {
      const conn = new ScriptedConn([5, 0, 5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
      const error = await assertRejects(
        () => socks5Connect(conn, SOCKS, TARGET),
        ProxyError,
        words,
      );
      assertEquals([error.failure, error.code], [failure, code]);
    });
  }
});

Deno.test("socks5Connect() says when the proxy wants or refuses credentials", async (t) => {
  await t.step("no acceptable method, none given", async () => {
    const error = await assertRejects(
      () => socks5Connect(new ScriptedConn([5, 0xff]), SOCKS, TARGET),
      ProxyError,
      "wants credentials (no acceptable authentication method); give them as socks5://USER:PASS@HOST:PORT",
    );
    assertEquals(error.failure, "auth");
  });
  await t.step("refused credentials", async () => {
    const proxy = { ...SOCKS, auth: { username: "me", password: "bad" } };
    const error = await assertRejects(
      () => socks5Connect(new ScriptedConn([5, 2, 1, 1]), proxy, TARGET),
      ProxyError,
      "refused the username and password (status 1)",
    );
    assertEquals(error.failure, "auth");
  });
  await t.step("a method never offered", async () => {
    await assertRejects(
      () => socks5Connect(new ScriptedConn([5, 2]), SOCKS, TARGET),
      ProxyError,
      "method 2, which was not offered",
    );
  });
  await t.step("not SOCKS5 at all", async () => {
    const error = await assertRejects(
      () => socks5Connect(new ScriptedConn("HTTP/1.1 400"), SOCKS, TARGET),
      ProxyError,
      "version 72, not SOCKS5",
    );
    assertInstanceOf(error, ProxyError);
    assertEquals(error.failure, "protocol");
  });
});
