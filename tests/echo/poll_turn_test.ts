// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertRejects } from "@std/assert";
import { acceptFrom, MAX_STRANGERS } from "../../src/echo/poll_turn.ts";

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
