// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { type ListenerSpec, parseListenUrl } from "../../src/net/listen_url.ts";

Deno.test("parseListenUrl() takes IPv6 hosts in brackets, zones included", async (t) => {
  const cases: [string, ListenerSpec][] = [
    ["tcp://[::1]:0", { transport: "tcp", hostname: "::1", port: 0 }],
    ["tcp://[::1]", { transport: "tcp", hostname: "::1", port: 2000 }],
    ["udp://[::]:7", { transport: "udp", hostname: "::", port: 7 }],
    ["tcp://[fe80::1%eth0]:0", {
      transport: "tcp",
      hostname: "fe80::1%eth0",
      port: 0,
    }],
    ["tls://[::1%1]:2443", { transport: "tls", hostname: "::1%1", port: 2443 }],
  ];
  for (const [url, expected] of cases) {
    await t.step(url, () => assertEquals(parseListenUrl(url), expected));
  }
});

Deno.test("parseListenUrl() refuses an IPv6 host without brackets and says how to write it", async (t) => {
  // tcp://::1:0 could be ::1 port 0 or ::1:0 on the default port.
  const cases: [string, string][] = [
    ["tcp://::1:0", "tcp://[::1]:0"],
    ["tcp://::1:0/", "tcp://[::1]:0"],
    ["udp://fe80::1:2000", "udp://[fe80::1]:2000"],
    ["tcp://::1:0?proxy-protocol", "tcp://[::1]:0?proxy-protocol"],
    ["tls://::", "tls://[::]"],
    ["tcp://::1", "tcp://[::1]"],
    ["tcp://1:2:3", "tcp://[ADDRESS]:PORT"],
  ];
  for (const [url, fixed] of cases) {
    await t.step(url, () => {
      assertThrows(
        () => parseListenUrl(url),
        RangeError,
        `Invalid listener "${url}": write the IPv6 address in brackets: ${fixed}`,
      );
    });
  }
});

Deno.test("parseListenUrl() says what to write for an empty host", () => {
  assertThrows(
    () => parseListenUrl("tcp://:2000"),
    RangeError,
    'Invalid listener "tcp://:2000": Empty host: give a name or address, like localhost:2000',
  );
});

Deno.test("parseListenUrl() refuses an interface name as zone on an address that is not link-local", () => {
  assertThrows(
    () => parseListenUrl("tcp://[::1%lo]:0"),
    RangeError,
    'an interface name as zone ("%lo") is understood only on a link-local address',
  );
});
