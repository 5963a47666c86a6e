// Copyright the deno-echo authors. MIT license.

// For the echo-client tests on a real terminal (`script` here, tmux in the
// resize test): `script` (util-linux) runs a shell command on a
// pseudo-terminal, the test's writes to its stdin typed on that terminal's
// keyboard and the terminal's output on its stdout; the commands are shell
// text, quoted here.

import { CLIENT_COMMAND } from "../_helpers/cli.ts";

/**
 * Tells whether `script` can be run here.
 *
 * @returns Whether it ran.
 */
export function hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/**
 * Quotes a word for a POSIX shell.
 *
 * @param arg The word.
 * @returns It in single quotes.
 */
export const quote = (arg: string): string =>
  `'${arg.replaceAll("'", `'\\''`)}'`;

/**
 * A shell command running `echo-client -q 127.0.0.1 PORT` that first writes
 * the client's pid (its own: `exec` keeps the shell's) to `pidFile`.
 *
 * @param port The server's port.
 * @param pidFile Where the pid goes.
 * @returns The command.
 */
export function clientWithPid(port: number, pidFile: string): string {
  const client = [...CLIENT_COMMAND, "-q", "127.0.0.1", String(port)]
    .map(quote).join(" ");
  return `sh -c ${quote(`echo $$ > ${quote(pidFile)}; exec ${client}`)}`;
}
