// Copyright the deno-echo authors. MIT license.

// echo-server --metrics: the real program's scrape after traffic, exact
// counts, checked by promtool; never on an echo listener's address.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  connectTo,
  readExactly,
  readToEnd,
  spawn,
  writeAll,
} from "../_helpers/cli.ts";
import { projectPath } from "../_helpers/proc.ts";
import { toolAvailable } from "../_helpers/tls.ts";
import { skip } from "../_helpers/util.ts";
import { sample, samples } from "../metrics/_scrape.ts";
import { type ListeningServer, startListening } from "../server/_transport.ts";

const decoder = new TextDecoder();
const promtool = await toolAvailable("promtool", ["--version"]);
const unstableNet = typeof Deno.listenDatagram === "function";

/** The metrics URL from the `Metrics on` line of the server's stdout. */
function metricsUrl(server: ListeningServer): string {
  const match = /^Metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(
    server.stdout,
  );
  assert(match !== null, server.stdout);
  return match[1]!;
}

async function get(url: string): Promise<[number, string]> {
  const response = await fetch(url);
  return [response.status, await response.text()];
}

async function promtoolCheck(text: string): Promise<void> {
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
  const said = decoder.decode(stdout) + decoder.decode(stderr);
  assertEquals([code, said], [0, ""], text);
}

/** `n` connections that each send `line` (and close, or quit). */
async function traffic(
  where: { hostname: string; port: number },
  lines: string[],
  server?: ListeningServer,
): Promise<number> {
  let bytes = 0;
  for (const [i, line] of lines.entries()) {
    // Under --max-connections 1, the one before must have been closed.
    await server?.waitFor("stderr", (s) => s.split(" closed: ").length > i);
    using conn = await connectTo(where);
    await writeAll(conn, line);
    assertEquals(
      decoder.decode(await readExactly(conn, line.length)),
      line,
    );
    bytes += line.length;
  }
  return bytes;
}

Deno.test("echo-server --metrics serves exact counts of real traffic, and promtool accepts them", async () => {
  await using server = await startListening([
    "--listen",
    "tcp://127.0.0.1:0",
    "--max-connections",
    "1",
    "--metrics",
    "127.0.0.1:0",
  ]);
  const url = metricsUrl(server);
  assert(!server.stdout.includes(`Listening on ${new URL(url).host}`));
  const where = server.listening[0]!;
  const tcp = { listener: `tcp://${where.text}`, transport: "tcp" };
  const sent = await traffic(where, ["one\n", "two two\n", "BYE\n"], server);
  await server.waitFor("stderr", (s) => s.split(" closed: ").length === 4);
  {
    using held = await connectTo(where);
    await writeAll(held, "x\n");
    await readExactly(held, 2);
    using refused = await connectTo(where);
    assertEquals((await readToEnd(refused)).length, 0);
    await server.waitFor("stderr", (s) => s.includes(" rejected: "));
    const during = samples((await get(url))[1]);
    assertEquals(sample(during, "echo_connections_open", tcp), 1);
  }
  await server.waitFor("stderr", (s) => s.split(" closed: ").length === 5);
  const [status, text] = await get(url);
  assertEquals(status, 200);
  const after = samples(text);
  assertEquals(sample(after, "echo_connections_accepted_total", tcp), 4);
  assertEquals(sample(after, "echo_connections_open", tcp), 0);
  const closed = (reason: string): number =>
    sample(after, "echo_connections_closed_total", { ...tcp, reason });
  assertEquals([closed("eof"), closed("quit"), closed("error")], [3, 1, 0]);
  assertEquals(
    sample(after, "echo_connections_rejected_total", {
      ...tcp,
      reason: "max-connections",
    }),
    1,
  );
  assertEquals(sample(after, "echo_bytes_echoed_total", tcp), sent + 2);
  assertEquals(sample(after, "echo_log_lines_dropped_total"), 0);
  assertEquals(await get(url.replace("/metrics", "/healthz")), [200, "ok\n"]);
  if (promtool) await promtoolCheck(text);
  else skip("promtool check: promtool is not installed");
  server.kill("SIGTERM");
  assertEquals((await server.wait()).code, 0);
});

Deno.test("echo-server refuses --metrics on an echo listener's address", async (t) => {
  for (
    const args of [
      ["--listen", "tcp://127.0.0.1:9555", "--metrics", "127.0.0.1:9555"],
      ["--port", "9556", "--metrics", "0.0.0.0:9556"],
      ["--metrics", "127.0.0.1"],
    ]
  ) {
    await t.step(args.join(" "), async () => {
      await using server = await startListening(args, 0);
      const result = await server.wait();
      assertEquals(result.code, 2, result.stderr);
      assertStringIncludes(result.stderr, "--metrics");
    });
  }
});

Deno.test({
  name: "echo-server --workers 2 --metrics counts every worker's connections",
  ignore: Deno.build.os !== "linux" || !unstableNet,
  fn: async () => {
    await using server = spawn([
      Deno.execPath(),
      "run",
      "--unstable-net",
      "--allow-net",
      "--allow-read",
      projectPath("server.ts"),
    ], [
      "--listen",
      "tcp://127.0.0.1:0",
      "--workers",
      "2",
      "--metrics",
      "127.0.0.1:0",
    ]);
    const stdout = await server.waitFor(
      "stdout",
      (s) => /Listening on \S+\n/.test(s),
    );
    const port = Number(/Listening on 127\.0\.0\.1:(\d+)\n/.exec(stdout)![1]);
    const url = /Metrics on (\S+)\n/.exec(stdout)![1]!;
    const where = { hostname: "127.0.0.1", port };
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}\n`);
    const sent = await traffic(where, lines);
    const tcp = { listener: `tcp://127.0.0.1:${port}`, transport: "tcp" };
    // Counted before logged: once the log says so, the scrape does too.
    await server.waitFor("stderr", (s) => s.split(" closed: ").length === 21);
    const after = samples((await get(url))[1]);
    assertEquals(sample(after, "echo_connections_accepted_total", tcp), 20);
    assertEquals(sample(after, "echo_bytes_echoed_total", tcp), sent);
    server.kill("SIGTERM");
    assertEquals((await server.wait()).code, 0);
  },
});
