// Copyright the deno-echo authors. MIT license.

// echo-client at a real terminal: a pseudo-terminal from `script` (util-linux),
// keys written into it. Ignored (and counted so) where `script` is missing.

import { assertEquals, assertStringIncludes } from "@std/assert";
import { delay } from "@std/async";
import { CLIENT_COMMAND } from "../_helpers/cli.ts";
import { findProgram } from "../_helpers/proxies.ts";
import { within } from "../_helpers/util.ts";

const script = await findProgram("script");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Echoes each line after `ms`: time to press keys while an echo is due. */
async function slowEchoes(
  listener: Deno.TcpListener,
  ms: number,
): Promise<void> {
  for await (const conn of listener) {
    (async () => {
      const buffer = new Uint8Array(1024);
      try {
        for (;;) {
          const n = await conn.read(buffer);
          if (n === null) break;
          await delay(ms);
          await conn.write(buffer.slice(0, n));
        }
      } catch {
        // The client went away.
      } finally {
        conn.close();
      }
    })();
  }
}

/** What a terminal showed so far, and a wait for some text to show. */
function collect(stream: ReadableStream<Uint8Array>): {
  text(): string;
  shows(text: string): Promise<void>;
  done: Promise<void>;
} {
  let seen = "";
  const waits: { text: string; resolve: () => void }[] = [];
  const done = (async () => {
    for await (const chunk of stream) {
      seen += decoder.decode(chunk, { stream: true });
      for (const wait of waits) if (seen.includes(wait.text)) wait.resolve();
    }
  })();
  return {
    text: () => seen,
    shows(text: string): Promise<void> {
      if (seen.includes(text)) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      waits.push({ text, resolve });
      return promise;
    },
    done,
  };
}

/** Quotes a word for `sh -c`. */
function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

Deno.test({
  name:
    "echo-client at a terminal keeps a Ctrl-D pressed while an echo is due, and ends after that echo",
  ignore: script === undefined,
  async fn(): Promise<void> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = slowEchoes(listener, 400);
    const command = [...CLIENT_COMMAND, "127.0.0.1", String(listener.addr.port)]
      .map(shellWord).join(" ");
    // -e: script exits with the client's status; -f: output at once.
    const child = new Deno.Command(script!, {
      args: ["-qefc", command, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { TERM: "xterm", COLUMNS: "80", LINES: "24" },
    }).spawn();
    const keys = child.stdin.getWriter();
    const screen = collect(child.stdout);
    try {
      // The first prompt is shown once the editor has the terminal.
      await within(screen.shows("> "), 10_000, "the first prompt");
      await keys.write(encoder.encode("first\r"));
      // While the echo of "first" is due: end of input.
      await delay(100);
      await keys.write(encoder.encode("\x04"));
      const status = await within(child.status, 10_000, "the client's exit");
      await screen.done;
      assertEquals(status.code, 0, screen.text());
      // The echo, on its own line after the one typed (the editor's redraws
      // around it are the terminal's business).
      assertStringIncludes(screen.text(), "\r\nfirst\r\n");
    } finally {
      await keys.close().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited.
      }
      await child.status;
      await screen.done;
      await child.stderr.cancel().catch(() => {});
      listener.close();
      await serving.catch(() => {});
    }
  },
});
