// Copyright the deno-echo authors. MIT license.

// What a connection of a load run shares with the run, and what the run
// asks of each connection, whatever its transport.

import type { Settings } from "./options.ts";
import type { Failure } from "./result.ts";

/** What a lane shares with the other lanes of its run. */
export interface LaneRun {
  readonly settings: Settings;
  /** The payload table every lane sends from. */
  readonly table: Uint8Array;
  /** When sending began. */
  readonly start: number;
  /** Messages sent at or after this time are measured. */
  readonly measureStart: number;
  /** Duration mode: nothing is sent at or after this time. */
  readonly measureEnd: number;
  /**
   * A measured message's echo arrived at `now`, `ns` nanoseconds after it
   * was sent (or due).
   */
  record(now: number, ns: number): void;
  /** Records a failed connection. */
  fail(kind: Failure, message: string): void;
  /** Records an open-loop message that found no free slot. */
  overrun(message: string): void;
  /** Records a measured datagram whose echo did not come back in time. */
  lose(message: string): void;
  /** A lane closed (finished, failed or stopped). */
  closed(): void;
}

/** One connection (or UDP socket) of a run, as the run drives it. */
export interface BenchLane {
  /** Messages sent, measured or not. */
  readonly sent: number;
  /** Messages echoed in full. */
  readonly completed: number;
  /** Measured messages sent. */
  readonly measuredSent: number;
  /** Measured messages echoed. */
  readonly measuredDone: number;
  /** Whether the lane has sent everything it will. */
  readonly writerDone: boolean;
  /** Sends and receives until done; never rejects. */
  run(): Promise<void>;
  /** Closes the lane now; `run()` then ends. */
  stop(): void;
  /** Fails the lane if echoes are due and nothing moved for too long. */
  checkTimeout(now: number): void;
}
