// Copyright the deno-echo authors. MIT license.

// echo-server --metrics out of file descriptors: the real program, under a
// low `ulimit -n`, keeps serving once descriptors are free again.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { spawn } from "../_helpers/proc.ts";
import { within } from "../_helpers/util.ts";
import { SERVER } from "../server/_transport.ts";
import { RawClient } from "./_http.ts";

/** The server's descriptor limit: a few dozen above what it starts with. */
const LIMIT = 100;

async function canLowerLimit(): Promise<boolean> {
  try {
    const { code, stdout } = await new Deno.Command("bash", {
      args: ["-c", `ulimit -n ${LIMIT} && ulimit -n`],
      stdout: "piped",
      stderr: "null",
    }).output();
    return code === 0 && new TextDecoder().decode(stdout).trim() === `${LIMIT}`;
  } catch {
    return false;
  }
}

const lowerable = await canLowerLimit();

Deno.test({
  name: "echo-server --metrics survives running out of file descriptors",
  ignore: !lowerable,
  fn: async () => {
    await using server = spawn(
      ["bash", "-c", `ulimit -n ${LIMIT} && exec "$@"`, "bash", ...SERVER],
      [
        "--hostname",
        "127.0.0.1",
        "--port",
        "0",
        "--max-per-ip",
        "0",
        "--quiet",
        "--metrics",
        "127.0.0.1:0",
      ],
    );
    const stdout = await server.waitFor("stdout", /Listening on .*\n/);
    const echoPort = Number(/Listening on 127\.0\.0\.1:(\d+)/.exec(stdout)![1]);
    const metricsPort = Number(
      /Metrics on http:\/\/[^:]+:(\d+)/.exec(stdout)![1],
    );
    const echo: Deno.TcpConn[] = [];
    try {
      // More clients than the server has descriptors: it runs out.
      for (let i = 0; i < LIMIT + 20; i++) {
        echo.push(
          await Deno.connect({ hostname: "127.0.0.1", port: echoPort }),
        );
      }
      await server.waitFor("stderr", "accept");
      // A scrape now cannot be accepted; the metrics server must wait it out.
      using scrape = await RawClient.connect({
        transport: "tcp",
        hostname: "127.0.0.1",
        port: metricsPort,
      });
      // (A server that died of it resets the connection: checked below.)
      await scrape.request("GET", "/metrics").catch(() => {});
      // Its accept loop meets the error meanwhile (no event to wait for:
      // the scrape stays in the backlog, unanswered).
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert(!server.exited, `the server died:\n${server.stderr}`);
      for (const conn of echo.splice(0)) conn.close();
      // Descriptors free again: the waiting scrape is answered.
      const answer = await within(scrape.answer(), 5000, "the scrape");
      assertEquals(answer.status, 200);
      assertStringIncludes(answer.body, "echo_connections_accepted_total");
    } finally {
      for (const conn of echo) conn.close();
    }
    const result = await server.stop("SIGTERM");
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stderr.includes("Uncaught"), false, result.stderr);
  },
});
