// Copyright the deno-echo authors. MIT license.

// How a proxy's refusals and a source that cannot be bound end echo-client:
// their exit codes and one-line messages.

import { assertEquals } from "@std/assert";
import { ClientExitCode, failure } from "../../src/cli/client_exit.ts";
import { ProxyError } from "../../src/client/proxy_errors.ts";

const target = { transport: "tcp", hostname: "127.0.0.1", port: 2000 };
const proxy = "socks5://127.0.0.1:1080";

Deno.test("failure() gives each kind of proxy failure its own exit code", async (t) => {
  const cases: [string, unknown, number, string][] = [
    [
      "credentials wanted",
      new ProxyError("auth", proxy, "it wants credentials"),
      ClientExitCode.ProxyAuth,
      "Proxy socks5://127.0.0.1:1080: it wants credentials",
    ],
    [
      "the target cannot be reached",
      new ProxyError(
        "target",
        proxy,
        "it could not reach 127.0.0.1:2000 (connection refused)",
      ),
      ClientExitCode.ProxyTarget,
      "Proxy socks5://127.0.0.1:1080: it could not reach 127.0.0.1:2000 (connection refused)",
    ],
    [
      "refused by a rule",
      new ProxyError("denied", proxy, "it refused"),
      ClientExitCode.ProxyFailure,
      "Proxy socks5://127.0.0.1:1080: it refused",
    ],
    [
      "the proxy itself is down",
      new ProxyError("connect", proxy, "cannot connect to it: refused", {
        cause: new Deno.errors.ConnectionRefused("refused"),
      }),
      ClientExitCode.ProxyFailure,
      "Proxy socks5://127.0.0.1:1080: cannot connect to it: refused",
    ],
    [
      "a reply that makes no sense",
      new ProxyError(
        "protocol",
        proxy,
        "it answered with version 72, not SOCKS5",
      ),
      ClientExitCode.ProxyFailure,
      "Proxy socks5://127.0.0.1:1080: it answered with version 72, not SOCKS5",
    ],
    [
      "a source that cannot be bound",
      new Deno.errors.AddrInUse("Cannot connect from 127.0.0.2:4000: in use"),
      ClientExitCode.Failure,
      "Cannot connect from 127.0.0.2:4000: in use. Give --source an address of this host, and another port or none",
    ],
  ];
  for (const [what, error, code, message] of cases) {
    await t.step(what, () => {
      assertEquals(failure(error, target), { code, message });
    });
  }
  assertEquals(
    [
      ClientExitCode.PingLost,
      ClientExitCode.ProxyFailure,
      ClientExitCode.ProxyAuth,
      ClientExitCode.ProxyTarget,
    ],
    [13, 14, 15, 16],
  );
});
