// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { crc32c } from "../../src/proxy/crc32c.ts";
import { parseProxyHeader } from "../../src/proxy/parse.ts";
import { type ProxyHeader, ProxyHeaderError } from "../../src/proxy/types.ts";
import { bytes } from "../_helpers/util.ts";
import {
  IPV4_BLOCK,
  IPV6_BLOCK,
  SIGNATURE,
  tlv,
  v2,
  withCrc,
} from "./v2_bytes.ts";

const V4: Pick<ProxyHeader, "source" | "destination"> = {
  source: { transport: "tcp", hostname: "127.0.0.2", port: 51234 },
  destination: { transport: "tcp", hostname: "127.0.0.1", port: 2000 },
};

function unixBlock(source: string, destination: string): number[] {
  const block = new Uint8Array(216);
  block.set(bytes(source), 0);
  block.set(bytes(destination), 108);
  return [...block];
}

const VALID: [string, Uint8Array, ProxyHeader][] = [
  [
    "PROXY over TCP/IPv4",
    v2({ body: IPV4_BLOCK }),
    { version: 2, command: "proxy", transport: "tcp", ...V4 },
  ],
  [
    "PROXY over UDP/IPv4",
    v2({ family: 0x12, body: IPV4_BLOCK }),
    {
      version: 2,
      command: "proxy",
      transport: "udp",
      source: { transport: "udp", hostname: "127.0.0.2", port: 51234 },
      destination: { transport: "udp", hostname: "127.0.0.1", port: 2000 },
    },
  ],
  [
    "PROXY over TCP/IPv6",
    v2({ family: 0x21, body: IPV6_BLOCK }),
    {
      version: 2,
      command: "proxy",
      transport: "tcp",
      source: { transport: "tcp", hostname: "2001:db8::7", port: 443 },
      destination: { transport: "tcp", hostname: "::1", port: 2000 },
    },
  ],
  [
    "PROXY over TCP/IPv6 with IPv4-mapped addresses, shown as IPv4",
    v2({
      family: 0x21,
      body: [
        ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 2],
        ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1],
        ...[0xc8, 0x22, 0x07, 0xd0],
      ],
    }),
    { version: 2, command: "proxy", transport: "tcp", ...V4 },
  ],
  [
    "PROXY over Unix stream",
    v2({ family: 0x31, body: unixBlock("/run/client.sock", "/run/echo.sock") }),
    {
      version: 2,
      command: "proxy",
      transport: "unix",
      source: { transport: "unix", path: "/run/client.sock" },
      destination: { transport: "unix", path: "/run/echo.sock" },
    },
  ],
  [
    "PROXY over Unix datagram, abstract names",
    v2({ family: 0x32, body: unixBlock("\0client", "") }),
    {
      version: 2,
      command: "proxy",
      transport: "unixpacket",
      source: { transport: "unixpacket", path: "@client" },
      destination: { transport: "unixpacket", path: "" },
    },
  ],
  ["LOCAL", v2({ verCmd: 0x20, family: 0x00 }), {
    version: 2,
    command: "local",
  }],
  [
    "LOCAL with addresses, ignored",
    v2({ verCmd: 0x20, family: 0x11, body: IPV4_BLOCK }),
    { version: 2, command: "local" },
  ],
  [
    "LOCAL with any family byte, ignored",
    v2({ verCmd: 0x20, family: 0xff }),
    { version: 2, command: "local" },
  ],
  [
    "PROXY with UNSPEC family, addresses ignored",
    v2({ family: 0x00, body: [1, 2, 3] }),
    { version: 2, command: "proxy" },
  ],
  [
    "PROXY with INET and UNSPEC transport, addresses ignored",
    v2({ family: 0x10, body: IPV4_BLOCK }),
    { version: 2, command: "proxy" },
  ],
  [
    "ALPN and authority TLVs",
    v2({
      body: [...IPV4_BLOCK, ...tlv(0x01, "h2"), ...tlv(0x02, "echo.example")],
    }),
    {
      version: 2,
      command: "proxy",
      transport: "tcp",
      ...V4,
      alpn: "h2",
      authority: "echo.example",
    },
  ],
  [
    "other TLVs skipped (NOOP, UNIQUE_ID, SSL, NETNS, custom, empty)",
    v2({
      body: [
        ...IPV4_BLOCK,
        ...tlv(0x04, [0, 0, 0]),
        ...tlv(0x05, "id-1234"),
        ...tlv(0x20, [1, 0, 0, 0, 0, ...tlv(0x21, "TLSv1.3")]),
        ...tlv(0x30, "netns"),
        ...tlv(0xe0, [0xff]),
        ...tlv(0xf8, []),
      ],
    }),
    { version: 2, command: "proxy", transport: "tcp", ...V4 },
  ],
  [
    "a valid CRC32C",
    withCrc(v2({ body: [...IPV4_BLOCK, ...tlv(0x02, "a")] })),
    { version: 2, command: "proxy", transport: "tcp", ...V4, authority: "a" },
  ],
];

Deno.test("parseProxyHeader() parses valid v2 headers", async (t) => {
  for (const [name, header, expected] of VALID) {
    await t.step(name, () => {
      const data = new Uint8Array(header.length + 5);
      data.set(header);
      data.set(bytes("hello"), header.length);
      assertEquals(parseProxyHeader(data), {
        done: true,
        header: expected,
        length: header.length,
      });
      for (let n = 0; n < header.length; n++) {
        const result = parseProxyHeader(header.subarray(0, n));
        assertEquals(result.done, false, `done after ${n} bytes`);
        if (!result.done) {
          assertEquals(n + result.needed <= header.length, true);
        }
      }
    });
  }
});

const INVALID: [string, Uint8Array, string][] = [
  ["a bad signature", Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x01), "signature"],
  ["a signature cut by data", bytes("\r\n\r\nGET"), "signature"],
  ["version 1 in byte 13", v2({ verCmd: 0x11 }), "version 1 is not 2"],
  ["version 3 in byte 13", v2({ verCmd: 0x31 }), "version 3 is not 2"],
  ["version 0 in byte 13", v2({ verCmd: 0x01 }), "version 0 is not 2"],
  ["command 2", v2({ verCmd: 0x22 }), "unknown command 2"],
  ["command 15", v2({ verCmd: 0x2f }), "unknown command 15"],
  ["family 4", v2({ family: 0x41 }), "unknown address family 4"],
  ["family 15", v2({ family: 0xf1 }), "unknown address family 15"],
  ["transport 3", v2({ family: 0x13 }), "unknown transport 3"],
  ["IPv4 block cut short", v2({ body: IPV4_BLOCK.slice(0, 11) }), "too short"],
  [
    "IPv6 block the size of IPv4",
    v2({ family: 0x21, body: IPV4_BLOCK }),
    "too short for the IPv6 address block (36 bytes)",
  ],
  ["Unix block cut short", v2({ family: 0x31, length: 215 }), "Unix"],
  [
    "length over the cap",
    v2({ length: 1025 }),
    "length 1025 is over the limit of 1024",
  ],
  ["length 65535", v2({ length: 65535 }), "over the limit"],
  [
    "a TLV header cut short",
    v2({ body: [...IPV4_BLOCK, 0x01, 0x00] }),
    "TLV header cut short",
  ],
  [
    "a TLV running past the header",
    v2({ body: [...IPV4_BLOCK, 0x02, 0x00, 0x05, 0x61] }),
    "TLV 0x02 of 5 bytes runs past the end",
  ],
  [
    "a wrong CRC32C",
    withCrc(v2({ body: IPV4_BLOCK }), true),
    "does not match",
  ],
  [
    "a CRC32C TLV of 2 bytes",
    v2({ body: [...IPV4_BLOCK, ...tlv(0x03, [0, 0])] }),
    "CRC32C TLV of 2 bytes",
  ],
];

Deno.test("parseProxyHeader() refuses invalid v2 headers", async (t) => {
  for (const [name, header, message] of INVALID) {
    await t.step(name, () => {
      assertThrows(() => parseProxyHeader(header), ProxyHeaderError, message);
    });
  }
});

Deno.test("parseProxyHeader() refuses a v2 header at the first wrong byte", async (t) => {
  const cases: [string, Uint8Array][] = [
    ["signature", Uint8Array.of(...SIGNATURE.slice(0, 7), 0x50)],
    ["version", Uint8Array.of(...SIGNATURE, 0x11)],
    ["command", Uint8Array.of(...SIGNATURE, 0x23)],
    ["family", Uint8Array.of(...SIGNATURE, 0x21, 0x51)],
    ["length over the cap", Uint8Array.of(...SIGNATURE, 0x21, 0x11, 4, 1)],
    ["length too short", Uint8Array.of(...SIGNATURE, 0x21, 0x11, 0, 4)],
  ];
  for (const [what, data] of cases) {
    await t.step(what, () => {
      for (let n = 1; n < data.length; n++) {
        assertEquals(parseProxyHeader(data.subarray(0, n)).done, false);
      }
      assertThrows(() => parseProxyHeader(data), ProxyHeaderError);
    });
  }
});

Deno.test("parseProxyHeader() applies maxV2Length", () => {
  const header = v2({
    body: [...IPV4_BLOCK, ...tlv(0x04, new Array(100).fill(0))],
  });
  assertEquals(parseProxyHeader(header, { maxV2Length: 115 }).done, true);
  assertThrows(
    () => parseProxyHeader(header, { maxV2Length: 114 }),
    ProxyHeaderError,
    "length 115 is over the limit of 114 bytes",
  );
  assertEquals(parseProxyHeader(header, { maxV2Length: 65535 }).done, true);
  for (const bad of [-1, 65536, 1.5, NaN]) {
    assertThrows(
      () => parseProxyHeader(header, { maxV2Length: bad }),
      RangeError,
      "Invalid maxV2Length",
    );
  }
});

Deno.test("crc32c() matches the CRC-32C check value", () => {
  assertEquals(crc32c(bytes("123456789")), 0xe3069283);
  assertEquals(crc32c(new Uint8Array(0)), 0);
});
