// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { cidrContains, parseCidr } from "../../src/proxy/cidr.ts";

Deno.test("parseCidr() parses IPv4 and IPv6 ranges", async (t) => {
  const cases: [string, 4 | 6, string, number][] = [
    ["10.0.0.0/8", 4, "10.0.0.0", 8],
    ["192.168.1.0/24", 4, "192.168.1.0", 24],
    ["203.0.113.7", 4, "203.0.113.7", 32],
    ["203.0.113.7/32", 4, "203.0.113.7", 32],
    ["0.0.0.0/0", 4, "0.0.0.0", 0],
    ["::1/128", 6, "::1", 128],
    ["::1", 6, "::1", 128],
    ["2001:DB8::/32", 6, "2001:db8::", 32],
    ["2001:0db8:0000::/48", 6, "2001:db8::", 48],
    ["::/0", 6, "::", 0],
    ["fe80::/10", 6, "fe80::", 10],
    ["::ffff:10.0.0.0/104", 6, "::ffff:10.0.0.0", 104],
  ];
  for (const [text, family, address, prefix] of cases) {
    await t.step(text, () => {
      const cidr = parseCidr(text);
      assertEquals(
        [cidr.family, cidr.address, cidr.prefix],
        [family, address, prefix],
      );
    });
  }
});

Deno.test("parseCidr() refuses bad ranges with a RangeError", async (t) => {
  const cases: [string, string][] = [
    ["", "expected an IPv4 or IPv6 address"],
    ["10.0.0.0/", 'prefix length ""'],
    ["10.0.0.0/33", 'prefix length "33" is not a whole number from 0 to 32'],
    ["::/129", "from 0 to 128"],
    ["10.0.0.0/-1", 'prefix length "-1"'],
    ["10.0.0.0/08", 'prefix length "08"'],
    ["10.0.0.0/8/8", 'prefix length "8/8"'],
    ["10.0.0.0/ 8", 'prefix length " 8"'],
    ["10.0.0.0/8.0", 'prefix length "8.0"'],
    ["10.0.0.1/8", 'the range starts at "10.0.0.0/8"'],
    ["2001:db8::1/32", 'the range starts at "2001:db8::/32"'],
    ["10.0.0/8", "expected an IPv4 or IPv6 address"],
    ["010.0.0.0/8", "expected an IPv4"],
    ["localhost", "expected an IPv4"],
    ["fe80::1%eth0/128", "expected an IPv4"],
    ["[::1]/128", "expected an IPv4"],
    ["/8", "expected an IPv4"],
  ];
  for (const [text, message] of cases) {
    await t.step(JSON.stringify(text), () => {
      assertThrows(() => parseCidr(text), RangeError, `"${text}"`);
      assertThrows(() => parseCidr(text), RangeError, message);
    });
  }
});

Deno.test("cidrContains() tells whether an address is in a range", async (t) => {
  const cases: [string, string, boolean][] = [
    ["10.0.0.0/8", "10.0.0.0", true],
    ["10.0.0.0/8", "10.255.255.255", true],
    ["10.0.0.0/8", "11.0.0.0", false],
    ["10.0.0.0/8", "9.255.255.255", false],
    ["192.168.1.128/25", "192.168.1.128", true],
    ["192.168.1.128/25", "192.168.1.127", false],
    ["203.0.113.7", "203.0.113.7", true],
    ["203.0.113.7", "203.0.113.8", false],
    ["0.0.0.0/0", "255.255.255.255", true],
    ["0.0.0.0/0", "::1", false],
    ["10.0.0.0/8", "::ffff:10.1.2.3", true],
    ["10.0.0.0/8", "::FFFF:10.1.2.3", true],
    ["10.0.0.0/8", "::ffff:a01:203", true],
    ["10.0.0.0/8", "::ffff:11.1.2.3", false],
    ["10.0.0.0/8", "::10.1.2.3", false],
    ["::1/128", "::1", true],
    ["::1/128", "0:0:0:0:0:0:0:1", true],
    ["::1/128", "::2", false],
    ["::1/128", "127.0.0.1", false],
    ["2001:db8::/32", "2001:db8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["fe80::/10", "febf::1", true],
    ["fe80::/10", "fec0::1", false],
    ["::/0", "2001:db8::1", true],
    ["::/0", "10.1.2.3", true],
    ["::ffff:10.0.0.0/104", "10.1.2.3", true],
    ["::ffff:10.0.0.0/104", "11.1.2.3", false],
    ["10.0.0.0/8", "localhost", false],
    ["10.0.0.0/8", "", false],
    ["10.0.0.0/8", "10.1.2.3/8", false],
  ];
  for (const [range, address, inside] of cases) {
    await t.step(`${address} ${inside ? "in" : "not in"} ${range}`, () => {
      assertEquals(cidrContains(parseCidr(range), address), inside);
    });
  }
});
