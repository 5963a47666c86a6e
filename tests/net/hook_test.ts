// Copyright the deno-echo authors. MIT license.

import { assertEquals } from "@std/assert";
import { callHook } from "../../src/net/hook.ts";
import { connect, serve } from "../../mod.ts";

Deno.test("callHook() swallows a hook's throw and an async hook's rejection", async () => {
  const calls: string[] = [];
  callHook((what: string) => {
    calls.push(what);
    throw new Error("sync");
  }, "sync");
  const rejected = Promise.withResolvers<void>();
  callHook(async (what: string) => {
    calls.push(what);
    await Promise.resolve();
    rejected.resolve();
    throw new Error("async");
  }, "async");
  await rejected.promise;
  // An unhandled rejection would fail this test after it returns.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(calls, ["sync", "async"]);
});

Deno.test("serve() goes on when an async onEvent hook rejects", async () => {
  let events = 0;
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    onEvent: async () => {
      events++;
      await Promise.resolve();
      throw new Error("hook failed");
    },
  });
  for (const line of ["one", "two"]) {
    await using client = await connect(server.addrs[0]!);
    assertEquals(await client.send(line), line);
  }
  await server.shutdown();
  assertEquals(events >= 2, true, `${events} events`);
});
