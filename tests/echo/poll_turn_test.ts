// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertFalse, assertRejects } from "@std/assert";
import {
  acceptFrom,
  afterNextPoll,
  closePollTurns,
  MAX_STRANGERS,
  openPollTurns,
  pollTurnsOpen,
  pollTurnsSettled,
} from "../../src/echo/poll_turn.ts";
import { within } from "../_helpers/util.ts";

const CHILD = new URL("./_poll_turn_child.ts", import.meta.url).pathname;

/** Runs the child with `permission`; returns what it printed, and stderr. */
async function runChild(
  permission: string,
): Promise<{ report: unknown; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", permission, CHILD],
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  assertEquals(output.code, 0, decoder.decode(output.stderr));
  return {
    report: JSON.parse(decoder.decode(output.stdout)),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("fair turns go through a loopback pair when 127.0.0.1 is allowed", async () => {
  const { report, stderr } = await runChild("--allow-net=127.0.0.1");
  assertEquals(report, { turned: true, paired: true, listens: 1 });
  assertEquals(stderr, "");
});

Deno.test("fair turns fall back to timers, without asking, when 127.0.0.1 is not allowed", async () => {
  for (
    const permission of ["--allow-net=[::1]", "--allow-net=127.0.0.1:2000"]
  ) {
    const { report, stderr } = await runChild(permission);
    assertEquals(
      report,
      { turned: true, paired: false, listens: 0 },
      permission,
    );
    assertEquals(stderr, "", permission);
  }
});

Deno.test("the loopback pair is made with its own connection, not one that came first", async (t) => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;

  await t.step("another program's connections are closed", async () => {
    const strangers = await Promise.all(
      [0, 1].map(() => Deno.connect({ hostname: "127.0.0.1", port })),
    );
    using ours = await Deno.connect({ hostname: "127.0.0.1", port });
    using accepted = await acceptFrom(listener, ours.localAddr);
    assertEquals(accepted.remoteAddr.port, ours.localAddr.port);
    for (const stranger of strangers) {
      // Closed by the other end: end of stream, or a reset.
      const n = await stranger.read(new Uint8Array(1)).catch(() => null);
      assertEquals(n, null);
      stranger.close();
    }
  });

  await t.step("too many of them and the pair is given up", async () => {
    const strangers = await Promise.all(
      Array.from(
        { length: MAX_STRANGERS + 1 },
        () => Deno.connect({ hostname: "127.0.0.1", port }),
      ),
    );
    using ours = await Deno.connect({ hostname: "127.0.0.1", port });
    await assertRejects(
      () => acceptFrom(listener, ours.localAddr),
      Deno.errors.ConnectionRefused,
    );
    for (const stranger of strangers) stranger.close();
  });
});

Deno.test("a loopback pair whose wake-up write fails is dropped, and the turn waiting on it ends", async () => {
  // The pair's writing end is the connection it dials: made here to fail
  // its writes, while its other end stays open and its read waits.
  const connect = Deno.connect;
  Deno.connect = (async (options: Deno.ConnectOptions) => {
    const conn = await connect(options);
    conn.write = () => Promise.reject(new Deno.errors.BrokenPipe("made to"));
    return conn;
  }) as typeof Deno.connect;
  try {
    openPollTurns();
    await pollTurnsSettled();
  } finally {
    Deno.connect = connect;
  }
  try {
    assert(pollTurnsOpen(), "the pair did not open");
    await within(afterNextPoll(), 5_000, "the turn after the failed write");
    assertFalse(pollTurnsOpen(), "the pair is still open");
  } finally {
    closePollTurns();
  }
});
