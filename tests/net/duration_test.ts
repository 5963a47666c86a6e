// Copyright the deno-echo authors. MIT license.

// Every duration option of the library is at most what a timer can wait:
// 2^31 - 1 ms. A longer one would fire after 1 ms.

import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { dial, dialTls, openUdpClient } from "../../mod.ts";
import { checkDuration, MAX_TIMEOUT } from "../../src/net/duration.ts";

Deno.test("checkDuration() takes 0 (or min) to 2^31 - 1 ms", () => {
  assertEquals(MAX_TIMEOUT, 2_147_483_647);
  assertEquals(checkDuration("t", 0), 0);
  assertEquals(checkDuration("t", 0.5), 0.5);
  assertEquals(checkDuration("t", MAX_TIMEOUT), MAX_TIMEOUT);
  for (const value of [MAX_TIMEOUT + 1, Infinity, NaN, -1]) {
    assertThrows(
      () => checkDuration("t", value),
      RangeError,
      `Invalid t ${value}: expected 0 to 2147483647 ms (about 24.8 days)`,
    );
  }
  assertThrows(() => checkDuration("t", 0, 1), RangeError, "expected 1 to");
  assertThrows(
    () => checkDuration("t", "5" as unknown as number),
    TypeError,
    'Invalid t "5": expected a number of ms',
  );
});

Deno.test("dial(), dialTls() and openUdpClient() refuse timeouts a timer cannot wait", async (t) => {
  for (const timeout of [2 ** 31, Infinity, NaN, -1]) {
    await t.step(`timeout ${timeout}`, async () => {
      await assertRejects(
        () => dial({ hostname: "127.0.0.1", port: 9, timeout }),
        RangeError,
        `Invalid timeout ${timeout}`,
      );
      await assertRejects(
        () =>
          dialTls({
            hostname: "127.0.0.1",
            port: 9,
            timeout,
            clientCert: { cert: "", key: "" },
          }),
        RangeError,
        `Invalid timeout ${timeout}`,
      );
      await assertRejects(
        () => openUdpClient({ hostname: "127.0.0.1", port: 9, timeout }),
        RangeError,
        `Invalid timeout ${timeout}`,
      );
    });
  }
});
