// Copyright the deno-echo authors. MIT license.

// echo-client on a real terminal: run under `script` (util-linux), which
// gives it a pseudo-terminal. The server's control characters show as `^[`
// and the like; the prompt is a line editor; piped output stays exact.

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { CLIENT_COMMAND, runClient, spawn } from "../_helpers/cli.ts";
import { bytes } from "../_helpers/util.ts";
import { recordingServer } from "./_client.ts";
import { clientWithPid, hasScript, quote } from "./_script.ts";

const ignore = !hasScript();

/** A server that reads one connection and never echoes. */
function silentServer(): {
  port: number;
  done: Promise<void>;
  received: number[];
} & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: number[] = [];
  const done = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(64);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      received.push(...buffer.subarray(0, n));
    }
  })().catch(() => {
    // Closed before a client came: the test failed before that.
  });
  return {
    port: listener.addr.port,
    done,
    received,
    [Symbol.dispose]: () => listener.close(),
  };
}

/**
 * echo-client on a terminal, to a server that never echoes, killed with
 * SIGTERM once `before` is done at its first prompt; `then` runs in the
 * shell after it. What the terminal showed, and what the server read.
 */
async function sigtermAfter(
  then: string,
  before: (proc: ReturnType<typeof spawn>) => Promise<void>,
): Promise<{ stdout: string; received: number[] }> {
  using server = silentServer();
  const pidFile = await Deno.makeTempFile();
  try {
    const line = `${clientWithPid(server.port, pidFile)}; ${then}`;
    await using proc = spawn(["script"], ["-q", "-c", line, "/dev/null"], {
      stdin: true,
    });
    await proc.waitFor("stdout", "> ");
    await before(proc);
    Deno.kill(Number(await Deno.readTextFile(pidFile)), "SIGTERM");
    const result = await proc.wait();
    await server.done;
    return { stdout: result.stdout, received: server.received };
  } finally {
    await Deno.remove(pidFile);
  }
}

/** `echo-client -q 127.0.0.1 PORT` on a pseudo-terminal, keys on stdin. */
function clientOnTerminal(port: number): ReturnType<typeof spawn> {
  return spawn(["script"], underTerminal(["-q", "127.0.0.1", String(port)]), {
    stdin: true,
  });
}

/** `script` running `echo-client ARGS` on a pseudo-terminal. */
function underTerminal(args: readonly string[], redirect = ""): string[] {
  const command = [...CLIENT_COMMAND, ...args].map(quote).join(" ");
  return ["-q", "-e", "-c", `${command}${redirect}`, "/dev/null"];
}

// A clipboard write (OSC 52), a title (OSC 0), a cleared screen (CSI 2J)
// and a query the terminal would answer on stdin (CSI 6n).
const EVIL = "\x1b]52;c;aGk=\x07\x1b]0;t\x07\x1b[2J\x1b[6n";
const SHOWN = "^[]52;c;aGk=^G^[]0;t^G^[[2J^[[6n";

/** The line sent, and the server's answer of the same length. */
const LINE = `${"x".repeat(EVIL.length + 2)}\n`;
const ANSWER = `${EVIL}ok\n`;

/**
 * A server that answers LINE with ANSWER (as many bytes, so the client
 * counts it as the echo), then echoes.
 */
function evilServer(): { port: number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buffer = new Uint8Array(4096);
        let got = 0;
        while (got < LINE.length) {
          const n = await conn.read(buffer.subarray(got));
          if (n === null) return;
          got += n;
        }
        await conn.write(bytes(ANSWER));
        if (got > LINE.length) {
          await conn.write(buffer.subarray(LINE.length, got));
        }
        for (let n; (n = await conn.read(buffer)) !== null;) {
          await conn.write(buffer.subarray(0, n));
        }
      })().catch(() => {}).finally(() => conn.close());
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    [Symbol.dispose]: () => listener.close(),
  };
}

Deno.test({
  name:
    "echo-client shows a server's control characters visibly on a terminal, and passes them piped",
  ignore,
}, async (t) => {
  using server = evilServer();
  const target = ["127.0.0.1", String(server.port)];
  const dir = await Deno.makeTempDir();
  try {
    await t.step("on a terminal: ^[ and ^G, no escape sequence", async () => {
      const input = `${dir}/input`;
      await Deno.writeTextFile(input, LINE);
      await using proc = spawn(
        ["script"],
        underTerminal(target, ` < ${quote(input)}`),
      );
      const result = await proc.wait();
      assertEquals(result.code, 0, result.stdout);
      assertStringIncludes(result.stdout, `${SHOWN}ok\r\n`);
      assert(!result.stdout.includes("\x1b"), JSON.stringify(result.stdout));
    });

    await t.step("--raw on a terminal: untouched", async () => {
      const input = `${dir}/input`;
      await Deno.writeTextFile(input, LINE);
      await using proc = spawn(
        ["script"],
        underTerminal(["--raw", ...target], ` < ${quote(input)}`),
      );
      const result = await proc.wait();
      assertStringIncludes(result.stdout, `${EVIL}ok`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  await t.step("piped: byte for byte", async () => {
    const result = await runClient(target, LINE);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, ANSWER);
  });
});

Deno.test({
  name:
    "echo-client on a terminal edits the line: cursor keys, history, Ctrl-C",
  ignore,
}, async (t) => {
  await using echo = await recordingServer();
  const args = underTerminal(["-q", "127.0.0.1", String(echo.port)]);

  await t.step("Left, typing in the middle, Up to recall, BYE", async () => {
    await using proc = spawn(["script"], args, { stdin: true });
    await proc.waitFor("stdout", "> ");
    await proc.write("hello\x1b[D\x1b[DX\r");
    // Keys go in once the next prompt is drawn: the terminal is raw again.
    await proc.waitFor("stdout", "\r\nhelXlo\r\n\r> ");
    await proc.write("\x1b[A\r");
    await proc.waitFor("stdout", /\r\nhelXlo\r\n[^]*\r\nhelXlo\r\n\r> /);
    await proc.write("BYE\r");
    const result = await proc.wait();
    assertEquals(result.code, 0, result.stdout);
    assert(
      result.stdout.endsWith("\r\nBYE\r\n"),
      JSON.stringify(result.stdout),
    );
    // The server saw the edited line twice, then BYE: no escape sequence.
    const [closed] = await echo.closedCount(1);
    assertEquals(closed!.bytes, "helXlo\nhelXlo\nBYE\n".length);
  });

  await t.step(
    "Ctrl-C while waiting for an echo: a newline, exit 130",
    async () => {
      using server = silentServer();
      await using proc = clientOnTerminal(server.port);
      await proc.waitFor("stdout", "> ");
      await proc.write("hi\r");
      // Once the editor has handed the terminal back (nothing shows when),
      // the terminal turns Ctrl-C into SIGINT; one typed before that waits
      // unread. So press it until the client is gone.
      for (let i = 0; i < 100 && !proc.exited; i++) {
        await proc.write("\x03").catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const result = await proc.wait();
      await server.done;
      assertEquals(result.code, 130, JSON.stringify(result.stdout));
      assertMatch(result.stdout, /\^C\r?\n$/);
    },
  );

  await t.step("Ctrl-C: ^C, a newline, exit 130", async () => {
    await using proc = spawn(["script"], args, { stdin: true });
    await proc.waitFor("stdout", "> ");
    await proc.write("abc\x03");
    const result = await proc.wait();
    assertEquals(result.code, 130, result.stdout);
    // The terminal turns the editor's \r\n into \r\r\n.
    assertMatch(result.stdout, /\^C\r+\n$/);
  });

  await t.step(
    "Ctrl-D pressed while an echo is due: kept, and ends the session after it",
    async () => {
      // A server that echoes each read 400 ms after it: time to press keys.
      using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const slow = (async () => {
        using conn = await listener.accept();
        const buffer = new Uint8Array(64);
        for (;;) {
          const n = await conn.read(buffer).catch(() => null);
          if (n === null) break;
          await new Promise((resolve) => setTimeout(resolve, 400));
          await conn.write(buffer.slice(0, n)).catch(() => {});
        }
      })();
      await using proc = clientOnTerminal(listener.addr.port);
      await proc.waitFor("stdout", "> ");
      await proc.write("first\r");
      await new Promise((resolve) => setTimeout(resolve, 100));
      await proc.write("\x04");
      const result = await proc.wait();
      await slow;
      assertEquals(result.code, 0, JSON.stringify(result.stdout));
      assertStringIncludes(result.stdout, "\r\nfirst\r\n");
    },
  );

  await t.step(
    "SIGTERM while an echo is due: the terminal is back in its normal mode",
    async () => {
      // After the client, the terminal's modes.
      const { stdout } = await sigtermAfter("stty -a", async (proc) => {
        await proc.write("first\r");
        await new Promise((resolve) => setTimeout(resolve, 200));
      });
      assertMatch(stdout, /(^|[\s;])icanon\b/m, stdout);
      assertMatch(stdout, /(^|[\s;])echo\b/m, stdout);
    },
  );
  await t.step(
    "SIGTERM while a line is typed: the line is not sent, and its row is ended once",
    async () => {
      const { stdout, received } = await sigtermAfter(
        "echo rc=$?",
        async (proc) => {
          await proc.write("typing");
          await proc.waitFor("stdout", "typing");
        },
      );
      // One line end between the row and what the shell runs next.
      assertMatch(stdout, /typing[^\n]*\nrc=143/, stdout);
      assertEquals(received, []);
    },
  );
});
