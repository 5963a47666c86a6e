// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { parseProxyHeader } from "../../src/proxy/parse.ts";
import { type ProxyHeader, ProxyHeaderError } from "../../src/proxy/types.ts";
import { bytes } from "../_helpers/util.ts";

function tcp(hostname: string, port: number): Deno.NetAddr {
  return { transport: "tcp", hostname, port };
}

function proxied(
  source: Deno.NetAddr,
  destination: Deno.NetAddr,
): ProxyHeader {
  return {
    version: 1,
    command: "proxy",
    transport: "tcp",
    source,
    destination,
  };
}

const MAX_IPV6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
/** The longest IPv6 text: 45 chars, with a dotted-quad tail. */
const LONG_IPV6 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";

const VALID: [string, string, ProxyHeader][] = [
  [
    "TCP4",
    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
    proxied(tcp("192.168.0.1", 56324), tcp("192.168.0.11", 443)),
  ],
  [
    "TCP4 with the longest fields (56 bytes)",
    "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
    proxied(tcp("255.255.255.255", 65535), tcp("255.255.255.255", 65535)),
  ],
  [
    "TCP4 with zero addresses and ports",
    "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n",
    proxied(tcp("0.0.0.0", 0), tcp("0.0.0.0", 0)),
  ],
  [
    "TCP6",
    "PROXY TCP6 2001:db8::7 ::1 51234 2000\r\n",
    proxied(tcp("2001:db8::7", 51234), tcp("::1", 2000)),
  ],
  [
    "TCP6 in upper case and in full, made canonical",
    "PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0007 0:0:0:0:0:0:0:1 1 2\r\n",
    proxied(tcp("2001:db8::7", 1), tcp("::1", 2)),
  ],
  [
    "TCP6 with the longest addresses (104 bytes)",
    `PROXY TCP6 ${MAX_IPV6} ${MAX_IPV6} 65535 65535\r\n`,
    proxied(
      tcp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
      tcp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
    ),
  ],
  [
    "TCP6 with IPv4-mapped addresses, shown as IPv4",
    "PROXY TCP6 ::ffff:127.0.0.2 ::ffff:127.0.0.1 40000 2000\r\n",
    proxied(tcp("127.0.0.2", 40000), tcp("127.0.0.1", 2000)),
  ],
  ["UNKNOWN, short form", "PROXY UNKNOWN\r\n", {
    version: 1,
    command: "proxy",
  }],
  [
    "UNKNOWN with the rest of the line ignored (107 bytes)",
    `PROXY UNKNOWN ${MAX_IPV6} ${MAX_IPV6} 65535 65535\r\n`,
    { version: 1, command: "proxy" },
  ],
  [
    "UNKNOWN with anything after it",
    "PROXY UNKNOWN whatever \x01 is here\r\n",
    { version: 1, command: "proxy" },
  ],
];

Deno.test("parseProxyHeader() parses valid v1 lines", async (t) => {
  for (const [name, line, header] of VALID) {
    await t.step(name, () => {
      const data = bytes(`${line}payload`);
      assertEquals(parseProxyHeader(data), {
        done: true,
        header,
        length: line.length,
      });
    });
  }
});

Deno.test("parseProxyHeader() says a v1 line needs more until its CRLF", async (t) => {
  for (const [name, line] of VALID) {
    await t.step(name, () => {
      const data = bytes(line);
      for (let n = 0; n < data.length; n++) {
        const result = parseProxyHeader(data.subarray(0, n));
        if (result.done) throw new Error(`done after ${n} bytes`);
        // The lower bound never overshoots the real line.
        assertEquals(
          result.needed >= 1 && n + result.needed <= data.length,
          true,
          `needed ${result.needed} after ${n} of ${data.length} bytes`,
        );
      }
    });
  }
});

const INVALID: [string, string, string][] = [
  ["not PROXY at all", "GET / HTTP/1.1\r\n", 'expected "PROXY " or the v2'],
  ["lower case", "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", 'expected "PROXY "'],
  ["no space after PROXY", "PROXYTCP4", 'expected "PROXY ", got "PROXYT'],
  ["unknown protocol", "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n", 'protocol "U'],
  ["protocol cut by CRLF", "PROXY TCP\r\n", 'unknown protocol "TCP"'],
  ["protocol too long", "PROXY TCP44 ", 'unknown protocol "TCP44"'],
  ["UNKNOWN run on", "PROXY UNKNOWNS\r\n", 'unknown protocol "UNKNOWNS"'],
  ["two spaces after PROXY", "PROXY  TCP4 ", 'unknown protocol ""'],
  ["two spaces between fields", "PROXY TCP4  1.2.3.4", "empty source address"],
  ["TCP4 with no addresses", "PROXY TCP4\r\n", "expected TCP4 SOURCE"],
  ["trailing space", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", "more than 6"],
  ["missing ports", "PROXY TCP4 1.2.3.4 1.2.3.4\r\n", "expected TCP4 SOURCE"],
  ["missing destination port", "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", "SOURCE"],
  ["empty destination port", "PROXY TCP4 1.2.3.4 1.2.3.4 1 \r\n", "empty"],
  ["an extra field", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", "more than 6"],
  ["IPv6 on TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n", '"::1" is not an IPv4'],
  [
    "IPv4 on TCP6",
    "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
    '"1.2.3.4" is not an IPv6',
  ],
  ["mixed families", "PROXY TCP6 ::1 1.2.3.4 1 2\r\n", "destination address"],
  [
    "IPv4 octet over 255",
    "PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n",
    "not an IPv4",
  ],
  ["IPv4 leading zero", "PROXY TCP4 1.2.3.04 1.2.3.4 1 2\r\n", "not an IPv4"],
  ["IPv4 three parts", "PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", "not an IPv4"],
  ["IPv4 with a name", "PROXY TCP4 localhost 1.2.3.4 1 2\r\n", "not an IPv4"],
  ["IPv4 too long", "PROXY TCP4 1111111111111111", "not an IPv4"],
  ["IPv6 with two ::", "PROXY TCP6 1::2::3 ::1 1 2\r\n", "not an IPv6"],
  ["IPv6 group of 5", "PROXY TCP6 12345::1 ::1 1 2\r\n", "not an IPv6"],
  ["IPv6 nine groups", "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "IPv6"],
  ["IPv6 seven groups", "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", "IPv6"],
  ["IPv6 with a zone", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "not an IPv6"],
  ["IPv6 in brackets", "PROXY TCP6 [::1] ::1 1 2\r\n", "not an IPv6"],
  ["port over 65535", "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "not a port"],
  ["port leading zero", "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", "not a port"],
  ["port 00", "PROXY TCP4 1.2.3.4 1.2.3.4 1 00\r\n", "destination port"],
  ["port negative", "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", "not a port"],
  ["port with a sign", "PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n", "not a port"],
  ["port in hex", "PROXY TCP4 1.2.3.4 1.2.3.4 0x10 2\r\n", "not a port"],
  ["port of six digits", "PROXY TCP4 1.2.3.4 1.2.3.4 100000", "not a port"],
  ["LF only", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", "LF without CR"],
  ["CR only", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", "CR without LF"],
  ["LF in UNKNOWN", "PROXY UNKNOWN a\nb\r\n", "LF without CR"],
  ["CR too early", "PROXY TCP4 1.2.3.4\r", "expected TCP4 SOURCE"],
  ["tab separator", "PROXY TCP4\t1.2.3.4", 'unknown protocol "TCP4\\x09'],
  ["NUL in a field", "PROXY TCP4 1.2.3.4\x00", "not an IPv4"],
  ["UNKNOWN over 107 bytes", `PROXY UNKNOWN ${"x".repeat(100)}`, "107 bytes"],
  [
    "TCP6 that cannot end within 107 bytes",
    `PROXY TCP6 ${LONG_IPV6} ${LONG_IPV6} `,
    "line would be longer than 107 bytes",
  ],
];

Deno.test("parseProxyHeader() refuses invalid v1 lines", async (t) => {
  for (const [name, line, message] of INVALID) {
    await t.step(name, () => {
      assertThrows(
        () => parseProxyHeader(bytes(line)),
        ProxyHeaderError,
        message,
      );
    });
  }
});

Deno.test("parseProxyHeader() refuses a v1 line with no CRLF in 107 bytes", () => {
  const line = `PROXY UNKNOWN ${"x".repeat(91)}\r\n`;
  assertEquals(line.length, 107);
  assertEquals(parseProxyHeader(bytes(line)).done, true);
  const long = `PROXY UNKNOWN ${"x".repeat(92)}\r\n`;
  assertThrows(
    () => parseProxyHeader(bytes(long)),
    ProxyHeaderError,
    "no CRLF within the first 107 bytes",
  );
  // 106 bytes without CR: the CRLF would end at byte 108.
  assertThrows(
    () => parseProxyHeader(bytes(long.slice(0, 106))),
    ProxyHeaderError,
    "line would be longer than 107 bytes",
  );
  // 106 bytes and a CR: the LF would be byte 108.
  assertThrows(
    () => parseProxyHeader(bytes(long.slice(0, 107))),
    ProxyHeaderError,
    "107",
  );
});

Deno.test("parseProxyHeader() refuses a v1 line as soon as it goes wrong", async (t) => {
  const cases: [string, string][] = [
    ["the first byte", "G"],
    ["the space after PROXY", "PROXY\t"],
    ["the protocol", "PROXY X"],
    ["an address", "PROXY TCP4 1.2.3.4x"],
    ["a leading zero in a port", "PROXY TCP4 1.2.3.4 1.2.3.4 01"],
    ["a port", "PROXY TCP4 1.2.3.4 1.2.3.4 1 7a"],
  ];
  for (const [what, line] of cases) {
    await t.step(what, () => {
      const data = bytes(line);
      // Every shorter prefix waits for more; the last byte is refused.
      for (let n = 1; n < data.length; n++) {
        assertEquals(parseProxyHeader(data.subarray(0, n)).done, false);
      }
      assertThrows(() => parseProxyHeader(data), ProxyHeaderError);
    });
  }
});
