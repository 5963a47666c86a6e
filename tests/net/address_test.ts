// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { isIP } from "node:net";
import {
  formatAddress,
  type HostPort,
  ipFamily,
  isLinkLocal,
  parseHostname,
  parseHostPort,
  parsePort,
  portInAddress,
  unmapIPv4,
  zoneOf,
} from "../../src/net/address.ts";
import { mulberry32 } from "../_helpers/util.ts";

Deno.test("parsePort() accepts whole numbers from 0 to 65535", () => {
  assertEquals(parsePort("0"), 0);
  assertEquals(parsePort("1"), 1);
  assertEquals(parsePort("2000"), 2000);
  assertEquals(parsePort("65535"), 65535);
});

Deno.test("parsePort() rejects anything else with a RangeError", async (t) => {
  for (
    const text of [
      "-1",
      "65536",
      "99999",
      "123456",
      "abc",
      "1e3",
      "",
      " 1",
      "1 ",
      "0x10",
      "1.0",
      "+1",
      "1_000",
      "١",
      "Infinity",
    ]
  ) {
    await t.step(JSON.stringify(text), () => {
      assertThrows(() => parsePort(text), RangeError, `"${text}"`);
    });
  }
});

Deno.test("parsePort() with minPort 1 refuses port 0, for dialing", async (t) => {
  await t.step("1 to 65535 are accepted", () => {
    assertEquals(parsePort("1", 1), 1);
    assertEquals(parsePort("65535", 1), 65535);
  });
  await t.step("0 cannot be dialed", () => {
    assertThrows(
      () => parsePort("0", 1),
      RangeError,
      "Port 0 cannot be dialed: expected a whole number from 1 to 65535",
    );
  });
  await t.step("the range in the message is the one asked for", () => {
    assertThrows(
      () => parsePort("70000", 1),
      RangeError,
      'Invalid port "70000": expected a whole number from 1 to 65535',
    );
    assertThrows(
      () => parsePort("70000"),
      RangeError,
      'Invalid port "70000": expected a whole number from 0 to 65535',
    );
  });
  await t.step("parseHostPort() passes it on", () => {
    assertEquals(parseHostPort("[::1]:0"), { hostname: "::1", port: 0 });
    assertThrows(() => parseHostPort("[::1]:0", 1), RangeError, "Port 0");
    assertThrows(() => parseHostPort("h:0", 1), RangeError, "Port 0");
  });
});

Deno.test("parseHostPort() parses a host, with or without a port", async (t) => {
  const cases: [string, HostPort][] = [
    ["localhost", { hostname: "localhost", port: undefined }],
    ["localhost:2000", { hostname: "localhost", port: 2000 }],
    ["example.com:7", { hostname: "example.com", port: 7 }],
    ["my-host_1.local", { hostname: "my-host_1.local", port: undefined }],
    ["127.0.0.1", { hostname: "127.0.0.1", port: undefined }],
    ["127.0.0.1:0", { hostname: "127.0.0.1", port: 0 }],
    ["10.0.0.1:65535", { hostname: "10.0.0.1", port: 65535 }],
  ];
  for (const [text, expected] of cases) {
    await t.step(text, () => assertEquals(parseHostPort(text), expected));
  }
});

Deno.test("parseHostPort() parses IPv6 in brackets and bare IPv6 as a host", async (t) => {
  const cases: [string, HostPort][] = [
    ["[::1]", { hostname: "::1", port: undefined }],
    ["[::1]:2000", { hostname: "::1", port: 2000 }],
    ["[::]:0", { hostname: "::", port: 0 }],
    ["[fe80::1]:65535", { hostname: "fe80::1", port: 65535 }],
    ["[::ffff:1.2.3.4]:80", { hostname: "::ffff:1.2.3.4", port: 80 }],
    // A bare literal is always a host, never host and port.
    ["::1", { hostname: "::1", port: undefined }],
    ["::", { hostname: "::", port: undefined }],
    ["2001:db8::1", { hostname: "2001:db8::1", port: undefined }],
    ["::ffff:1.2.3.4", { hostname: "::ffff:1.2.3.4", port: undefined }],
    ["::1:80", { hostname: "::1:80", port: undefined }],
  ];
  for (const [text, expected] of cases) {
    await t.step(text, () => assertEquals(parseHostPort(text), expected));
  }
});

Deno.test("parseHostPort() rejects malformed addresses with a RangeError", async (t) => {
  for (
    const text of [
      "",
      "[::1",
      "::1]",
      "[localhost]:1",
      "[127.0.0.1]:1",
      "[]",
      "[]:1",
      "host:",
      "host:abc",
      "host:-1",
      "host:65536",
      "host:1e3",
      ":80",
      "[::1]x",
      "[::1]:",
      "[::1]:65536",
      "[::1]:x",
      "[::1]]:1",
      "1:2:3",
      "localhost:1:2",
      "a b",
      "a b:1",
      "host/x",
    ]
  ) {
    await t.step(JSON.stringify(text), () => {
      assertThrows(() => parseHostPort(text), RangeError);
    });
  }
});

Deno.test("parseHostPort() says what to write for an empty host", async (t) => {
  for (const text of ["", ":2000"]) {
    await t.step(JSON.stringify(text), () => {
      assertThrows(
        () => parseHostPort(text),
        RangeError,
        "Empty host: give a name or address, like localhost:2000",
      );
    });
  }
});

Deno.test("parseHostPort() and parseHostname() read a zone the same in brackets as without", async (t) => {
  const cases: [string, string][] = [
    ["fe80::1%eth0", "fe80::1%eth0"],
    ["[fe80::1%eth0]", "fe80::1%eth0"],
    ["FE80::1%lo", "FE80::1%lo"],
    ["[febf::1%wlan0]", "febf::1%wlan0"],
    // An interface number is taken on any address.
    ["::1%1", "::1%1"],
    ["[::1%1]", "::1%1"],
    ["[2001:db8::1%12]", "2001:db8::1%12"],
  ];
  for (const [text, hostname] of cases) {
    await t.step(text, () => {
      assertEquals(parseHostname(text), hostname);
      assertEquals(parseHostPort(text), { hostname, port: undefined });
    });
  }
  await t.step("[fe80::1%eth0]:2000", () => {
    assertEquals(parseHostPort("[fe80::1%eth0]:2000"), {
      hostname: "fe80::1%eth0",
      port: 2000,
    });
  });
});

Deno.test("parseHostPort() and parseHostname() refuse an interface name as zone where the system would not resolve it", async (t) => {
  // Interface names after % are looked up only for link-local addresses;
  // elsewhere they fail later as an unknown host.
  for (
    const text of ["::1%lo", "[::1%lo]", "[::1%lo]:2000", "2001:db8::1%eth0"]
  ) {
    await t.step(text, () => {
      const zone = /%([a-z0-9]+)/.exec(text)![1];
      const message =
        `an interface name as zone ("%${zone}") is understood only on a link-local address (fe80::/10); drop it`;
      assertThrows(() => parseHostPort(text), RangeError, message);
      if (!text.endsWith(":2000")) {
        assertThrows(() => parseHostname(text), RangeError, message);
      }
    });
  }
});

Deno.test("parseHostname() takes a host without a port and says why not", async (t) => {
  const cases: [string, string][] = [
    ["[::1]:2990", "expected a host without a port; give the port separately"],
    [
      "127.0.0.1:2990",
      "expected a host without a port; give the port separately",
    ],
    [
      "localhost:80",
      "expected a host without a port; give the port separately",
    ],
    ["[::1", "unbalanced brackets"],
    ["", "Empty host: give a name or address, like localhost"],
  ];
  for (const [text, message] of cases) {
    await t.step(JSON.stringify(text), () => {
      assertThrows(() => parseHostname(text), RangeError, message);
    });
  }
  await t.step("a bare IPv6 literal is a host, even ::1:2990", () => {
    assertEquals(parseHostname("::1:2990"), "::1:2990");
    assertEquals(parseHostname("[::1]"), "::1");
  });
});

Deno.test("zoneOf(), isLinkLocal() and portInAddress() read IPv6 literals", async (t) => {
  await t.step("zoneOf()", () => {
    assertEquals(zoneOf("fe80::1%eth0"), "eth0");
    assertEquals(zoneOf("::1%1"), "1");
    assertEquals(zoneOf("::1"), undefined);
    assertEquals(zoneOf("host%x"), undefined);
  });
  await t.step("isLinkLocal()", () => {
    for (const yes of ["fe80::1", "FE80::1%eth0", "febf::1", "fe9a:0::1"]) {
      assert(isLinkLocal(yes), yes);
    }
    for (const no of ["::1", "fec0::1", "fe8::1", "2001:db8::1", "fe80.x"]) {
      assert(!isLinkLocal(no), no);
    }
  });
  await t.step("portInAddress()", () => {
    assertEquals(portInAddress("::1:2000"), { hostname: "::1", port: 2000 });
    assertEquals(portInAddress("fe80::1:0"), { hostname: "fe80::1", port: 0 });
    assertEquals(portInAddress("::1"), undefined);
    assertEquals(portInAddress("::1:70000"), undefined);
    assertEquals(portInAddress("fe80::1:80%eth0"), undefined);
    assertEquals(portInAddress("localhost:80"), undefined);
  });
});

Deno.test("formatAddress() writes HOST:PORT with IPv6 in brackets and IPv4-mapped as IPv4", async (t) => {
  const cases: [string, number, string][] = [
    ["127.0.0.1", 80, "127.0.0.1:80"],
    ["localhost", 7, "localhost:7"],
    ["::1", 2000, "[::1]:2000"],
    ["::", 0, "[::]:0"],
    ["fe80::1", 65535, "[fe80::1]:65535"],
    ["::ffff:10.0.0.1", 80, "10.0.0.1:80"],
    ["::FFFF:127.0.0.1", 2000, "127.0.0.1:2000"],
    // Not a valid mapped IPv4 address: stays IPv6.
    ["::ffff:7f00:1", 1, "[::ffff:7f00:1]:1"],
  ];
  for (const [hostname, port, expected] of cases) {
    await t.step(`${hostname} ${port}`, () => {
      assertEquals(formatAddress({ hostname, port }), expected);
    });
  }

  await t.step("round-trips through parseHostPort()", () => {
    for (
      const text of ["127.0.0.1:80", "[::1]:2000", "example.com:7", "[::]:0"]
    ) {
      const { hostname, port } = parseHostPort(text);
      assertEquals(formatAddress({ hostname, port: port! }), text);
    }
  });

  for (const hostname of ["127.0.0.1", "::1"]) {
    await t.step(`formats a bound ${hostname} listener's address`, () => {
      using listener = Deno.listen({ hostname, port: 0 });
      const { port } = listener.addr;
      assertEquals(
        formatAddress(listener.addr),
        hostname === "::1" ? `[::1]:${port}` : `127.0.0.1:${port}`,
      );
    });
  }
});

Deno.test("unmapIPv4() turns IPv4-mapped IPv6 into IPv4 and leaves the rest alone", async (t) => {
  const cases: [string, string][] = [
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::ffff:10.1.2.3", "10.1.2.3"],
    ["::FFFF:192.168.0.1", "192.168.0.1"],
    ["::ffff:0.0.0.0", "0.0.0.0"],
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "::1"],
    ["::", "::"],
    ["fe80::1", "fe80::1"],
    ["::ffff:7f00:1", "::ffff:7f00:1"],
    ["::ffff:", "::ffff:"],
    ["::ffff:999.1.1.1", "::ffff:999.1.1.1"],
    ["::ffff:1.2.3.4x", "::ffff:1.2.3.4x"],
    ["localhost", "localhost"],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => assertEquals(unmapIPv4(input), expected));
  }
});

Deno.test("ipFamily() agrees with node:net isIP on literals, near misses and random strings", () => {
  const cases = [
    "127.0.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.4 ",
    "::",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
    "::ffff:1.2.3.256",
    "fe80::1%eth0",
    "fe80::1%",
    "fe80::1%eth0/x",
    "2001:db8::8a2e:370:7334",
    "2001:DB8:0:0:0:0:0:1",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":::",
    "12345::1",
    "g::1",
    "::1]/x[",
    "localhost",
    "",
    "1.2.3.4:80",
  ];
  const rand = mulberry32(862);
  const alphabet = "0123456789abcdefABCDEF:.%";
  for (let i = 0; i < 20_000; i++) {
    const length = 1 + Math.floor(rand() * 20);
    cases.push(
      Array.from(
        { length },
        () => alphabet[Math.floor(rand() * alphabet.length)],
      ).join(""),
    );
  }
  let valid = 0;
  for (const text of cases) {
    assertEquals(ipFamily(text), isIP(text), JSON.stringify(text));
    if (isIP(text) !== 0) valid++;
  }
  // The random strings must have hit some real addresses, not only misses.
  assert(valid > 20, `${valid} valid`);
});
