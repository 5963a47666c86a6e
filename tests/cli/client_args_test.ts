// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { type ClientArgs, parseClientArgs } from "../../src/cli/client_args.ts";
import { UsageError } from "../../src/cli/cli.ts";

const DEFAULTS: ClientArgs = {
  transport: "tcp",
  hostname: "localhost",
  port: 2000,
  path: "",
  caFiles: [],
  insecure: false,
  certFile: undefined,
  keyFile: undefined,
  family: undefined,
  timeout: 10_000,
  readTimeout: 30_000,
  verify: false,
  raw: false,
  interactive: false,
  quitWord: "BYE",
  quiet: false,
  proxy: undefined,
  source: undefined,
  proxyHeader: undefined,
};

Deno.test("parseClientArgs() turns a command line into the settings of one run", async (t) => {
  const cases: [string[], boolean, Partial<ClientArgs>][] = [
    [[], false, {}],
    [[], true, { interactive: true }],
    [["--raw"], true, { raw: true, interactive: false }],
    [["-i", "example.com", "7"], false, {
      interactive: true,
      hostname: "example.com",
      port: 7,
    }],
    [["[::1]:2001", "-6", "-t", "500ms"], false, {
      hostname: "::1",
      port: 2001,
      family: 6,
      timeout: 500,
    }],
    [["-p", "9", "--read-timeout", "0", "--no-quit"], false, {
      port: 9,
      readTimeout: 0,
      quitWord: null,
    }],
    [["tls://h:443", "--ca", "a.pem", "--ca", "b.pem"], false, {
      transport: "tls",
      hostname: "h",
      port: 443,
      caFiles: ["a.pem", "b.pem"],
    }],
    [["--tls", "h", "--cert", "c.pem", "--key", "k.pem", "--insecure"], false, {
      transport: "tls",
      hostname: "h",
      certFile: "c.pem",
      keyFile: "k.pem",
      insecure: true,
    }],
    // UDP waits DEFAULT_UDP_TIMEOUT for each echo, not the TCP default.
    [["udp://[::1]"], false, {
      transport: "udp",
      hostname: "::1",
      readTimeout: 1000,
    }],
    [["udp://[::1]", "--read-timeout", "2s"], false, {
      transport: "udp",
      hostname: "::1",
      readTimeout: 2000,
    }],
    [["-4", "127.0.0.1"], false, { family: 4, hostname: "127.0.0.1" }],
    [["-6", "[::1]:7"], false, { family: 6, hostname: "::1", port: 7 }],
    // A zone reads the same in brackets as without.
    [["[fe80::1%eth0]:7"], false, { hostname: "fe80::1%eth0", port: 7 }],
    [["fe80::1%eth0", "7"], false, { hostname: "fe80::1%eth0", port: 7 }],
    [["[::1%1]:7"], false, { hostname: "::1%1", port: 7 }],
    [["unix:///run/e.sock"], false, {
      transport: "unix",
      path: "///run/e.sock",
    }],
    [["unix:/run/e.sock", "-q"], false, {
      transport: "unix",
      path: "/run/e.sock",
      quiet: true,
    }],
    [["--quit-word", "STOP", "--verify"], false, {
      quitWord: "STOP",
      verify: true,
    }],
  ];
  for (const [args, terminal, expected] of cases) {
    await t.step(
      `${args.join(" ") || "(nothing)"}${terminal ? " on a terminal" : ""}`,
      () => {
        assertEquals(parseClientArgs(args, terminal), {
          ...DEFAULTS,
          ...expected,
        });
      },
    );
  }

  await t.step("--help and --version win over other mistakes", () => {
    assertEquals(parseClientArgs(["-4", "-6", "--help"], false), "help");
    assertEquals(parseClientArgs(["a", "b", "c", "-V"], false), "version");
  });
});

Deno.test("parseClientArgs() refuses contradictions with one clear line", async (t) => {
  const cases: [string[], string][] = [
    [["a", "1", "x"], "Too many arguments: expected HOST [PORT], got 3"],
    [["-4", "-6"], "Use -4 or -6, not both"],
    [
      ["--no-quit", "--quit-word", "X"],
      "Use --quit-word or --no-quit, not both",
    ],
    [["--raw", "-i"], "Use --raw or --interactive, not both"],
    [
      ["--raw", "--quit-word", "X"],
      "--raw sends every byte and has no quit word: leave out --quit-word",
    ],
    [["--tls", "tls://h"], "--tls goes with HOST [PORT], not with a URL"],
    [["--tls", "unix:/x"], "--tls goes with HOST [PORT], not with a URL"],
    [["--ca", "a.pem", "h"], "--ca goes with TLS (--tls or tls://)"],
    [["tls://h", "--cert", "c.pem"], "Give --cert and --key together"],
    [
      ["udp://h", "--raw"],
      "udp:// sends lines; --raw and --verify are for stream transports",
    ],
    [["unix:"], "Expected unix:PATH"],
    [["unix:/x", "-p", "1"], "A unix: socket takes no port"],
    [
      ["h:1", "2"],
      "Give the port once: as HOST:PORT, as a second argument, or with --port",
    ],
    [
      ["h", "0"],
      "Port 0 cannot be dialed: expected a whole number from 1 to 65535",
    ],
    [
      ["h:0"],
      "Port 0 cannot be dialed: expected a whole number from 1 to 65535",
    ],
    [
      ["-p", "0", "h"],
      "Port 0 cannot be dialed: expected a whole number from 1 to 65535",
    ],
    [
      ["h", "70000"],
      'Invalid port "70000": expected a whole number from 1 to 65535',
    ],
    [
      ["[::1]:70000"],
      'Invalid port "70000": expected a whole number from 1 to 65535',
    ],
    [[":2000"], "Empty host: give a name or address, like localhost:2000"],
    [
      ["tcp://:2000"],
      "Empty host: give a name or address, like localhost:2000",
    ],
    [
      ["[::1%lo]:2000"],
      'Invalid address "[::1%lo]:2000": an interface name as zone ("%lo") is understood only on a link-local address (fe80::/10); drop it',
    ],
    [
      ["::1%lo"],
      'Invalid address "::1%lo": an interface name as zone ("%lo") is understood only on a link-local address (fe80::/10); drop it',
    ],
    [
      ["-t", "soon"],
      'Invalid --timeout "soon": expected a duration such as 500ms, 5s, 2m or 1.5 (seconds)',
    ],
    [
      ["-4", "::1"],
      "-4 conflicts with the IPv6 address ::1: drop -4, or give an IPv4 address",
    ],
    [
      ["-6", "127.0.0.1:7"],
      "-6 conflicts with the IPv4 address 127.0.0.1: drop -6, or give an IPv6 address",
    ],
    [
      ["http://localhost:2000"],
      'Unsupported scheme "http://" in "http://localhost:2000": echo-client speaks tcp://, tls://, udp:// and unix:PATH',
    ],
    [
      ["ws://[::1]"],
      'Unsupported scheme "ws://" in "ws://[::1]": echo-client speaks tcp://, tls://, udp:// and unix:PATH',
    ],
    [["--bogus"], "Unknown option --bogus"],
    [["-p"], "Option --port needs a value"],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      const error = assertThrows(
        () => parseClientArgs(args, false),
        UsageError,
      );
      assertEquals(error.message, message);
    });
  }
});
