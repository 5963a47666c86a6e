// Copyright the deno-echo authors. MIT license.

// Durations on the command line: at most what a timer can wait (2^31 - 1
// ms); a longer one would fire after 1 ms.

import { assertEquals, assertThrows } from "@std/assert";
import { parseDuration, UsageError } from "../../src/cli/cli.ts";
import { MAX_TIMEOUT } from "../../src/net/duration.ts";
import { assertUsage, runClient, runServer } from "../_helpers/cli.ts";

Deno.test("parseDuration() takes up to 2^31 - 1 ms and refuses more", async (t) => {
  assertEquals(parseDuration("35791m", "--x"), 35_791 * 60_000);
  assertEquals(parseDuration(`${MAX_TIMEOUT}ms`, "--x"), MAX_TIMEOUT);
  assertEquals(parseDuration("2147483.647", "--x"), MAX_TIMEOUT);
  for (const text of ["35792m", `${MAX_TIMEOUT + 1}ms`, "40000m", "1e9"]) {
    await t.step(text, () => {
      assertThrows(
        () => parseDuration(text, "--drain-timeout"),
        UsageError,
        `Invalid --drain-timeout "${text}"`,
      );
    });
  }
  assertThrows(
    () => parseDuration("40000m", "--idle-timeout"),
    UsageError,
    'Invalid --idle-timeout "40000m": at most 35791m (2147483647 ms, about 24.8 days)',
  );
});

Deno.test("echo-server and echo-client refuse a duration over 35791m with exit 2", async (t) => {
  for (
    const option of ["--drain-timeout", "--idle-timeout", "--handshake-timeout"]
  ) {
    await t.step(`echo-server ${option}`, async () => {
      const result = await runServer(["--port", "0", option, "40000m"]);
      assertUsage(
        result,
        "echo-server",
        new RegExp(`Invalid ${option} "40000m": at most 35791m`),
      );
    });
  }
  for (const option of ["--timeout", "--read-timeout"]) {
    await t.step(`echo-client ${option}`, async () => {
      const result = await runClient(["127.0.0.1:9", option, "40000m"]);
      assertUsage(
        result,
        "echo-client",
        new RegExp(`Invalid ${option} "40000m": at most 35791m`),
      );
    });
  }
});
