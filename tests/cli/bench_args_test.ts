// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { parseBenchArgs } from "../../src/cli/bench_args.ts";
import { UsageError } from "../../src/cli/cli.ts";

Deno.test("parseBenchArgs() reads the target as echo-client does, port 1 to 65535", async (t) => {
  const target = (args: string[]) => {
    const parsed = parseBenchArgs(args);
    if (parsed === "help") throw new Error("help");
    return parsed;
  };
  await t.step("HOST:PORT, HOST PORT and the default port", () => {
    assertEquals(
      [
        target(["127.0.0.1:7"]).port,
        target(["[::1]", "8"]).hostname,
        target(["localhost"]).port,
      ],
      [7, "::1", 2000],
    );
  });
  for (
    const [args, message] of [
      [
        ["localhost:0"],
        "Port 0 cannot be dialed: expected a whole number from 1 to 65535",
      ],
      [
        ["localhost", "0"],
        "Port 0 cannot be dialed: expected a whole number from 1 to 65535",
      ],
      [
        ["localhost:70000"],
        'Invalid port "70000": expected a whole number from 1 to 65535',
      ],
    ] as const
  ) {
    await t.step(args.join(" "), () => {
      assertThrows(() => parseBenchArgs([...args]), UsageError, message);
    });
  }
});
