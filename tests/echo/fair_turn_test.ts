// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals } from "@std/assert";
import {
  countConnection,
  FAIR_FROM,
  type FairShare,
  fairTurn,
  MIN_READS_PER_TURN,
  READS_PER_TURN,
} from "../../src/echo/fair_turn.ts";
import {
  closePollTurns,
  pollTurnsOpen,
  pollTurnsSettled,
} from "../../src/echo/poll_turn.ts";

/** Pretends `n` connections are open for the length of `body`. */
async function withOpen(n: number, body: () => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i++) countConnection(1);
  try {
    await body();
  } finally {
    for (let i = 0; i < n; i++) countConnection(-1);
    // The loopback pair opened for many connections is closed with the last.
    await pollTurnsSettled();
    assert(!pollTurnsOpen());
  }
}

/** Runs `body` with `setTimeout` counted; returns how often it was called. */
async function countTimers(body: () => Promise<void>): Promise<number> {
  const original = globalThis.setTimeout;
  let calls = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    calls++;
    return original(...args);
  }) as typeof setTimeout;
  try {
    await body();
  } finally {
    globalThis.setTimeout = original;
  }
  return calls;
}

/** Reads until the share is spent; returns the reads allowed and the wait. */
function readUntilWait(share: FairShare): [number, Promise<void>] {
  for (let reads = 0; reads < 10 * READS_PER_TURN; reads++) {
    const wait = fairTurn(share);
    if (wait) return [reads, wait];
  }
  throw new Error("the share never ran out");
}

/** Waits for a turn boundary, so that no connection counts in the turn. */
async function freshTurn(): Promise<void> {
  const [, wait] = readUntilWait({ turn: -1, reads: 0 });
  await wait;
}

Deno.test("fairTurn() never makes a read wait while few connections are open", () => {
  const share = { turn: -1, reads: 0 };
  for (let i = 0; i < 10 * READS_PER_TURN; i++) {
    assertEquals(fairTurn(share), undefined);
  }
});

Deno.test("fairTurn() shares a turn's reads out over the connections reading in it", async (t) => {
  await withOpen(FAIR_FROM, async () => {
    await t.step("one busy connection gets the whole turn", async () => {
      await freshTurn();
      const share = { turn: -1, reads: 0 };
      const [reads, wait] = readUntilWait(share);
      assertEquals(reads, READS_PER_TURN);
      await wait;
      // A new turn: the share starts over.
      assertEquals(fairTurn(share), undefined);
    });

    await t.step("many connections get an even share each", async () => {
      await freshTurn();
      const shares = Array.from(
        { length: FAIR_FROM * 2 },
        () => ({ turn: -1, reads: 0 }),
      );
      // Every connection reads once, so all of them count in this turn.
      for (const share of shares) assertEquals(fairTurn(share), undefined);
      const each = Math.max(
        MIN_READS_PER_TURN,
        READS_PER_TURN / shares.length,
      );
      const [reads, wait] = readUntilWait(shares[0]!);
      assertEquals(reads + 1, Math.floor(each));
      // The others still have their share while the first one waits.
      assertEquals(fairTurn(shares[1]!), undefined);
      let settled = false;
      const waiting = wait.then(() => settled = true);
      assert(!settled);
      await waiting;
      assert(settled);
    });
  });
});

Deno.test("fairTurn() ends a turn at the next socket poll, through a loopback pair, once it is open", async (t) => {
  await withOpen(FAIR_FROM, async () => {
    await pollTurnsSettled();
    assert(pollTurnsOpen(), "the loopback pair opens for many connections");

    await t.step("turns take no timer", async () => {
      const timers = await countTimers(async () => {
        for (let turn = 0; turn < 20; turn++) await freshTurn();
      });
      assertEquals(timers, 0);
    });

    await t.step("a turn waiting when the pair closes ends", async () => {
      const [, wait] = readUntilWait({ turn: -1, reads: 0 });
      closePollTurns();
      await wait;
      assert(!pollTurnsOpen());
      // Without the pair, a turn is a timer.
      const timers = await countTimers(freshTurn);
      assertEquals(timers, 1);
    });
  });
});

Deno.test("fairTurn() leaves nothing open when connections come and go around the threshold", async () => {
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < FAIR_FROM; i++) countConnection(1);
    // Sometimes the pair is open by now, sometimes still opening.
    if (round % 3 === 0) await pollTurnsSettled();
    const [, wait] = readUntilWait({ turn: -1, reads: 0 });
    // The turn ends, whether the pair is still there or closed under it.
    if (round % 2 === 0) await wait;
    for (let i = 0; i < FAIR_FROM; i++) countConnection(-1);
    await wait;
  }
  await pollTurnsSettled();
  assert(!pollTurnsOpen());
});
