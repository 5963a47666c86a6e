// Copyright the deno-echo authors. MIT license.

// What echo-client loads before it runs: its own code, not the load
// generator (imported when `echo-client bench` runs) nor the server.

import { assert, assertEquals } from "@std/assert";
import { projectPath } from "../_helpers/cli.ts";

interface InfoDependency {
  code?: { specifier?: string };
  isDynamic?: boolean;
}

interface Info {
  roots: string[];
  modules: { specifier: string; dependencies?: InfoDependency[] }[];
}

async function moduleGraph(entry: string): Promise<Info> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", projectPath(entry)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(output.success, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** The modules loaded at start: static imports only, from the root. */
function loadedAtStart(info: Info): Set<string> {
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      const code = dependency.code?.specifier;
      if (code !== undefined && !dependency.isDynamic) stack.push(code);
    }
  }
  return seen;
}

Deno.test("echo-client loads neither the load generator nor the server until asked", async () => {
  const info = await moduleGraph("client.ts");
  const root = new URL("../../", import.meta.url).href;
  const local = [...loadedAtStart(info)]
    .filter((specifier) => specifier.startsWith(root))
    .map((specifier) => specifier.slice(root.length));
  const unwanted = local.filter((path) =>
    path === "server.ts" || path.startsWith("src/server/") ||
    path.startsWith("src/workers/") || path.startsWith("src/cli/bench_") ||
    path.startsWith("src/echo/echo") ||
    // The Histogram class is exported; the rest of the bench is not loaded.
    (path.startsWith("src/bench/") && path !== "src/bench/histogram.ts")
  );
  assertEquals(unwanted, []);
  // The bench is still part of the program, imported when it runs.
  const all = info.modules.map((m) => m.specifier.slice(root.length));
  assert(all.includes("src/cli/bench_main.ts"), "bench_main.ts in the graph");
  assert(all.includes("src/bench/bench.ts"), "bench.ts in the graph");
});
