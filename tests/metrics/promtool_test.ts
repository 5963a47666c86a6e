// Copyright the deno-echo authors. MIT license.

// Prometheus's own checker on a real scrape taken after traffic.

import { assertEquals } from "@std/assert";
import { runTraffic } from "./_traffic.ts";
import { toolAvailable } from "../_helpers/tls.ts";

const promtool = await toolAvailable("promtool", ["--version"]);

Deno.test({
  name: "promtool check metrics accepts a scrape taken after traffic",
  ignore: !promtool,
  fn: async () => {
    const { text } = await runTraffic();
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    const said = new TextDecoder().decode(stdout) +
      new TextDecoder().decode(stderr);
    // Lint problems are printed and exit 1; a clean scrape says nothing.
    assertEquals([code, said], [0, ""], text);
  },
});
