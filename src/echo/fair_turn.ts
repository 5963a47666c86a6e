// Copyright the deno-echo authors. MIT license.

// Fairness between connections. A read whose data is already waiting
// completes without a trip through the event loop, so with many connections
// a busy subset can keep the loop to itself and starve the rest: with 200
// clients ping-ponging, a plain read/write loop left the least-served client
// at 0.38-0.60 of the mean and the slowest round trip at 0.5 s.
//
// Here, while many connections are open, reads are shared out per event-loop
// turn: 512 per turn, split evenly over the connections that read in it
// (at least 2 each). A connection that has had its share waits for the next
// turn, which begins after the runtime's next poll of its sockets (see
// poll_turn.ts); the others go on meanwhile, and once all of them wait, the
// poll comes. (The cheaper setImmediate does not let the poll happen and did
// not help; a timer does, but its ~2 ms left the server idle a fifth of the
// time at 200 connections.) Measured with 200 clients ping-ponging 1 KiB:
// least-served client at 1.00 of the mean, p99 2-3 ms, slowest round trip
// 6-11 ms, 10-18 % more round trips than with timer turns. 1024 reads a
// turn gave 3 % more round trips with twice the p99; 256 the same as 512
// (at 200 connections both come to 2 each); 2048 gave 6 % more with p99 at
// 8 ms instead of 2.5 (a waiting connection waits out a longer turn). With
// fewer connections nobody starves, so from FAIR_FROM connections up only.

import { afterNextPoll, closePollTurns, openPollTurns } from "./poll_turn.ts";

/** Reads shared out per event-loop turn, across all connections. */
export const READS_PER_TURN = 512;
/** Every connection may read at least this often per turn. */
export const MIN_READS_PER_TURN = 2;
/** Open connections from which reads are shared out. */
export const FAIR_FROM = 128;

/** One connection's use of the current turn. */
export interface FairShare {
  /** The turn it last read in. */
  turn: number;
  /** Its reads in that turn. */
  reads: number;
}

let open = 0;
let turnId = 0;
let readersInTurn = 0;
let nextTurn: Promise<void> | undefined;

/** Counts a connection in (`+1`) or out (`-1`). */
export function countConnection(delta: 1 | -1): void {
  open += delta;
  if (open === FAIR_FROM && delta === 1) openPollTurns();
  else if (open === 0) closePollTurns();
}

/**
 * Counts one read of a connection. Returns nothing while its share lasts, or
 * while few connections are open (no await, no cost); once its share is
 * spent, a promise that settles on the next turn.
 */
export function fairTurn(share: FairShare): Promise<void> | undefined {
  if (open < FAIR_FROM) return undefined;
  if (share.turn !== turnId) {
    share.turn = turnId;
    share.reads = 0;
    readersInTurn++;
  }
  const budget = Math.max(MIN_READS_PER_TURN, READS_PER_TURN / readersInTurn);
  if (++share.reads <= budget) return undefined;
  return nextTurn ??= afterNextPoll().then(() => {
    nextTurn = undefined;
    turnId++;
    readersInTurn = 0;
  });
}
