// Copyright the deno-echo authors. MIT license.

// ConnDuplex.endWhenFlushed(), over a stand-in connection whose writes end
// when the test says: the TCP end comes after every write still in flight,
// and a write that never ends is given up on after the timeout, without the
// end (whose own write would wait behind it).

import { assert, assertEquals } from "@std/assert";
import { ConnDuplex } from "../../src/server/conn_duplex.ts";
import { within } from "../_helpers/util.ts";

/** A connection that logs its calls; each write ends when `finish()` says. */
class FakeConn {
  readonly log: string[] = [];
  readonly #pending: (() => void)[] = [];

  write(chunk: Uint8Array): Promise<number> {
    this.log.push(`write ${chunk.length}`);
    return new Promise((resolve) => {
      this.#pending.push(() => resolve(chunk.length));
    });
  }

  /** Ends the oldest write waiting; returns whether there was one. */
  finish(): boolean {
    const next = this.#pending.shift();
    next?.();
    return next !== undefined;
  }

  read(): Promise<number | null> {
    return new Promise(() => {});
  }

  closeWrite(): Promise<void> {
    this.log.push("closeWrite");
    return Promise.resolve();
  }

  close(): void {
    this.log.push("close");
  }
}

function duplexOver(conn: FakeConn): ConnDuplex {
  return new ConnDuplex(conn as unknown as Deno.Conn);
}

function flushed(duplex: ConnDuplex, timeout: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    duplex.endWhenFlushed(timeout, () => resolve(performance.now() - started));
  });
}

/** Lets writes waiting on a write that ended go ahead. */
function aTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("ConnDuplex.endWhenFlushed() ends the TCP stream after every write in flight", async () => {
  const conn = new FakeConn();
  const duplex = duplexOver(conn);
  const done = flushed(duplex, 10_000);
  // As node:tls hands its last records over: the first from a microtask
  // queued after the call, each next one once the write before is done.
  queueMicrotask(() => {
    duplex.write(new Uint8Array(3), () => duplex.write(new Uint8Array(5)));
  });
  await aTurn();
  // The first write still waits: no end yet, the second not even made.
  assertEquals(conn.log, ["write 3"]);
  assert(conn.finish());
  await aTurn();
  assertEquals(conn.log, ["write 3", "write 5"]);
  assert(conn.finish());
  await within(done, 5_000, "the end after the writes");
  assertEquals(conn.log, ["write 3", "write 5", "closeWrite"]);
  duplex.destroy();
  assertEquals(conn.log.at(-1), "close");
});

Deno.test("ConnDuplex.endWhenFlushed() gives up on a write that never ends, after its timeout", async () => {
  const conn = new FakeConn();
  const duplex = duplexOver(conn);
  duplex.write(new Uint8Array(7));
  const waited = await within(flushed(duplex, 100), 5_000, "the give-up");
  assert(waited >= 90, `gave up after ${waited} ms, before its timeout`);
  // No end: its write would only queue behind the one that never ends.
  assertEquals(conn.log, ["write 7"]);
  duplex.destroy();
  assertEquals(conn.log, ["write 7", "close"]);
});

Deno.test("ConnDuplex.endWhenFlushed() stops waiting once the duplex is destroyed", async () => {
  const conn = new FakeConn();
  const duplex = duplexOver(conn);
  duplex.write(new Uint8Array(2));
  // Its timeout is far off: the sanitizer fails the test if it is left set.
  const done = flushed(duplex, 60_000);
  await aTurn();
  duplex.destroy();
  await within(done, 5_000, "the end on destroy");
  assertEquals(conn.log, ["write 2", "close"]);
});

Deno.test("ConnDuplex.endWhenFlushed() ends at once when nothing is in flight", async () => {
  const conn = new FakeConn();
  const duplex = duplexOver(conn);
  await within(flushed(duplex, 60_000), 5_000, "the end");
  assertEquals(conn.log, ["closeWrite"]);
  duplex.destroy();
});
