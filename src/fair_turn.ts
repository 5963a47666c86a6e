// Copyright the deno-echo authors. MIT license.

// Fairness between connections. A read whose data is already waiting
// completes without a trip through the event loop, so with many connections
// a busy subset can keep the loop to itself and starve the rest: with 200
// clients ping-ponging, a plain read/write loop left the least-served client
// at 0.38-0.60 of the mean and the slowest round trip at 0.5 s. Here, while
// many connections are open, every read counts against a budget per
// event-loop turn; once it is spent, reads wait for one timer turn, during
// which the runtime polls every socket (setTimeout, ~2 ms here: the cheaper
// setImmediate does not let the poll happen and did not help). Measured on
// the same load: least-served client at 0.84 of the mean, slowest round trip
// 28 ms. With fewer connections nobody starves, and the pause would only cost
// throughput, so the budget applies from FAIR_FROM connections up.

/** Reads allowed per event-loop turn, across all connections. */
export const READS_PER_TURN = 1024;
/** Open connections from which reads are budgeted. */
export const FAIR_FROM = 128;

let open = 0;
let reads = 0;
let turn: Promise<void> | undefined;

/** Counts a connection in (`+1`) or out (`-1`). */
export function countConnection(delta: 1 | -1): void {
  open += delta;
}

/**
 * Counts one read. Returns nothing while the budget lasts, or while few
 * connections are open (no await, no cost); once it is spent, a promise that
 * settles on the next timer turn.
 */
export function fairTurn(): Promise<void> | undefined {
  if (open < FAIR_FROM || ++reads <= READS_PER_TURN) return undefined;
  return turn ??= new Promise<void>((resolve) =>
    setTimeout(() => {
      turn = undefined;
      reads = 0;
      resolve();
    }, 0)
  );
}
