// Copyright the deno-echo authors. MIT license.

import { concat } from "@std/bytes";
import { assert, assertEquals, assertRejects } from "@std/assert";
import { serve } from "../../mod.ts";
import { IncompleteEchoError, runSession } from "../../src/client/session.ts";
import {
  assertBytesEqual,
  KiB,
  MiB,
  mulberry32,
  randInt,
  randomBytes,
  randomChunks,
} from "../_helpers/util.ts";
import { connectTo, decoder, input, output, session } from "./_session.ts";

Deno.test("runSession() in lines mode normalizes line endings and counts", async (t) => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });

  await t.step("\\r\\n becomes \\n, also split across chunks", async () => {
    const { out, result } = await session(server, [
      "a\r",
      "\nb\r\n",
      "c\r\nd\n",
    ]);
    assertEquals(out.text(), "a\nb\nc\nd\n");
    assertEquals(result, {
      sent: 8,
      echoed: 8,
      linesSent: 4,
      linesEchoed: 4,
      outputClosed: false,
    });
  });

  await t.step("a last line without a newline gets one", async () => {
    const { out, result } = await session(server, ["a\nlast"]);
    assertEquals(out.text(), "a\nlast\n");
    assertEquals(result, {
      sent: 7,
      echoed: 7,
      linesSent: 2,
      linesEchoed: 2,
      outputClosed: false,
    });
  });

  await t.step(
    "a last line ending in a lone \\r gets a \\n instead",
    async () => {
      const { out } = await session(server, ["a\n", "z\r"]);
      assertEquals(out.text(), "a\nz\n");
    },
  );

  await t.step(
    "a \\r not before a \\n is kept, also split across chunks",
    async () => {
      const { out } = await session(server, [
        "x\ry\n",
        "p\r",
        "q\n",
        "r\r",
        "\r",
        "\n",
      ]);
      assertEquals(out.text(), "x\ry\np\rq\nr\r\n");
    },
  );

  await t.step("empty input sends nothing", async () => {
    const { out, result } = await session(server, []);
    assertEquals(out.text(), "");
    assertEquals(result, {
      sent: 0,
      echoed: 0,
      linesSent: 0,
      linesEchoed: 0,
      outputClosed: false,
    });
  });
});

Deno.test("runSession() in lines mode stops after the quit line", async (t) => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });

  const cases: [string, string[]][] = [
    ["in one chunk", ["one\nBYE\ntwo\nthree\n"]],
    ["with \\r\\n", ["one\r\n", "BYE\r\n", "two\n"]],
    ["split across chunks", ["one\nB", "YE\r", "\ntwo\n"]],
    ["with whitespace around it", ["one\n  BYE\t\n", "two\n"]],
  ];
  for (const [name, chunks] of cases) {
    await t.step(name, async () => {
      const { out, result } = await session(server, chunks);
      const echoed = out.text();
      assert(echoed.startsWith("one\n"), echoed);
      assertEquals(echoed.trimEnd().endsWith("BYE"), true, echoed);
      assert(!echoed.includes("two"), "input after the quit line was sent");
      assertEquals(result.sent, echoed.length);
      assertEquals(result.echoed, echoed.length);
      assertEquals(result.linesSent, 2);
      assertEquals(result.linesEchoed, 2);
    });
  }

  await t.step("the echo is exactly the normalized quit line", async () => {
    const { out } = await session(server, ["one\r\n", "BYE\r\n", "two\n"]);
    assertEquals(out.text(), "one\nBYE\n");
  });

  await t.step("a custom quit word", async () => {
    const { out, result } = await session(server, ["a\n", "quit\n", "b\n"], {
      quitWord: "quit",
    });
    assertEquals(out.text(), "a\nquit\n");
    assertEquals(result.linesSent, 2);
  });

  await t.step("quitWord null sends everything", async () => {
    await using plain = await serve({
      hostname: "127.0.0.1",
      port: 0,
      quitWord: null,
    });
    const { out, result } = await session(plain, ["a\nBYE\nb\n"], {
      quitWord: null,
    });
    assertEquals(out.text(), "a\nBYE\nb\n");
    assertEquals(result.linesEchoed, 3);
  });
});

Deno.test("runSession() in raw mode round-trips bytes exactly", async (t) => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });

  await t.step("all 256 byte values", async () => {
    const data = new Uint8Array(4 * 256);
    for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
    const { out, result } = await session(server, [data], { mode: "raw" });
    assertBytesEqual(concat(out.writes), data);
    assertEquals(result, {
      sent: data.length,
      echoed: data.length,
      // Raw input is not lines: its newlines are not counted.
      linesSent: 0,
      linesEchoed: 0,
      outputClosed: false,
    });
  });

  await t.step("line endings are left alone", async () => {
    const { out } = await session(server, ["a\r\nb\r", "\nno newline"], {
      mode: "raw",
    });
    assertEquals(out.text(), "a\r\nb\r\nno newline");
  });

  await t.step("3 MiB of random binary in random chunks", async () => {
    const seed = 0x5e55_0001;
    const rand = mulberry32(seed);
    // No "B", so no line can say the server's quit word.
    const data = randomBytes(rand, 3 * MiB + randInt(rand, 0, 1000), true);
    const chunks = randomChunks(rand, data, 1, 128 * KiB);
    const { out, result } = await session(server, chunks, { mode: "raw" });
    assertBytesEqual(concat(out.writes), data, `seed ${seed}`);
    assertEquals(result, {
      sent: data.length,
      echoed: data.length,
      linesSent: 0,
      linesEchoed: 0,
      outputClosed: false,
    });
  });
});

Deno.test("runSession() in interactive mode prompts before each line and waits for its echo", async (t) => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });

  await t.step("stops at the quit line, with no prompt after it", async () => {
    const { out, result } = await session(
      server,
      ["a\n", "bb\n", "BYE\n", "c\n"],
      { interactive: true },
    );
    assertEquals(out.writes.map((w) => decoder.decode(w)), [
      "> ",
      "a\n",
      "> ",
      "bb\n",
      "> ",
      "BYE\n",
    ]);
    assertEquals(result.linesSent, 3);
    assertEquals(result.linesEchoed, 3);
  });

  await t.step(
    "a custom prompt, and one more prompt ended by a newline when input ends",
    async () => {
      const { out } = await session(server, ["one\n", "two\n"], {
        interactive: true,
        prompt: "echo$ ",
      });
      assertEquals(out.writes.map((w) => decoder.decode(w)), [
        "echo$ ",
        "one\n",
        "echo$ ",
        "two\n",
        "echo$ ",
        "\n",
      ]);
    },
  );
});

Deno.test("runSession() in interactive mode prompts once per line, whatever the input chunks", async (t) => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });

  await t.step(
    "a last line without a newline gets no prompt inside it",
    async () => {
      const { out } = await session(server, ["a\n", "b"], {
        interactive: true,
      });
      assertEquals(out.text(), "> a\n> b\n> \n");
    },
  );

  // With piped input (`--interactive` off a terminal) one read can hold
  // several lines.
  await t.step("several lines in one read each get a prompt", async () => {
    const { out } = await session(server, ["a\nb\n", "c\n"], {
      interactive: true,
    });
    assertEquals(out.text(), "> a\n> b\n> c\n> \n");
  });
});

Deno.test("runSession() raises IncompleteEchoError when the server closes early", async (t) => {
  // The server quits on BYE; the session, told there is no quit word, sends
  // on: the line after BYE is never echoed.
  await using server = await serve({
    hostname: "127.0.0.1",
    port: 0,
    quitWord: "BYE",
  });

  await t.step("in one write", async () => {
    using conn = await connectTo(server);
    const out = output();
    await assertRejects(() =>
      runSession(conn, input(["a\nBYE\nmore\n"]), out.writable, {
        quitWord: null,
      })
    ).then((error: unknown) => {
      assert(error instanceof IncompleteEchoError, String(error));
      assertEquals(error.result, {
        sent: 11,
        echoed: 6,
        linesSent: 3,
        linesEchoed: 2,
        outputClosed: false,
      });
      assert(error.message.includes("5 bytes"), error.message);
      assert(error.message.includes("1 of 3 lines"), error.message);
    });
    assertEquals(out.text(), "a\nBYE\n");
  });

  await t.step("in several writes", async () => {
    using conn = await connectTo(server);
    const out = output();
    await assertRejects(() =>
      runSession(
        conn,
        input(["a\n", "BYE\n", "more\n", "and more\n"]),
        out.writable,
        { quitWord: null },
      )
    ).then((error: unknown) => {
      assert(error instanceof IncompleteEchoError, String(error));
      assertEquals(error.result.echoed, 6);
      assertEquals(error.result.linesEchoed, 2);
      assert(error.result.sent > 6, `sent ${error.result.sent}`);
    });
    assertEquals(out.text(), "a\nBYE\n");
  });
});

Deno.test("runSession() stops quietly when the output closes", async () => {
  await using server = await serve({ hostname: "127.0.0.1", port: 0 });
  using conn = await connectTo(server);
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`);
  let writes = 0;
  const failure = new Deno.errors.BrokenPipe("output closed");
  const writable = new WritableStream<Uint8Array>({
    write(): void {
      if (++writes === 1) throw failure;
    },
  });
  const result = await runSession(conn, input(lines), writable);
  assert(result.outputClosed);
  // The cause is kept for the caller (a closed pipe or a full disk).
  assertEquals(result.outputError, failure);
  assertEquals(writes, 1);
  assert(result.echoed > 0);
});
