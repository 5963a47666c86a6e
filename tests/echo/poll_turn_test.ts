// Copyright the deno-echo authors. MIT license.

import { assertEquals } from "@std/assert";

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
  assertEquals(report, { turned: true, paired: true });
  assertEquals(stderr, "");
});

Deno.test("fair turns fall back to timers, without asking, when 127.0.0.1 is not allowed", async () => {
  for (
    const permission of ["--allow-net=[::1]", "--allow-net=127.0.0.1:2000"]
  ) {
    const { report, stderr } = await runChild(permission);
    assertEquals(report, { turned: true, paired: false }, permission);
    assertEquals(stderr, "", permission);
  }
});
