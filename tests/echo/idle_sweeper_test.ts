// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals } from "@std/assert";
import { delay } from "@std/async";
import { watchIdle } from "../../src/echo/idle_sweeper.ts";

/** Records the calls the sweeper makes. */
function target(): { idled(ms: number): void; calls: number[] } {
  const calls: number[] = [];
  return { calls, idled: (ms) => calls.push(ms) };
}

Deno.test("watchIdle() tells the target once, after the timeout without activity", async () => {
  const idle = target();
  const watch = watchIdle(40, idle);
  try {
    await delay(120);
    assertEquals(idle.calls.length, 1);
    assert(idle.calls[0]! >= 40, `told after ${idle.calls[0]} ms`);
  } finally {
    watch.cancel();
  }
});

Deno.test("watchIdle() does not tell a target whose activity moves, nor one cancelled", async () => {
  const busy = target();
  const cancelled = target();
  const watch = watchIdle(60, busy);
  const other = watchIdle(60, cancelled);
  other.cancel();
  try {
    for (let i = 0; i < 12; i++) {
      watch.activity++;
      await delay(10);
    }
    assertEquals(busy.calls, []);
    assertEquals(cancelled.calls, []);
  } finally {
    watch.cancel();
  }
});

Deno.test("watchIdle() without a timeout shares one watch that tells nobody", async () => {
  const idle = target();
  const a = watchIdle(0, idle);
  const b = watchIdle(0, idle);
  assert(a === b, "one shared watch");
  a.activity++;
  await delay(30);
  a.cancel();
  assertEquals(idle.calls, []);
});
