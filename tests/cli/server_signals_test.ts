// Copyright the deno-echo authors. MIT license.

// echo-server's second stop signal during a drain, in a process of its own
// (signals go to the whole process) around a server whose drain lasts until
// it is closed: with no connection left open there is nothing to close, and
// the exit must not say the signal forced anything.

import { assertEquals, assertMatch } from "@std/assert";
import { delay } from "@std/async";
import { type ProcessResult, spawn } from "../_helpers/proc.ts";

/** More than the window in which a repeat is the same signal delivered twice. */
const AFTER_WINDOW_MS = 400;

async function signalTwice(open: number): Promise<ProcessResult> {
  await using proc = spawn(
    [Deno.execPath(), "run", "--allow-read"],
    [new URL("./_signals_fixture.ts", import.meta.url).pathname, String(open)],
  );
  await proc.waitFor("stdout", "ready");
  proc.kill("SIGTERM");
  await proc.waitFor("stderr", "SIGTERM: stopped accepting");
  await delay(AFTER_WINDOW_MS);
  proc.kill("SIGTERM");
  return await proc.wait();
}

Deno.test("a second SIGTERM with no open connection closes none and forces nothing", async () => {
  const result = await signalTwice(0);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(
    result.stderr,
    /SIGTERM: stopped accepting; no open connections$/m,
  );
  assertMatch(result.stderr, /SIGTERM again: no open connections to close$/m);
  assertEquals(result.stdout, "ready\nforced: none; closed: 0\n");
});

Deno.test("a second SIGTERM with a connection open closes it and says it forced", async () => {
  const result = await signalTwice(1);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /SIGTERM again: closing 1 connection now$/m);
  assertEquals(result.stdout, "ready\nforced: SIGTERM; closed: 1\n");
});
