// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertStringIncludes } from "@std/assert";
import {
  ClientExitCode,
  EXIT_SUMMARIES,
  failure,
  type FailureTarget,
} from "../../src/cli/client_exit.ts";
import { CLIENT_USAGE } from "../../src/cli/client_usage.ts";
import { ConnectTimeoutError } from "../../src/client/dial.ts";
import {
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
} from "../../src/client/session_errors.ts";
import { UnknownHostError } from "../../src/net/resolve.ts";
import { InterruptedError } from "../../src/cli/line_editor.ts";

/** What every permission message ends with. */
const ALL_FLAGS = " (all it may use: --allow-net --allow-read --allow-write)";
const tcp: FailureTarget = { transport: "tcp", hostname: "::1", port: 7 };
const tls: FailureTarget = { transport: "tls", hostname: "localhost", port: 9 };
const unix: FailureTarget = {
  transport: "unix",
  hostname: "localhost",
  port: 2000,
  path: "/run/e.sock",
};

Deno.test("failure() maps each kind of error to its exit code and one line with a hint", async (t) => {
  const incomplete = new IncompleteEchoError({
    sent: 4,
    echoed: 2,
    linesSent: 2,
    linesEchoed: 1,
    outputClosed: false,
  });
  const refused = new IncompleteEchoError({
    sent: 2,
    echoed: 0,
    linesSent: 1,
    linesEchoed: 0,
    outputClosed: false,
  });
  const cases: [string, unknown, FailureTarget, number, string][] = [
    [
      "no socket file",
      new Deno.errors.NotFound("no such file"),
      unix,
      3,
      "No socket at unix:/run/e.sock: the server may not be running, or the path is wrong",
    ],
    [
      "a TLS handshake that fails",
      new Deno.errors.InvalidData("invalid peer certificate: UnknownIssuer"),
      tls,
      12,
      "TLS handshake with tls://localhost:9 failed: invalid peer certificate: UnknownIssuer. " +
      "For a private CA give --ca FILE; check the name you dial is in the certificate",
    ],
    [
      "TLS to a plain echo port, which sends the ClientHello back",
      new Deno.errors.InvalidData(
        "received unexpected handshake message: got ClientHello when expecting ServerHello",
      ),
      tls,
      12,
      "TLS handshake with tls://localhost:9 failed: the server sent our own TLS hello back, " +
      "so it is not speaking TLS on that port (a plain echo server?). " +
      "Dial it without TLS, or give the port of its tls:// listener",
    ],
    [
      "TLS: the server hangs up during the handshake",
      new Deno.errors.UnexpectedEof("unexpected end of file"),
      tls,
      12,
      "TLS handshake with tls://localhost:9 failed: the server closed the connection during it. " +
      "It may require a client certificate (give --cert FILE --key FILE), or not speak TLS on that port",
    ],
    [
      "TLS: closed without close_notify (a refused client certificate)",
      new Deno.errors.UnexpectedEof(
        "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/",
      ),
      tls,
      8,
      "tls://localhost:9 closed the TLS connection without closing TLS first (no close_notify). " +
      "A server with mutual TLS does this when it refuses the client certificate: " +
      "give --cert and --key of one its CA signed (its log says why)",
    ],
    [
      "refused",
      new Deno.errors.ConnectionRefused("refused"),
      tcp,
      3,
      "Connection to [::1]:7 refused: the server may not be running, or the port is wrong",
    ],
    [
      "an unknown host",
      new UnknownHostError("nowhere.invalid", "no address"),
      tcp,
      4,
      'Unknown host "nowhere.invalid": no address. Check the spelling, or use an IP address',
    ],
    [
      "a name server that did not answer",
      new UnknownHostError(
        "echo.example",
        "the name server did not answer (EAI_AGAIN)",
        { temporary: true },
      ),
      tcp,
      4,
      'Unknown host "echo.example": the name server did not answer (EAI_AGAIN). ' +
      "Try again; if it persists, check the network and its name servers, or use an IP address",
    ],
    [
      "no route",
      Object.assign(new Error("connect failed"), { code: "EHOSTUNREACH" }),
      tcp,
      5,
      "Cannot reach [::1]:7: connect failed. Check the address and your network",
    ],
    [
      "no echo for --read-timeout",
      new EchoTimeoutError(300, 5),
      tcp,
      6,
      "Server stopped responding: nothing for 300 ms with 5 bytes not echoed. " +
      "Raise --read-timeout to wait longer",
    ],
    [
      "an echo that differs",
      new EchoMismatchError(1, 0x61, 0x62),
      tcp,
      9,
      "Echo differs from what was sent at byte 1: sent 0x61, got 0x62",
    ],
    [
      "a connect timeout",
      new ConnectTimeoutError("::1", 7, 500),
      tcp,
      6,
      "Timed out after 500 ms connecting to ::1 port 7: a firewall may be " +
      "dropping packets, or the host is down. Raise --timeout to wait longer",
    ],
    [
      "closed early",
      incomplete,
      tcp,
      8,
      `${incomplete.message}. echo-server stops by itself after a line that says its quit word ` +
      "(BYE unless --quit-word says otherwise) and at --max-bytes",
    ],
    [
      "closed before any echo",
      refused,
      tcp,
      8,
      `${refused.message}. A server closes a connection at once when a limit is reached ` +
      "(echo-server's --max-connections or --max-per-ip; its log says so)",
    ],
    [
      "a reset",
      new Deno.errors.ConnectionReset("reset by peer"),
      tls,
      7,
      "Connection to tls://localhost:9 lost: reset by peer",
    ],
    [
      "no net permission: 4, naming the flag",
      new Deno.errors.NotCapable(
        'Requires net access to "[::1]:7", run again with the --allow-net flag',
      ),
      tcp,
      4,
      'Deno denied net access to "[::1]:7". Run with --allow-net' + ALL_FLAGS,
    ],
    [
      "no read permission (a unix: socket): 4, naming the flag",
      new Deno.errors.NotCapable(
        'Requires read access to "/run/e.sock", run again with the --allow-read flag',
      ),
      unix,
      4,
      'Deno denied read access to "/run/e.sock". Run with --allow-read' +
      ALL_FLAGS,
    ],
    [
      "a name lookup without net permission: 4, not an unknown host",
      new UnknownHostError("localhost", "name lookup failed (EPERM)", {
        cause: Object.assign(new Error("getaddrinfo EPERM"), { code: "EPERM" }),
      }),
      tcp,
      4,
      'Deno denied net access to look up "localhost". Run with --allow-net' +
      ALL_FLAGS,
    ],
    [
      "refused over UDP names udp://",
      new Deno.errors.ConnectionRefused("nothing bound"),
      { transport: "udp", hostname: "127.0.0.1", port: 1999 },
      3,
      "Connection to udp://127.0.0.1:1999 refused: the server may not be running, or the port is wrong",
    ],
    [
      "a bare IPv6 literal that ends in a port: did you mean [V6]:PORT",
      Object.assign(new Error("connect failed"), { code: "ENETUNREACH" }),
      { transport: "tcp", hostname: "::1:2000", port: 2000 },
      5,
      "Cannot reach [::1:2000]:2000: connect failed. Check the address and " +
      "your network. Did you mean [::1]:2000?",
    ],
    [
      "no such hint when the last group cannot be a port",
      new Deno.errors.ConnectionRefused("refused"),
      { transport: "tcp", hostname: "2001:db8::1", port: 2000 },
      3,
      "Connection to [2001:db8::1]:2000 refused: the server may not be running, or the port is wrong",
    ],
    [
      "a zone that names no interface: unreachable (5), not a lookup failure",
      new Error(
        "failed to lookup address information: Name or service not known",
      ),
      { transport: "tcp", hostname: "fe80::1%nosuch", port: 2000 },
      5,
      "Cannot reach [fe80::1%nosuch]:2000: this machine has no network " +
      "interface of the name or number after %. Name one of its interfaces, " +
      "as in fe80::1%eth0",
    ],
    [
      "a link-local address without a zone, and no guess at a port",
      new TypeError("Invalid argument (os error 22)"),
      { transport: "tcp", hostname: "fe80::1:2000", port: 2000 },
      5,
      "Cannot reach [fe80::1:2000]:2000: a link-local address needs the " +
      "interface after %. Add it, as in fe80::1%eth0",
    ],
    [
      "a lookup failure without a zone is not about interfaces",
      new Error(
        "failed to lookup address information: Name or service not known",
      ),
      tcp,
      1,
      "failed to lookup address information: Name or service not known",
    ],
    [
      "Ctrl-C at the prompt: 130",
      new InterruptedError(),
      tcp,
      130,
      "Interrupted",
    ],
    ["anything else", new Error("odd"), tcp, 1, "odd"],
    [
      "NotFound on TCP is not about a socket file",
      new Deno.errors.NotFound("gone"),
      tcp,
      1,
      "gone",
    ],
  ];
  for (const [name, error, target, code, message] of cases) {
    await t.step(name, () => {
      assertEquals(failure(error, target), { code, message });
    });
  }
});

Deno.test("echo-client --help lists every exit code the client returns", () => {
  for (const [name, summary] of Object.entries(EXIT_SUMMARIES)) {
    const code = ClientExitCode[name as keyof typeof ClientExitCode];
    if (summary === null) continue;
    assertStringIncludes(
      CLIENT_USAGE.replaceAll("\n", " "),
      `${code} ${summary}`,
    );
  }
  assertEquals(
    Object.keys(EXIT_SUMMARIES).sort(),
    Object.keys(ClientExitCode).sort(),
  );
});
