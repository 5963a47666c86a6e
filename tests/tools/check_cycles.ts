// Copyright the deno-echo authors. MIT license.

/**
 * Fails when the local module graph has an import cycle: `deno task
 * check:cycles` walks `deno info --json` from the entry points and prints
 * every cycle it finds, as a chain of paths.
 *
 * @module
 */

interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

const entries = Deno.args.length > 0
  ? Deno.args
  : ["mod.ts", "server.ts", "client.ts", "src/workers/worker_main.ts"];
const root = new URL("../../", import.meta.url).href;

/** Local (file:) modules and the local modules each one imports. */
async function graph(entry: string): Promise<Map<string, string[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: InfoModule[];
  };
  const edges = new Map<string, string[]>();
  for (const module of info.modules) {
    if (!module.specifier.startsWith(root)) continue;
    const to = (module.dependencies ?? [])
      .flatMap((d) => [d.code?.specifier, d.type?.specifier])
      .filter((s): s is string => s !== undefined && s.startsWith(root));
    edges.set(module.specifier, [...new Set(to)]);
  }
  return edges;
}

/** Every cycle reachable in the graph, each as the chain of its modules. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const seen = state.get(next);
      if (seen === "open") {
        found.push([...path.slice(path.indexOf(next)), next]);
      } else if (seen === undefined) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return found;
}

const all = new Map<string, string[]>();
for (const entry of entries) {
  for (const [from, to] of await graph(entry)) all.set(from, to);
}
const found = cycles(all);
const short = (s: string): string => s.slice(root.length);
for (const cycle of found) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      `import cycle: ${cycle.map(short).join(" -> ")}\n`,
    ),
  );
}
Deno.stdout.writeSync(
  new TextEncoder().encode(
    `check:cycles: ${all.size} modules, ${found.length} cycles\n`,
  ),
);
if (found.length > 0) Deno.exitCode = 1;
