// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertInstanceOf } from "@std/assert";
import { EchoVerifier } from "../../src/client/echo_verifier.ts";
import { EchoMismatchError } from "../../src/client/session_errors.ts";
import { bytes } from "../_helpers/util.ts";

/** Sends `sent` in its chunks, echoes `echoed` in its chunks: the first error. */
function verify(
  sent: readonly string[],
  echoed: readonly string[],
): EchoMismatchError | undefined {
  const verifier = new EchoVerifier();
  for (const chunk of sent) verifier.expect(bytes(chunk));
  let offset = 0;
  for (const chunk of echoed) {
    const data = bytes(chunk);
    const error = verifier.check(data, offset);
    if (error !== undefined) return error;
    offset += data.length;
  }
  return undefined;
}

Deno.test("EchoVerifier says on which line and column an echo differs, with the text around it", async (t) => {
  await t.step("an echo that matches", () => {
    assertEquals(verify(["one\ntwo\n"], ["one\n", "two\n"]), undefined);
  });

  await t.step("line 3, in one chunk", () => {
    const error = verify(["one\ntwo\nthree\nfour\n"], [
      "one\ntwo\nthXee\nfour\n",
    ]);
    assertInstanceOf(error, EchoMismatchError);
    assertEquals([error.line, error.column, error.offset], [3, 3, 10]);
    assertEquals(
      error.message,
      'Echo differs from what was sent on line 3, column 3 (byte 10): sent "three\\n", got "thXee\\n"',
    );
  });

  await t.step(
    "the line begun in earlier chunks, sent and echoed in pieces",
    () => {
      const error = verify(["on", "e\nab", "cdef\n"], [
        "o",
        "ne\na",
        "bcdXf\n",
      ]);
      assertInstanceOf(error, EchoMismatchError);
      assertEquals([error.line, error.column, error.offset], [2, 5, 8]);
      assertEquals(
        error.message,
        'Echo differs from what was sent on line 2, column 5 (byte 8): sent "abcdef\\n", got "abcdXf\\n"',
      );
    },
  );

  await t.step("columns count characters, not bytes", () => {
    const error = verify(["h\u00e9llo w\u00f6rld\n"], [
      "h\u00e9llo w\u00f6rXd\n",
    ]);
    assertInstanceOf(error, EchoMismatchError);
    assertEquals([error.line, error.column], [1, 10]);
  });

  await t.step("a long line: only the last bytes before the difference", () => {
    const line = "x".repeat(100);
    const error = verify([`${line}abc\n`], [
      `${line.slice(0, 60)}`,
      `${line.slice(60)}aXc\n`,
    ]);
    assertInstanceOf(error, EchoMismatchError);
    assertEquals([error.line, error.column], [1, 102]);
    assertEquals(
      error.message,
      `Echo differs from what was sent on line 1, column 102 (byte 101): sent "${
        "x".repeat(15)
      }abc\\n", got "${"x".repeat(15)}aXc\\n"`,
    );
  });

  await t.step("controls in the text are shown escaped", () => {
    const error = verify(["a\x1b[2Jb\n"], ["a\x1b[2JX\n"]);
    assertInstanceOf(error, EchoMismatchError);
    assertEquals(
      error.message,
      'Echo differs from what was sent on line 1, column 6 (byte 5): sent "a\\u001b[2Jb\\n", got "a\\u001b[2JX\\n"',
    );
  });

  await t.step("more echoed than sent", () => {
    const error = verify(["ok\n"], ["ok\nextra\n"]);
    assertInstanceOf(error, EchoMismatchError);
    assertEquals([error.line, error.column, error.offset], [2, 1, 3]);
    assertEquals(
      error.message,
      'Echo has more bytes than were sent: line 2, column 1 (byte 3) was never sent; got "extra\\n"',
    );
  });
});
