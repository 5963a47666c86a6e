// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { buildProxyHeader } from "../../src/proxy/build.ts";
import { parseProxyHeader } from "../../src/proxy/parse.ts";
import type { ProxyHeader } from "../../src/proxy/types.ts";
import { IPV4_BLOCK, SIGNATURE, v2 } from "./v2_bytes.ts";

function tcp(hostname: string, port: number): Deno.NetAddr {
  return { transport: "tcp", hostname, port };
}

function parsed(data: Uint8Array): ProxyHeader {
  const result = parseProxyHeader(data);
  if (!result.done) throw new Error("header not complete");
  assertEquals(result.length, data.length);
  return result.header;
}

const text = (data: Uint8Array): string => new TextDecoder().decode(data);

Deno.test("buildProxyHeader() writes v1 lines", () => {
  assertEquals(
    text(buildProxyHeader(1, {
      source: tcp("203.0.113.7", 51234),
      destination: tcp("192.0.2.1", 2000),
    })),
    "PROXY TCP4 203.0.113.7 192.0.2.1 51234 2000\r\n",
  );
  assertEquals(
    text(buildProxyHeader(1, {
      source: tcp("2001:0db8:0:0:0:0:0:7", 1),
      destination: tcp("::1", 2),
    })),
    "PROXY TCP6 2001:db8::7 ::1 1 2\r\n",
  );
  assertEquals(text(buildProxyHeader(1)), "PROXY UNKNOWN\r\n");
});

Deno.test("buildProxyHeader() sends IPv4-mapped peers as IPv4 and mixed families as IPv6", () => {
  assertEquals(
    text(buildProxyHeader(1, {
      source: tcp("::ffff:127.0.0.2", 40000),
      destination: tcp("::ffff:127.0.0.1", 2000),
    })),
    "PROXY TCP4 127.0.0.2 127.0.0.1 40000 2000\r\n",
  );
  assertEquals(
    text(buildProxyHeader(1, {
      source: tcp("203.0.113.7", 1),
      destination: tcp("::1", 2),
    })),
    "PROXY TCP6 ::ffff:203.0.113.7 ::1 1 2\r\n",
  );
});

Deno.test("buildProxyHeader() writes v2 headers byte for byte", () => {
  assertEquals(
    buildProxyHeader(2, {
      source: tcp("127.0.0.2", 51234),
      destination: tcp("127.0.0.1", 2000),
    }),
    v2({ body: IPV4_BLOCK }),
  );
  assertEquals(buildProxyHeader(2), v2({ verCmd: 0x20, family: 0x00 }));
  const udp = buildProxyHeader(2, {
    source: { transport: "udp", hostname: "127.0.0.2", port: 51234 },
    destination: { transport: "udp", hostname: "127.0.0.1", port: 2000 },
  });
  assertEquals(udp, v2({ family: 0x12, body: IPV4_BLOCK }));
  assertEquals(udp.subarray(0, 12), Uint8Array.from(SIGNATURE));
});

Deno.test("buildProxyHeader() and parseProxyHeader() round-trip", async (t) => {
  const pairs: [string, Deno.NetAddr, Deno.NetAddr][] = [
    ["IPv4", tcp("203.0.113.7", 51234), tcp("192.0.2.1", 2000)],
    ["IPv4 extremes", tcp("0.0.0.0", 0), tcp("255.255.255.255", 65535)],
    ["IPv6", tcp("2001:db8::7", 443), tcp("::1", 2000)],
    [
      "IPv6 in full",
      tcp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
      tcp("::", 0),
    ],
    ["IPv6 with a zero run in the middle", tcp("1:0:0:2::3", 1), tcp("::", 2)],
  ];
  for (const [name, source, destination] of pairs) {
    for (const version of [1, 2] as const) {
      await t.step(`${name}, v${version}`, () => {
        assertEquals(
          parsed(buildProxyHeader(version, { source, destination })),
          {
            version,
            command: "proxy",
            transport: "tcp",
            source,
            destination,
          },
        );
      });
    }
  }
  await t.step("v2 with ALPN and authority", () => {
    const source = tcp("2001:db8::7", 443);
    const destination = tcp("::1", 2000);
    const header = buildProxyHeader(2, {
      source,
      destination,
      alpn: "echo",
      authority: "échø.example",
    });
    assertEquals(parsed(header), {
      version: 2,
      command: "proxy",
      transport: "tcp",
      source,
      destination,
      alpn: "echo",
      authority: "échø.example",
    });
  });
  await t.step("v1 UNKNOWN and v2 LOCAL", () => {
    assertEquals(parsed(buildProxyHeader(1)), { version: 1, command: "proxy" });
    assertEquals(parsed(buildProxyHeader(2)), { version: 2, command: "local" });
  });
});

Deno.test("buildProxyHeader() refuses what a header cannot carry", async (t) => {
  const source = tcp("127.0.0.1", 1);
  const cases: [string, () => unknown, ErrorConstructor, string][] = [
    ["one address", () => buildProxyHeader(1, { source }), TypeError, "both"],
    [
      "a name",
      () => buildProxyHeader(1, { source, destination: tcp("localhost", 2) }),
      RangeError,
      'address "localhost": expected an IP address',
    ],
    [
      "a port over 65535",
      () => buildProxyHeader(2, { source, destination: tcp("::1", 65536) }),
      RangeError,
      'port "65536"',
    ],
    [
      "a fractional port",
      () =>
        buildProxyHeader(1, { source: tcp("::1", 1.5), destination: source }),
      RangeError,
      'port "1.5"',
    ],
    [
      "UDP in v1",
      () =>
        buildProxyHeader(1, {
          source: { ...source, transport: "udp" },
          destination: { ...source, transport: "udp" },
        }),
      TypeError,
      "TCP only",
    ],
    [
      "ALPN in v1",
      () => buildProxyHeader(1, { source, destination: source, alpn: "h2" }),
      TypeError,
      "version 2",
    ],
    [
      "authority with LOCAL",
      () => buildProxyHeader(2, { authority: "a" }),
      TypeError,
      "with addresses",
    ],
    [
      "TLVs over the 16-bit length",
      () =>
        buildProxyHeader(2, {
          source,
          destination: source,
          alpn: "a".repeat(40000),
          authority: "b".repeat(40000),
        }),
      RangeError,
      "over 65535",
    ],
    [
      "version 3",
      () => buildProxyHeader(3 as 1, { source, destination: source }),
      RangeError,
      'version "3"',
    ],
  ];
  for (const [name, fn, type, message] of cases) {
    await t.step(name, () => {
      assertThrows(fn, type, message);
    });
  }
});
