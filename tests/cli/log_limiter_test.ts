// Copyright the deno-echo authors. MIT license.

import {
  assertEquals,
  assertGreater,
  assertLess,
  assertMatch,
} from "@std/assert";
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

Deno.test("LogLimiter under a flood writes one summary a second, not one per line let through", async () => {
  const written: string[] = [];
  const summaries = (): string[] =>
    written.filter((line) => line.includes("left out"));
  let offered = 0;
  {
    // 100 lines a second, refilled every 10 ms: a line let through about
    // every 10 ms while 20 are offered.
    using log = new LogLimiter((line) => written.push(line), {
      burst: 1,
      perSecond: 100,
      what: "test lines",
    });
    const start = performance.now();
    for (let i = 0; i < 1000 && performance.now() - start < 1300; i++) {
      for (let j = 0; j < 20; j++, offered++) log.line(`line ${offered}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // The first summary came by the timer, about a second in; the next is
    // not due before two.
    assertEquals(summaries().length, 1);
    assertMatch(
      summaries()[0]!,
      /^\d+ test lines left out in the last 1\.\d s/,
    );
    // The bucket was refilled meanwhile: more than its burst got through.
    const letThrough = written.length - 1;
    assertGreater(letThrough, 10);
    assertLess(letThrough, 400);
  }
  // Disposal sums up the rest, and every line offered is accounted for.
  const [first, last] = summaries().map((line) => Number(line.split(" ")[0]));
  assertEquals(summaries().length, 2);
  assertEquals(written.length - 2 + first! + last!, offered);
});

Deno.test("LogLimiter gives a caller that never yields its burst and no more", () => {
  const written: string[] = [];
  {
    using log = new LogLimiter((line) => written.push(line), {
      burst: 3,
      perSecond: 1_000_000,
      what: "test lines",
    });
    for (let i = 0; i < 10; i++) assertEquals(log.take(), i < 3);
  }
  // What take() let through the caller writes itself; the rest is counted.
  assertEquals(written, [
    "7 test lines left out in the last 0.0 s (log rate limit)",
  ]);
});
