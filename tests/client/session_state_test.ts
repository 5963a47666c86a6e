// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import {
  EchoMismatchError,
  EchoTimeoutError,
  IncompleteEchoError,
  type SessionResult,
} from "../../src/client/session.ts";
import {
  echoMoves,
  type EchoState,
  type InputState,
  sessionOutcome,
} from "../../src/client/session_state.ts";

const reset = new Deno.errors.ConnectionReset("reset by peer");
const brokenPipe = new Deno.errors.BrokenPipe("broken pipe");
const timeout = new EchoTimeoutError(100, 3);
const mismatch = new EchoMismatchError(4, 0x61, 0x62);
const oops = new Error("input failed");

/** Counts with `pending` bytes sent and not echoed. */
function counts(pending: number): SessionResult {
  return {
    sent: 10,
    echoed: 10 - pending,
    linesSent: 2,
    linesEchoed: pending > 0 ? 1 : 2,
    outputClosed: false,
  };
}

type Expected = "result" | Error | typeof IncompleteEchoError;

Deno.test("sessionOutcome() is a function of both sides' last states and the counts", async (t) => {
  const cases: [string, InputState, EchoState, number, Expected][] = [
    ["all sent, all echoed", { name: "sent" }, { name: "ended" }, 0, "result"],
    [
      "all sent, server closed with echoes missing",
      { name: "sent" },
      { name: "ended" },
      3,
      IncompleteEchoError,
    ],
    [
      "server closed before the input was all sent, all echoed",
      { name: "stopped" },
      { name: "ended" },
      0,
      IncompleteEchoError,
    ],
    [
      "a reset while sending, echoes missing: the reset",
      { name: "lost", error: reset },
      { name: "ended" },
      3,
      reset,
    ],
    [
      "a reset while sending, all echoed: closed early",
      { name: "lost", error: reset },
      { name: "ended" },
      0,
      IncompleteEchoError,
    ],
    [
      "a broken pipe while sending, echoes missing: closed early",
      { name: "lost", error: brokenPipe },
      { name: "ended" },
      3,
      IncompleteEchoError,
    ],
    [
      "output closed: the counts, even with echoes missing",
      { name: "stopped" },
      { name: "outputClosed" },
      3,
      "result",
    ],
    [
      "a timeout wins over anything the sender saw",
      { name: "crashed", error: oops },
      { name: "failed", error: timeout },
      3,
      timeout,
    ],
    [
      "a bad echo wins over a lost connection",
      { name: "lost", error: reset },
      { name: "failed", error: mismatch },
      0,
      mismatch,
    ],
    [
      "an input failure wins over a closed output",
      { name: "crashed", error: oops },
      { name: "outputClosed" },
      0,
      oops,
    ],
    [
      "a read reset: the reset",
      { name: "sent" },
      { name: "lost", error: reset },
      3,
      reset,
    ],
    [
      "a read broken pipe with echoes missing: closed early",
      { name: "sent" },
      { name: "lost", error: brokenPipe },
      3,
      IncompleteEchoError,
    ],
    [
      "a read broken pipe with nothing missing: the error itself",
      { name: "sent" },
      { name: "lost", error: brokenPipe },
      0,
      brokenPipe,
    ],
    [
      "any other read error: that error",
      { name: "sent" },
      { name: "lost", error: oops },
      3,
      oops,
    ],
  ];
  for (const [name, input, echo, pending, expected] of cases) {
    await t.step(name, () => {
      const result = counts(pending);
      const outcome = sessionOutcome({ input, echo }, result);
      if (expected === "result") {
        assert("result" in outcome, `expected the counts: ${name}`);
        assertEquals(outcome.result, result);
      } else if (expected === IncompleteEchoError) {
        assert("error" in outcome, `expected an error: ${name}`);
        assertInstanceOf(outcome.error, IncompleteEchoError);
        assertEquals(outcome.error.result, result);
      } else {
        assert("error" in outcome, `expected an error: ${name}`);
        assertEquals(outcome.error, expected);
      }
    });
  }

  await t.step(
    "closed at the prompt with nothing pending: the counts, closedByServer",
    () => {
      const outcome = sessionOutcome(
        { input: { name: "idle" }, echo: { name: "ended" } },
        counts(0),
      );
      assertEquals(outcome, { result: { ...counts(0), closedByServer: true } });
    },
  );

  await t.step("closed at the prompt with echoes missing: closed early", () => {
    const outcome = sessionOutcome(
      { input: { name: "idle" }, echo: { name: "ended" } },
      counts(3),
    );
    assert("error" in outcome);
    assertInstanceOf(outcome.error, IncompleteEchoError);
  });

  await t.step("a lost read keeps its error as the cause", () => {
    const outcome = sessionOutcome(
      { input: { name: "sent" }, echo: { name: "lost", error: brokenPipe } },
      counts(3),
    );
    assert("error" in outcome);
    assertInstanceOf(outcome.error, IncompleteEchoError);
    assertEquals(outcome.error.cause, brokenPipe);
  });
});

Deno.test("echoMoves() leaves receiving once, and only failed cuts in later", () => {
  const receiving: EchoState = { name: "receiving" };
  const ended: EchoState = { name: "ended" };
  const outputClosed: EchoState = { name: "outputClosed" };
  const failed: EchoState = { name: "failed", error: timeout };
  const lost: EchoState = { name: "lost", error: reset };
  for (const to of [ended, outputClosed, failed, lost]) {
    assert(echoMoves(receiving, to), `receiving to ${to.name}`);
  }
  assert(!echoMoves(receiving, receiving));
  for (const from of [ended, outputClosed, lost]) {
    assert(echoMoves(from, failed), `${from.name} to failed`);
    for (const to of [ended, outputClosed, lost]) {
      assert(!echoMoves(from, to), `${from.name} to ${to.name}`);
    }
  }
  assert(!echoMoves(failed, { name: "failed", error: mismatch }));
  assert(!echoMoves(failed, ended));
});
