// Copyright the deno-echo authors. MIT license.

// The questions a line editor asks after a resize and the answers it takes
// out of the input, however late, however many, or lost.

import { assert, assertEquals } from "@std/assert";
import { ResizeQuestions } from "../../src/cli/line_resize.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TIMEOUT = 20;

/** An answer: the cursor at `column` (1-based) of row 3. */
function answer(column: number): string {
  return `\x1b[3;${column}R`;
}

/** What `take()` left of `input`, as text, and the rows it found. */
function take(
  questions: ResizeQuestions,
  input: string,
  columns: number,
): { text: string; rows: number | undefined } {
  const taken = questions.take(encoder.encode(input), columns);
  return { text: decoder.decode(taken.bytes), rows: taken.rows };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("ResizeQuestions asks only when the terminal was narrowed past the cursor", () => {
  const questions = new ResizeQuestions(TIMEOUT, () => {});
  assertEquals(questions.ask(10, 20), false);
  assertEquals(questions.waiting, false);
  assertEquals(questions.ask(30, 20), true);
  assert(questions.waiting);
  questions.close();
  // Closed, its answer is still owed.
  assert(questions.waiting);
});

Deno.test("ResizeQuestions takes the answer out of the input and says where the row starts", () => {
  const questions = new ResizeQuestions(TIMEOUT, () => {});
  assert(questions.ask(30, 20));
  // Rewrapped: the cursor, at column 30 of the row, is at column 10 now.
  const { text, rows } = take(questions, `ab${answer(11)}cd`, 20);
  assertEquals(text, "abcd");
  assertEquals(rows, 1);
  assertEquals(questions.waiting, false);
  assertEquals(questions.column, undefined);
});

/** Questions whose first, at 20 columns, has timed out unanswered. */
async function timedOut(): Promise<ResizeQuestions> {
  let timeouts = 0;
  const questions = new ResizeQuestions(TIMEOUT, () => timeouts++);
  assert(questions.ask(30, 20));
  await sleep(TIMEOUT * 2);
  assertEquals(timeouts, 1);
  return questions;
}

Deno.test("ResizeQuestions takes a late answer out of the input but does not use it", async () => {
  const questions = await timedOut();
  const { text, rows } = take(questions, `${answer(11)}x`, 20);
  assertEquals(text, "x");
  assertEquals(rows, undefined);
  assertEquals(questions.waiting, false);
});

Deno.test("ResizeQuestions uses only the last of several answers", () => {
  const questions = new ResizeQuestions(TIMEOUT, () => {});
  assert(questions.ask(30, 25));
  assert(questions.ask(30, 20));
  const first = take(questions, answer(6), 20);
  assertEquals(first, { text: "", rows: undefined });
  assert(questions.waiting);
  const last = take(questions, answer(11), 20);
  assertEquals(last, { text: "", rows: 1 });
});

/**
 * Questions from a terminal that answered once, then twice unanswered so
 * far: at 22 columns, and at 20 five timeouts later (open).
 */
async function askedLongAfter(): Promise<ResizeQuestions> {
  const questions = new ResizeQuestions(TIMEOUT, () => {});
  // Heard once, so it is asked again after a timeout.
  assert(questions.ask(30, 25));
  assertEquals(take(questions, answer(6), 25).rows, 1);
  assert(questions.ask(30, 22));
  await sleep(TIMEOUT * 5);
  assert(questions.ask(30, 20));
  return questions;
}

Deno.test("ResizeQuestions does not take a slow answer for a later question's", async () => {
  const questions = await askedLongAfter();
  // The slow answer comes first and is taken out, unused.
  assertEquals(take(questions, answer(9), 20), { text: "", rows: undefined });
  assert(questions.waiting);
  assertEquals(take(questions, answer(11), 20), { text: "", rows: 1 });
  assertEquals(questions.waiting, false);
});

Deno.test("ResizeQuestions lets a lost answer cost only the questions asked soon after it", async () => {
  // The first unanswered question's answer is lost.
  const questions = await askedLongAfter();
  // The last's answer is matched with the lost one's question: taken out, unused.
  assertEquals(take(questions, answer(11), 20), { text: "", rows: undefined });
  assert(questions.waiting);
  // The last question's answer is owed still, until twenty timeouts after
  // it: then it counts as lost, and answers are used again.
  await sleep(TIMEOUT * 10);
  assert(questions.waiting);
  await sleep(TIMEOUT * 12);
  assertEquals(questions.waiting, false);
  assert(questions.ask(30, 20));
  assertEquals(take(questions, answer(11), 20), { text: "", rows: 1 });
});

Deno.test("ResizeQuestions stops asking a terminal that never answered, and asks again once it does", async () => {
  const questions = await timedOut();
  assertEquals(questions.ask(30, 15), false);
  // The first answer, late: heard, so asked again.
  assertEquals(take(questions, answer(1), 15).text, "");
  assert(questions.ask(30, 15));
  questions.close();
});
