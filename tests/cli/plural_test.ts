// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertMatch } from "@std/assert";
import { plural } from "../../src/cli/plural.ts";
import { LogLimiter } from "../../src/cli/log_limiter.ts";

Deno.test("plural() is singular for exactly one", () => {
  assertEquals(plural(0, "connection"), "0 connections");
  assertEquals(plural(1, "connection"), "1 connection");
  assertEquals(plural(2, "open connection"), "2 open connections");
  assertEquals(plural(1, "byte"), "1 byte");
  assertEquals(plural(1, "more address", "more addresses"), "1 more address");
  assertEquals(plural(3, "more address", "more addresses"), "3 more addresses");
});

Deno.test("LogLimiter's summary of one line left out is singular", () => {
  const written: string[] = [];
  {
    using log = new LogLimiter((line) => written.push(line), {
      burst: 1,
      perSecond: 0.001,
      what: "more accept failures",
      one: "more accept failure",
    });
    log.line("first");
    log.line("second");
  }
  assertEquals(written.length, 2);
  assertMatch(written[1]!, /^1 more accept failure left out in the last /);
});
