// Copyright the deno-echo authors. MIT license.

// echo-client's line editor on a terminal that changes size: run in a tmux
// window (a terminal emulator of its own, on a private tmux server), which
// is resized while a line too long for it is being typed. tmux sends the
// client SIGWINCH, and the line must be redrawn at the new width at once,
// before any further key.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { CLIENT_COMMAND, DEFAULT_TIMEOUT, run } from "../_helpers/cli.ts";
import { recordingServer } from "./_client.ts";
import { quote } from "./_script.ts";

function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"] }).outputSync().success;
  } catch {
    return false;
  }
}
const ignore = !hasTmux();

/** A tmux server of the test's own, with one window running a command. */
class TmuxWindow implements AsyncDisposable {
  /** Holds the server's socket; removed with it. */
  readonly #dir = Deno.makeTempDirSync({ prefix: "deno-echo-tmux-" });

  /** Runs `tmux ARGS` on this server; resolves with its stdout. */
  async tmux(...args: string[]): Promise<string> {
    const result = await run(this.#command(), args);
    assertEquals(result.code, 0, `tmux ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }

  #command(): string[] {
    return ["tmux", "-S", `${this.#dir}/socket`, "-f", "/dev/null"];
  }

  /** Opens the window, `width` columns wide, running `command`. */
  open(width: number, command: readonly string[]): Promise<string> {
    return this.tmux(
      "new-session",
      "-d",
      "-x",
      String(width),
      "-y",
      "10",
      command.map(quote).join(" "),
      // A client that exits early leaves its output to be read. tmux runs
      // the sequence before it handles the command's exit.
      ";",
      "set-option",
      "-w",
      "remain-on-exit",
      "on",
    );
  }

  /** The window's rows as text. */
  screen(): Promise<string> {
    return this.tmux("capture-pane", "-p");
  }

  /** Waits until the screen satisfies `ready`; bounded. */
  async waitFor(
    what: string,
    ready: (screen: string) => boolean,
  ): Promise<string> {
    const deadline = Date.now() + DEFAULT_TIMEOUT;
    let screen = await this.screen();
    while (!ready(screen)) {
      if (Date.now() > deadline) {
        // With the rows scrolled away, as a client's exit scrolls them.
        const history = await this.tmux("capture-pane", "-p", "-S", "-");
        throw new Error(`No ${what} on the screen:\n${history}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      screen = await this.screen();
    }
    return screen;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      // Ends the client with its terminal, and the tmux server with it.
      await run(this.#command(), ["kill-server"]);
    } finally {
      await Deno.remove(this.#dir, { recursive: true });
    }
  }
}

Deno.test({
  name:
    "echo-client redraws the line being edited at once when its terminal is resized",
  ignore,
}, async () => {
  await using server = await recordingServer();
  await using term = new TmuxWindow();
  await term.open(30, [
    ...CLIENT_COMMAND,
    "-q",
    "127.0.0.1",
    String(server.port),
  ]);
  // capture-pane drops the spaces that end a row: the prompt shows as ">".
  await term.waitFor("prompt", (screen) => /^>/m.test(screen));

  // 50 letters in a 30-column window: only the end of the line is shown.
  // No letter repeats, so a piece of the line is found at one place only.
  const line = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX";
  assertEquals(new Set(line).size, line.length);
  await term.tmux("send-keys", "-t", "0", "-l", line);
  const narrow = await term.waitFor(
    "end of the line",
    (screen) => screen.includes(line.slice(-20)),
  );
  assert(!narrow.includes(line), narrow);

  // Widened, with no key pressed: the whole line shows.
  await term.tmux("resize-window", "-t", "0", "-x", "70");
  const wide = await term.waitFor(
    "whole line",
    (screen) => screen.includes(line),
  );
  assertStringIncludes(wide, `> ${line}`);

  // The line is still the one being edited: Enter sends it, the echo comes.
  await term.tmux("send-keys", "-t", "0", "Enter");
  await term.waitFor("echo", (screen) => screen.split(line).length > 2);

  // Typed again, then narrowed: the prompt's row is redrawn to show the end
  // of the line (not cut to its start, as the terminal alone would leave it).
  // tmux rewraps the old row over two rows first, with the cursor on the
  // second: the row is redrawn from the first, so none of it stays above.
  await term.tmux("send-keys", "-t", "0", "-l", line);
  await term.waitFor(
    "second line",
    (screen) => screen.split(line).length > 3,
  );
  await term.tmux("resize-window", "-t", "0", "-x", "30");
  const narrowed = await term.waitFor(
    "line's end at the prompt",
    (screen) => lastPromptRow(screen).endsWith(line.slice(-20)),
  );
  // All of the row is the prompt and one piece of the line, up to its end.
  const row = lastPromptRow(narrowed);
  assert(row.startsWith("> "), narrowed);
  assert(line.endsWith(row.slice(2)), narrowed);
  // The row is filled: the line's end takes all but the cursor's column.
  assertEquals(row.length, 30 - 1, narrowed);
  // Above it, the end of the echo (rewrapped by tmux too), not the start of
  // the line as it was drawn before.
  const rows = narrowed.split("\n");
  assertEquals(rows[rows.lastIndexOf(row) - 1], line.slice(30), narrowed);
});

/** The last row of the screen that starts with the prompt. */
function lastPromptRow(screen: string): string {
  return screen.split("\n").findLast((row) => row.startsWith(">")) ?? "";
}
