// Copyright the deno-echo authors. MIT license.

// echo-client as a real process, against an in-process server from mod.ts:
// what it echoes, in every mode and for every form of address.

import { assert, assertEquals } from "@std/assert";
import {
  CLIENT_COMMAND,
  randomBytes,
  runClient,
  spawn,
} from "../_helpers/cli.ts";
import { assertEchoed, recordingServer } from "./_client.ts";

Deno.test("echo-client writes the echo of piped lines to stdout and exits 0", async (t) => {
  await using echo = await recordingServer();
  const target = ["127.0.0.1", String(echo.port)];

  await t.step("lines ending in \\n", async () => {
    assertEchoed(await runClient(target, "a\nb\n"), "a\nb\n");
  });
  await t.step("\\r\\n line endings come back as \\n", async () => {
    assertEchoed(await runClient(target, "a\r\nb\r\n"), "a\nb\n");
  });
  await t.step("a last line without a newline gets one", async () => {
    assertEchoed(await runClient(target, "a\nb"), "a\nb\n");
  });
  await t.step("empty input", async () => {
    assertEchoed(await runClient(target, ""), "");
  });
  await t.step("UTF-8 text", async () => {
    assertEchoed(await runClient(target, "héllo wörld ✓\n"), "héllo wörld ✓\n");
  });
});

Deno.test("echo-client ends the session after the quit line and exits 0", async (t) => {
  await t.step("BYE: echoed, input after it not sent", async () => {
    await using echo = await recordingServer({ quitWord: null });
    const result = await runClient(
      ["127.0.0.1", String(echo.port)],
      "a\nBYE\nnot sent\n",
    );
    assertEchoed(result, "a\nBYE\n");
    const [closed] = await echo.closedCount(1);
    assertEquals(
      closed!.bytes,
      "a\nBYE\n".length,
      "the server saw nothing after BYE",
    );
  });

  await t.step("--quit-word STOP", async () => {
    await using echo = await recordingServer({ quitWord: null });
    const result = await runClient(
      ["--quit-word", "STOP", "127.0.0.1", String(echo.port)],
      "a\nBYE\nSTOP\nnot sent\n",
    );
    assertEchoed(result, "a\nBYE\nSTOP\n");
  });

  await t.step("--no-quit sends every line", async () => {
    await using echo = await recordingServer({ quitWord: null });
    const result = await runClient(
      ["--no-quit", "127.0.0.1", String(echo.port)],
      "a\nBYE\nb\n",
    );
    assertEchoed(result, "a\nBYE\nb\n");
  });
});

Deno.test("echo-client --raw round-trips bytes exactly", async (t) => {
  await using echo = await recordingServer({ quitWord: null });
  const args = ["--raw", "127.0.0.1", String(echo.port)];

  await t.step("all 256 byte values", async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const result = await runClient(args, bytes);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdoutBytes, bytes);
  });

  await t.step("1 MiB of random bytes", async () => {
    const bytes = randomBytes(1024 * 1024);
    const result = await runClient(args, bytes);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdoutBytes.length, bytes.length);
    assert(
      result.stdoutBytes.every((byte, i) => byte === bytes[i]),
      "the echo differs from the input",
    );
  });
});

Deno.test("echo-client --interactive prompts for each line and prints its echo in order", async (t) => {
  await using echo = await recordingServer();
  const target = ["127.0.0.1", String(echo.port)];

  await t.step("piped lines", async () => {
    const result = await runClient(["--interactive", ...target], "a\nb\n");
    assertEquals(result.code, 0, result.stderr);
    // End of input at a prompt ends the prompt's line, as on Ctrl-D.
    assertEquals(result.stdout, "> a\n> b\n> \n");
    assertEquals(
      result.stderr,
      `Connected to 127.0.0.1:${echo.port} (type BYE to quit)\n`,
    );
  });

  await t.step(
    "BYE ends it: no prompt after, input after it not sent",
    async () => {
      const result = await runClient(["-i", "-q", ...target], "a\nBYE\nc\n");
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout, "> a\n> BYE\n");
      assertEquals(result.stderr, "", "-q: no Connected line");
    },
  );

  await t.step("lines typed one at a time", async () => {
    await using client = spawn(CLIENT_COMMAND, ["-i", "-q", ...target], {
      stdin: true,
    });
    await client.waitFor("stdout", (text) => text === "> ");
    await client.write("first\n");
    await client.waitFor("stdout", (text) => text === "> first\n> ");
    await client.write("second\r\n");
    await client.waitFor("stdout", (text) => text === "> first\n> second\n> ");
    await client.closeStdin();
    const result = await client.wait();
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "> first\n> second\n> \n");
  });
});

Deno.test("echo-client accepts every documented form of host and port", async (t) => {
  // localhost: 127.0.0.1 and ::1 on one port.
  await using echo = await recordingServer({ hostname: "localhost" });
  assertEquals(echo.server.addrs.length, 2);
  const port = String(echo.port);
  const cases: [string[], "127.0.0.1" | "::1" | "either"][] = [
    [["127.0.0.1", port], "127.0.0.1"],
    [[`127.0.0.1:${port}`], "127.0.0.1"],
    [[`[::1]:${port}`], "::1"],
    [["::1", port], "::1"],
    [["[::1]", port], "::1"],
    [["localhost", port], "either"],
    [[`localhost:${port}`], "either"],
    [["-p", port], "either"],
    [["--port", port, "127.0.0.1"], "127.0.0.1"],
    [["-4", "localhost", port], "127.0.0.1"],
    [["-6", "localhost", port], "::1"],
  ];
  for (const [args, peer] of cases) {
    await t.step(args.join(" "), async () => {
      const before = echo.opened.length;
      assertEchoed(await runClient(args, "hi\n"), "hi\n");
      assertEquals(echo.opened.length, before + 1);
      const seen = (echo.opened[before]!.remoteAddr as Deno.NetAddr).hostname;
      if (peer === "either") {
        assert(["127.0.0.1", "::1"].includes(seen), seen);
      } else {
        assertEquals(seen, peer);
      }
    });
  }
});
