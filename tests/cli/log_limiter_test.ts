// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertMatch } from "@std/assert";
import { LogLimiter } from "../../src/cli/log_limiter.ts";

Deno.test("LogLimiter writes a burst, counts the rest and sums them up once", () => {
  const written: string[] = [];
  let built = 0;
  {
    using log = new LogLimiter((line) => written.push(line), {
      burst: 3,
      perSecond: 0.001,
      what: "test lines",
    });
    for (let i = 0; i < 10; i++) {
      log.line(() => {
        built++;
        return `line ${i}`;
      });
    }
    assertEquals(written, ["line 0", "line 1", "line 2"]);
    // Lines left out are never even formatted.
    assertEquals(built, 3);
  }
  // Disposal reports what was left out, and stops its timer.
  assertEquals(written.length, 4);
  assertMatch(written[3]!, /^7 test lines left out in the last [0-9.]+ s/);
});
