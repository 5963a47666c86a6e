// Copyright the deno-echo authors. MIT license.

import { assertEquals } from "@std/assert";
import { isIP } from "node:net";
import { formatIPv6, parseIPv4, parseIPv6 } from "../../src/proxy/ip_bytes.ts";
import { mulberry32, randInt, randomBytes } from "../_helpers/util.ts";

Deno.test("parseIPv6() accepts what inet_pton does, without zones", () => {
  const texts = [
    "::",
    "::1",
    "1::",
    "1::2",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6::8",
    "1::3:4:5:6:7:8",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "1:2:3:4:5:6:1.2.3.4",
    "::1.2.3.4",
    "::ffff:1.2.3.4",
    "FFFF::abcd",
    "0000:0000::0001",
    ":",
    ":::",
    "1:::2",
    "1::2::3",
    ":1::2",
    "1::2:",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "12345::",
    "g::",
    "1.2.3.4::",
    "1.2.3.4:1::",
    "::1.2.3",
    "::1.2.3.04",
    "::256.1.1.1",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1%eth0",
    "[::1]",
    " ::1",
    "",
  ];
  for (const text of texts) {
    assertEquals(
      parseIPv6(text) !== undefined,
      isIP(text) === 6 && !text.includes("%"),
      text,
    );
  }
});

Deno.test("parseIPv4() takes dotted quads without leading zeros", () => {
  assertEquals(parseIPv4("1.2.3.4"), Uint8Array.of(1, 2, 3, 4));
  assertEquals(parseIPv4("255.255.255.255"), Uint8Array.of(255, 255, 255, 255));
  for (
    const bad of [
      "01.2.3.4",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.0",
      "1.2.3.",
      "a.b.c.d",
      "1.2.3.4 ",
    ]
  ) {
    assertEquals(parseIPv4(bad), undefined, bad);
  }
});

Deno.test("formatIPv6() writes the RFC 5952 form", () => {
  const cases: [string, string][] = [
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:0DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["::ffff:7f00:1", "::ffff:127.0.0.1"],
    ["::7f00:1", "::7f00:1"],
  ];
  for (const [text, canonical] of cases) {
    assertEquals(formatIPv6(parseIPv6(text)!), canonical, text);
  }
});

Deno.test("formatIPv6() and parseIPv6() round-trip random addresses", () => {
  const seed = 0x1bad5eed;
  const rand = mulberry32(seed);
  for (let i = 0; i < 2000; i++) {
    const bytes = randomBytes(rand, 16);
    // Zero runs of every length, where the formatting choices are.
    const from = randInt(rand, 0, 15);
    bytes.fill(0, from, randInt(rand, from, 16));
    const text = formatIPv6(bytes);
    assertEquals(parseIPv6(text), bytes, `seed ${seed}, ${text}`);
    assertEquals(isIP(text), 6, text);
  }
});
