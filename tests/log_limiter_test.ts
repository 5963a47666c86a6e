// Copyright the deno-echo authors. MIT license.

import { deepEqual, equal, match } from "node:assert/strict";
import { LogLimiter } from "../src/log_limiter.ts";

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
    deepEqual(written, ["line 0", "line 1", "line 2"]);
    // Lines left out are never even formatted.
    equal(built, 3);
  }
  // Disposal reports what was left out, and stops its timer.
  equal(written.length, 4);
  match(written[3]!, /^7 test lines left out in the last [0-9.]+ s/);
});
