// Copyright the deno-echo authors. MIT license.

// What a failed name lookup is reported as, and resolveAll on the names
// that need no name server.

import { assertEquals, assertRejects } from "@std/assert";
import {
  lookupError,
  resolveAll,
  UnknownHostError,
} from "../../src/net/resolve.ts";

function failed(code: string): Error {
  return Object.assign(new Error(`getaddrinfo ${code} echo.example`), {
    code,
  });
}

Deno.test("lookupError() tells a name that does not exist from a name server that did not answer", () => {
  const cases: [string, string, boolean][] = [
    ["ENOTFOUND", "no such name", false],
    ["ENODATA", "no such name", false],
    ["EAI_AGAIN", "the name server did not answer (EAI_AGAIN)", true],
    ["ETIMEOUT", "the name server did not answer (ETIMEOUT)", true],
    ["EAI_FAIL", "name lookup failed (EAI_FAIL)", false],
  ];
  for (const [code, detail, temporary] of cases) {
    const cause = failed(code);
    const error = lookupError("echo.example", cause);
    assertEquals(
      [error.message, error.temporary, error.hostname, error.cause],
      [
        `Unknown host "echo.example": ${detail}`,
        temporary,
        "echo.example",
        cause,
      ],
    );
  }
});

Deno.test("resolveAll() takes literals as they are and refuses one of the other family", async () => {
  assertEquals(await resolveAll("::1"), [{ address: "::1", optional: false }]);
  const error = await assertRejects(
    () => resolveAll("127.0.0.1", 6),
    UnknownHostError,
    "it is an IPv4 address but IPv6 was asked for",
  );
  assertEquals(error.temporary, false);
});
