// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { UsageError } from "../../src/cli/cli.ts";
import { parseServerArgs, type ServerArgs } from "../../src/cli/server_args.ts";

function where(args: string[]): Pick<ServerArgs, "hostname" | "port"> {
  const parsed = parseServerArgs(args);
  if (typeof parsed === "string") throw new Error(`got ${parsed}`);
  return { hostname: parsed.hostname, port: parsed.port };
}

Deno.test("parseServerArgs() reads --hostname as a host alone", async (t) => {
  const cases: [string[], string][] = [
    [["-H", "::1"], "::1"],
    [["-H", "[::1]"], "::1"],
    // A valid IPv6 address, even if its last group looks like a port.
    [["-H", "::1:2990"], "::1:2990"],
    [["-H", "fe80::1%eth0"], "fe80::1%eth0"],
    [["-H", "[fe80::1%eth0]"], "fe80::1%eth0"],
  ];
  for (const [args, hostname] of cases) {
    await t.step(args.join(" "), () => {
      assertEquals(where([...args, "-p", "0"]), { hostname, port: 0 });
    });
  }
});

Deno.test("parseServerArgs() refuses a host with a port, or an empty one, and says what to write", async (t) => {
  const cases: [string[], string][] = [
    [
      ["-H", "127.0.0.1:2990"],
      'Invalid host "127.0.0.1:2990": --hostname takes no port; give the port separately with --port: --hostname 127.0.0.1 --port 2990',
    ],
    [
      ["-H", "[::1]:2990"],
      'Invalid host "[::1]:2990": --hostname takes no port; give the port separately with --port: --hostname ::1 --port 2990',
    ],
    [
      ["-H", ":2000"],
      'Empty host in ":2000": give a name or address, like localhost, and the port separately with --port: --hostname localhost --port 2000',
    ],
    [["-H", ""], "Empty host: give a name or address, like localhost"],
    [
      ["-H", "[::1%lo]"],
      'Invalid host "[::1%lo]": an interface name as zone ("%lo") is understood only on a link-local address (fe80::/10); drop it',
    ],
    [
      ["-H", "http://localhost"],
      'Invalid host "http://localhost": expected a name or an address, not a URL',
    ],
    [
      ["-H", "127.0.0.1%lo"],
      'Invalid host "127.0.0.1%lo": a zone after "%" goes only with an IPv6 address (fe80::1%eth0)',
    ],
    [
      ["-H", "a b"],
      'Invalid host "a b": a host name has only letters, digits, ".", "-" and "_"',
    ],
    [
      ["--workers", "0"],
      'Invalid --workers 0: expected 1 to 256, or "auto" for one a core',
    ],
    [
      ["--workers", "abc"],
      'Invalid --workers "abc": expected 1 to 256, or "auto" for one a core',
    ],
    [
      ["--metrics="],
      "--metrics needs HOST:PORT, e.g. 127.0.0.1:9100 (a port the echo does not use)",
    ],
    [
      ["-l", "tcp://::1:0"],
      'Invalid listener "tcp://::1:0": write the IPv6 address in brackets: tcp://[::1]:0',
    ],
    [
      ["-l", "tcp://:2000"],
      'Invalid listener "tcp://:2000": Empty host: give a name or address, like localhost:2000',
    ],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      const error = assertThrows(() => parseServerArgs(args), UsageError);
      assertEquals(error.message, message);
    });
  }
});
