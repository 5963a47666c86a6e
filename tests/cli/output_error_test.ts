// Copyright the deno-echo authors. MIT license.

// Writing standard output: a reader that went away is ignored, any other
// failure is an OutputError that both programs report with exit 1.

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  guardOutput,
  isReaderGone,
  OutputError,
  writeOutput,
  writeText,
} from "../../src/cli/cli.ts";
import { ClientExitCode, failure } from "../../src/cli/client_exit.ts";
import {
  exitCode,
  outputFailure,
  ServerExitCode,
} from "../../src/cli/server_exit.ts";

/** The error Deno throws for ENOSPC: a plain Error with a code. */
function noSpace(): Error {
  return Object.assign(new Error("No space left on device (os error 28)"), {
    code: "ENOSPC",
  });
}

function io(): Error {
  return Object.assign(new Error("Input/output error (os error 5)"), {
    code: "EIO",
  });
}

const brokenPipe = (): Error =>
  new Deno.errors.BrokenPipe("Broken pipe (os error 32)");

/** A file whose writes fail with `error` after `room` bytes. */
function failingFile(
  room: number,
  error: () => Error,
): { written: number[]; writeSync(p: Uint8Array): number } {
  const written: number[] = [];
  return {
    written,
    writeSync(p: Uint8Array): number {
      const n = Math.min(p.length, room - written.length);
      if (n === 0) throw error();
      written.push(...p.subarray(0, n));
      return n;
    },
  };
}

Deno.test("isReaderGone() is true for a broken pipe only", () => {
  assert(isReaderGone(brokenPipe()));
  assert(!isReaderGone(noSpace()));
  assert(!isReaderGone(io()));
  assert(!isReaderGone(new Deno.errors.ConnectionReset("reset")));
});

Deno.test("writeOutput() writes everything, in as many writes as it takes", () => {
  const file = failingFile(100, noSpace);
  const short = {
    writeSync: (p: Uint8Array): number => file.writeSync(p.subarray(0, 3)),
  };
  writeOutput("0123456789", "the usage", short);
  assertEquals(
    new TextDecoder().decode(new Uint8Array(file.written)),
    "0123456789",
  );
});

Deno.test("writeOutput() ignores a reader that went away", () => {
  writeOutput("hello\n", "the usage", failingFile(2, brokenPipe));
});

Deno.test("writeOutput() throws an OutputError for a full disk", () => {
  const error = assertThrows(
    () => writeOutput("hello\n", "the usage", failingFile(2, noSpace)),
    OutputError,
    "Cannot write the usage to standard output: No space left on device (os error 28)",
  );
  assertEquals(error.what, "the usage");
  assertEquals(error.hint, "Free some space, or write the output elsewhere");
  assertEquals((error.cause as { code?: string }).code, "ENOSPC");
});

Deno.test("OutputError's hint fits the cause", () => {
  assertEquals(
    new OutputError("the echo", io()).hint,
    "Check where standard output goes, or write the output elsewhere",
  );
  const quota = Object.assign(new Error("Disk quota exceeded"), {
    code: "EDQUOT",
  });
  assertEquals(
    new OutputError("the echo", quota).hint,
    "Free some space, or write the output elsewhere",
  );
});

Deno.test("writeText() still ignores every failure (stderr)", () => {
  writeText(failingFile(0, noSpace), "a log line\n");
  writeText(failingFile(0, brokenPipe), "a log line\n");
});

/** A stream whose writes fail with `error` from the `n`-th on. */
function failingStream(
  n: number,
  error: () => Error,
): { chunks: string[]; writable: WritableStream<Uint8Array> } {
  const chunks: string[] = [];
  return {
    chunks,
    writable: new WritableStream<Uint8Array>({
      write(chunk): void {
        if (chunks.length + 1 >= n) throw error();
        chunks.push(new TextDecoder().decode(chunk));
      },
    }),
  };
}

Deno.test("guardOutput()", async (t) => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  await t.step("passes writes through", async () => {
    const target = failingStream(Infinity, noSpace);
    const guarded = guardOutput(target.writable, "the echo");
    const writer = guarded.writable.getWriter();
    await writer.write(bytes("a\n"));
    await writer.write(bytes("b\n"));
    assertEquals(target.chunks, ["a\n", "b\n"]);
    assertEquals(guarded.error, undefined);
  });
  await t.step("a broken pipe fails the write as it was, unkept", async () => {
    const target = failingStream(2, brokenPipe);
    const guarded = guardOutput(target.writable, "the echo");
    const writer = guarded.writable.getWriter();
    await writer.write(bytes("a\n"));
    await assertRejects(
      () => writer.write(bytes("b\n")),
      Deno.errors.BrokenPipe,
    );
    assertEquals(guarded.error, undefined);
  });
  await t.step("a full disk fails with an OutputError, kept", async () => {
    const target = failingStream(1, noSpace);
    const guarded = guardOutput(target.writable, "the echo");
    const writer = guarded.writable.getWriter();
    const error = await assertRejects(
      () => writer.write(bytes("a\n")),
      OutputError,
      "Cannot write the echo to standard output: No space left on device",
    );
    assertEquals(guarded.error, error);
  });
});

Deno.test("failure() gives a failed stdout exit 1, with what to do", () => {
  const error = new OutputError("the echo", noSpace());
  assertEquals(failure(error, { hostname: "::1:2000", port: 2000 }), {
    code: ClientExitCode.Failure,
    message: "Cannot write the echo to standard output: " +
      "No space left on device (os error 28). " +
      "Free some space, or write the output elsewhere",
  });
});

Deno.test("echo-server gives a failed stdout exit 1, with what to do", () => {
  const error = new OutputError("the usage", io());
  assertEquals(
    exitCode({ type: "output-failed", error }),
    ServerExitCode.Failure,
  );
  assertEquals(
    outputFailure(error),
    "Cannot write the usage to standard output: " +
      "Input/output error (os error 5). " +
      "Check where standard output goes, or write the output elsewhere",
  );
});
