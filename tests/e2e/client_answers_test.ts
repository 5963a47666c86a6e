// Copyright the deno-echo authors. MIT license.

// echo-client's line editor asks its terminal where the cursor went
// (`ESC [6n`) when the terminal is narrowed past it. A client that exits
// with an answer still to come must read it first: left unread, the answer
// is typed into whatever the shell runs next. Run under `script`, with the
// test as a slow terminal: it answers only once the client is on its way
// out, by a stop signal or at the quit word.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { run, spawn } from "../_helpers/cli.ts";
import { clientWithPid, hasScript, quote } from "./_script.ts";

const ignore = !hasScript();

/** One connection's server: takes lines, echoes them if told to. */
interface LineServer extends Disposable {
  readonly port: number;
  /** Resolves once a whole line has come (and been echoed, if echoing). */
  readonly line: Promise<void>;
  /** Resolves once the connection has ended. */
  readonly done: Promise<void>;
}

function lineServer(echo: boolean): LineServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const line = Promise.withResolvers<void>();
  // Awaited once the line is due; a failure before that is the test's own.
  line.promise.catch(() => {});
  const done = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(64);
    for (let n; (n = await conn.read(buffer).catch(() => null)) !== null;) {
      if (echo) await conn.write(buffer.slice(0, n));
      if (buffer.subarray(0, n).includes(0x0a)) line.resolve();
    }
  })().catch(() => {
    // Closed before a client came, or the client gone before its echo: the
    // test fails on what the terminal showed.
  }).finally(() => line.reject(new Error("Closed before a line came")));
  return {
    port: listener.addr.port,
    line: line.promise,
    done,
    [Symbol.dispose]: () => listener.close(),
  };
}

/** How the client ended, and what the terminal showed after it. */
interface Ending {
  /** The exit code of the command after the client: 0 unless it failed. */
  code: number;
  /** The terminal's output from the client's exit on. */
  after: string;
}

/**
 * The client at a 40-column terminal: `text` typed, the terminal narrowed
 * to 20 columns (the client asks where the cursor went), Enter unless
 * `enter` is false, then `end`, which resolves once the client is on its way
 * out with the answer still owed. The answer
 * comes 100 ms after that, as a slow terminal gives it, but within the
 * client's report timeout (500 ms) of the question; whether the client is
 * already waiting for it then does not matter. Once the client is gone, a
 * line is typed for the shell's next program, `head -n 1 | cat -v`.
 */
async function answerOwedAtExit(
  port: number,
  text: string,
  end: (pid: number) => Promise<void>,
  enter = true,
): Promise<Ending> {
  const dir = await Deno.makeTempDir();
  try {
    // The terminal's device and the client's pid, for the test.
    const line = `stty cols 40; tty > ${quote(`${dir}/tty`)}; ${
      clientWithPid(port, `${dir}/pid`)
    }; echo client gone; head -n 1 | cat -v`;
    await using proc = spawn(
      ["script"],
      ["-q", "-e", "-c", line, "/dev/null"],
      { stdin: true },
    );
    await proc.waitFor("stdout", "> ");
    await proc.write(text);
    await proc.waitFor("stdout", text.slice(-4));
    const tty = (await Deno.readTextFile(`${dir}/tty`)).trim();
    const resized = await run(["stty"], ["-F", tty, "cols", "20"]);
    assertEquals(resized.code, 0, resized.stderr);
    await proc.waitFor("stdout", "\x1b[6n");
    if (enter) await proc.write("\r");
    await end(Number(await Deno.readTextFile(`${dir}/pid`)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await proc.write("\x1b[5;3R");
    await proc.waitFor("stdout", "client gone");
    await proc.write("next\r");
    const result = await proc.wait();
    const { stdout } = result;
    return {
      code: result.code,
      after: stdout.slice(stdout.indexOf("client gone")),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One way of ending with an answer owed. */
interface EndingCase {
  /** Whether the server echoes the line. */
  echo: boolean;
  /** The line typed. */
  text: string;
  /** Resolves once the client is on its way out. */
  end: (server: LineServer, pid: number) => Promise<void>;
  /** Whether Enter is pressed before `end`. */
  enter?: boolean;
}

/** A test that, ended as `ending` says, nothing reaches the next program. */
function endingTest(name: string, ending: EndingCase): void {
  Deno.test({ name, ignore }, async () => {
    using server = lineServer(ending.echo);
    const { code, after } = await answerOwedAtExit(
      server.port,
      ending.text,
      (pid) => ending.end(server, pid),
      ending.enter,
    );
    await server.done;
    // The shell's next program read only the line typed for it; an answer
    // typed into it would show as `^[[5;3R`.
    assertEquals(code, 0, JSON.stringify(after));
    assertStringIncludes(after, "next");
    assert(!after.includes("^[["), JSON.stringify(after));
  });
}

const LONG_LINE = "abcdefghijklmnopqrstuvwxyz0123";

endingTest(
  "echo-client stopped by a signal while an echo is due reads the answer its terminal still owed it first",
  {
    echo: false,
    text: LONG_LINE,
    end: async (server, pid) => {
      await server.line;
      Deno.kill(pid, "SIGINT");
    },
  },
);

endingTest(
  "echo-client ending at the quit word reads the answer its terminal still owed it first",
  // A quit line, spaces and all, too long for 20 columns.
  { echo: true, text: `${" ".repeat(27)}BYE`, end: (server) => server.line },
);

endingTest(
  "echo-client stopped by a signal while a line is edited lets the line take the answer its terminal still owed it first",
  {
    echo: false,
    text: LONG_LINE,
    end: (_, pid) => Promise.resolve(Deno.kill(pid, "SIGTERM")),
    enter: false,
  },
);
