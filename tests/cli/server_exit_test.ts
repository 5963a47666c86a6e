// Copyright the deno-echo authors. MIT license.

import { assertEquals } from "@std/assert";
import {
  exitCode,
  ServerExitCode,
  startFailure,
  tlsFileFailure,
} from "../../src/cli/server_exit.ts";
import type { ListenerSpec } from "../../src/net/listen_url.ts";
import { UnknownHostError } from "../../src/net/resolve.ts";

const NOT_HERE = "the address is not on this machine. " +
  "Use one of its addresses, localhost, or :: for every interface";

Deno.test("startFailure() explains addresses that cannot be listened on", async (t) => {
  const lookupFailed = (): Error =>
    new Error(
      "failed to lookup address information: Name or service not known",
    );
  const cases: [string, unknown, ListenerSpec, number, string][] = [
    [
      "a unix: socket in a folder that is not there",
      new Deno.errors.NotFound("No such file or directory (os error 2)"),
      { transport: "unix", path: "/no/such/dir/echo.sock" },
      ServerExitCode.AddressUnavailable,
      'Cannot listen on unix:/no/such/dir/echo.sock: the folder "/no/such/dir" ' +
      "does not exist or is not a folder (No such file or directory (os error 2)). " +
      "Create it first, or choose a path in a folder that exists",
    ],
    [
      "not this machine's",
      new Deno.errors.AddrNotAvailable("Cannot assign requested address"),
      { transport: "tcp", hostname: "192.0.2.1", port: 2000 },
      ServerExitCode.AddressUnavailable,
      `Cannot listen on 192.0.2.1:2000: ${NOT_HERE}`,
    ],
    [
      "an IPv6 literal whose last group may be a port",
      new Deno.errors.AddrNotAvailable("Cannot assign requested address"),
      { transport: "tcp", hostname: "::1:2990", port: 2000 },
      ServerExitCode.AddressUnavailable,
      `Cannot listen on [::1:2990]:2000: ${NOT_HERE}. If 2990 was meant as ` +
      "the port, give it separately: --hostname ::1 --port 2990, or " +
      "--listen tcp://[::1]:2990",
    ],
    [
      "a zone that names no interface",
      lookupFailed(),
      { transport: "tcp", hostname: "fe80::1%nosuch", port: 0 },
      ServerExitCode.AddressUnavailable,
      'Cannot listen on [fe80::1%nosuch]:0: this machine has no network interface "nosuch" ' +
      "(the zone after %). Name one of its interfaces, as in fe80::1%eth0",
    ],
    [
      "a zone that numbers no interface",
      new Error("No such device (os error 19)"),
      { transport: "udp", hostname: "fe80::1%99", port: 0 },
      ServerExitCode.AddressUnavailable,
      'Cannot listen on udp://[fe80::1%99]:0: this machine has no network interface "99" ' +
      "(the zone after %). Name one of its interfaces, as in fe80::1%eth0",
    ],
    [
      "a link-local address without a zone",
      new TypeError("Invalid argument (os error 22)"),
      { transport: "tcp", hostname: "fe80::1", port: 0 },
      ServerExitCode.AddressUnavailable,
      "Cannot listen on [fe80::1]:0: a link-local address needs the " +
      "interface after %, as in fe80::1%eth0",
    ],
    [
      "a name that does not resolve",
      new UnknownHostError("nowhere.invalid", "no such name"),
      { transport: "tcp", hostname: "nowhere.invalid", port: 2000 },
      ServerExitCode.AddressUnavailable,
      'Cannot listen on nowhere.invalid:2000: Unknown host "nowhere.invalid": ' +
      "no such name. Check the spelling, or use one of this machine's " +
      "addresses, localhost, or :: for every interface",
    ],
    [
      "a name server that did not answer",
      new UnknownHostError(
        "echo.example",
        "the name server did not answer (EAI_AGAIN)",
        { temporary: true },
      ),
      { transport: "tcp", hostname: "echo.example", port: 2000 },
      ServerExitCode.AddressUnavailable,
      'Cannot listen on echo.example:2000: Unknown host "echo.example": ' +
      "the name server did not answer (EAI_AGAIN). Try again; if it " +
      "persists, check the network and its name servers, or use an IP address",
    ],
    [
      "a lookup failure without a zone stays unexpected",
      lookupFailed(),
      { transport: "tcp", hostname: "::1", port: 0 },
      ServerExitCode.Failure,
      "Cannot listen on [::1]:0: failed to lookup address information: Name or service not known",
    ],
  ];
  for (const [name, error, spec, code, message] of cases) {
    await t.step(name, () => {
      assertEquals(startFailure(error, spec), { code, message });
    });
  }
});

Deno.test("tlsFileFailure() names the file and its option; a Deno permission is exit 4", () => {
  const denied = new Deno.errors.NotCapable(
    'Requires read access to "/etc/ca.pem", run again with the --allow-read flag',
  );
  const file = { flag: "--client-ca", path: "/etc/ca.pem" } as const;
  assertEquals(tlsFileFailure(denied, file), {
    code: ServerExitCode.PermissionDenied,
    message:
      'Deno denied reading the client CA file "/etc/ca.pem" (--client-ca). Run with --allow-read',
  });
  assertEquals(
    exitCode({ type: "tls-files", error: denied, file }),
    ServerExitCode.PermissionDenied,
  );
  const missing = new Deno.errors.NotFound("No such file or directory");
  assertEquals(tlsFileFailure(missing, { flag: "--key", path: "k.pem" }), {
    code: ServerExitCode.TlsSetup,
    message:
      'Cannot read the TLS private key "k.pem" (--key): no such file. Check the path given to --key',
  });
  assertEquals(
    tlsFileFailure(new Error("Is a directory"), { flag: "--cert", path: "/" })
      .message,
    'Cannot read the TLS certificate "/" (--cert): Is a directory',
  );
});
