// Copyright the deno-echo authors. MIT license.

// Run as its own process by poll_turn_test.ts, with the net permission under
// test: pretends many connections are open, waits one fair turn, and prints
// whether the turns went through the loopback pair.

import {
  countConnection,
  FAIR_FROM,
  type FairShare,
  fairTurn,
} from "../../src/echo/fair_turn.ts";
import { pollTurnsOpen, pollTurnsSettled } from "../../src/echo/poll_turn.ts";

// Counted: without the permission, the pair must not be tried at all (a
// listen would make a server without --no-prompt ask for it).
let listens = 0;
const listen = Deno.listen;
Deno.listen = ((options: Deno.TcpListenOptions) => {
  listens++;
  return listen(options);
}) as typeof Deno.listen;

for (let i = 0; i < FAIR_FROM; i++) countConnection(1);
await pollTurnsSettled();
const share: FairShare = { turn: -1, reads: 0 };
let wait: Promise<void> | undefined;
for (let reads = 0; wait === undefined && reads < 10_000; reads++) {
  wait = fairTurn(share);
}
await wait;
const paired = pollTurnsOpen();
for (let i = 0; i < FAIR_FROM; i++) countConnection(-1);
const report = { turned: wait !== undefined, paired, listens };
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(report)));
