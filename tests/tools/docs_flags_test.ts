// Copyright the deno-echo authors. MIT license.

// Every long option a program's `--help` lists has a row in its table in the
// docs, and every row names an option that exists: the two are written by
// hand, so they drift unless a test compares them.

import { assertEquals } from "@std/assert";
import { BENCH_USAGE } from "../../src/cli/bench_usage.ts";
import { CLIENT_USAGE } from "../../src/cli/client_usage.ts";
import { PING_USAGE } from "../../src/cli/ping_usage.ts";
import { SERVER_USAGE } from "../../src/cli/server_flags.ts";
import { projectPath } from "../_helpers/cli.ts";

/**
 * The long options of a usage text: those in the option column of a line
 * that starts with an option (up to the gap before its description).
 */
function usageFlags(usage: string): string[] {
  const flags = new Set<string>();
  for (const line of usage.split("\n")) {
    const column = /^\s+(-.*?)(?: {2,}|$)/.exec(line)?.[1] ?? "";
    for (const flag of column.matchAll(/--[a-z][\w-]*/g)) flags.add(flag[0]);
  }
  return [...flags].sort();
}

/**
 * The long options in the first cells of the first table after `heading`
 * in a Markdown file.
 */
async function tableFlags(file: string, heading: string): Promise<string[]> {
  const text = await Deno.readTextFile(projectPath(file));
  const lines = text.slice(text.indexOf(`\n${heading}\n`)).split("\n");
  const start = lines.findIndex((line) => line.startsWith("|"));
  const flags = new Set<string>();
  for (const line of lines.slice(start)) {
    if (!line.startsWith("|")) break;
    const cell = line.split("|")[1]!;
    for (const flag of cell.matchAll(/--[a-z][\w-]*/g)) flags.add(flag[0]);
  }
  return [...flags].sort();
}

const CASES: [string, string, string, string][] = [
  ["echo-server", SERVER_USAGE, "docs/server.md", "## Options"],
  ["echo-client", CLIENT_USAGE, "docs/client.md", "## Options"],
  ["echo-client bench", BENCH_USAGE, "docs/client.md", "## echo-client bench"],
  ["echo-client ping", PING_USAGE, "docs/ping.md", "## Options"],
];

Deno.test("every option in --help has a row in the docs, and no row is stale", async (t) => {
  for (const [program, usage, file, heading] of CASES) {
    await t.step(program, async () => {
      const documented = await tableFlags(file, heading);
      assertEquals(documented, usageFlags(usage), `${file}, ${heading}`);
    });
  }
});

Deno.test("usageFlags() and tableFlags() read the options, not the prose", async () => {
  assertEquals(
    usageFlags(
      "Usage: x [--all]\n\n  -a, --all  Every one; see --none\n      --one-more TIME\n" +
        "      --two, --three FILE\n  -b        Short only, like --four\n",
    ),
    ["--all", "--one-more", "--three", "--two"],
  );
  assertEquals(
    (await tableFlags("docs/server.md", "## Options")).length > 20,
    true,
  );
});
