// Copyright the deno-echo authors. MIT license.

// echo-server as a real process: how it stops on SIGINT, SIGTERM and SIGHUP,
// and what it says about the drain.

import { delay } from "@std/async";
import { assert, assertEquals, assertMatch, assertNotMatch } from "@std/assert";
import {
  assertNotServed,
  connectTo,
  lines,
  logLine,
  type ProcessResult,
  readExactly,
  readToEnd,
  readUntilClosed,
  roundTrip,
  type ServerProc,
  startServer,
  writeAll,
} from "../_helpers/cli.ts";

import { startListening } from "../server/_transport.ts";

const decoder = new TextDecoder();

Deno.test("echo-server exits 0 quickly on SIGTERM when idle", async () => {
  await using server = await startServer(["--hostname", "127.0.0.1"]);
  // One served connection first: the server is past start-up (see the next
  // test for a SIGTERM sent the moment it prints Listening).
  using conn = await connectTo(server.addrs[0]!);
  assertEquals(decoder.decode(await roundTrip(conn, "x\n")), "x\n");
  await server.waitFor("stderr", "closed: client closed");

  const started = performance.now();
  const result = await server.stop("SIGTERM");
  const elapsed = performance.now() - started;
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.signal, null);
  assert(elapsed < 2000, `took ${elapsed} ms`);
  assertMatch(
    result.stderr,
    /SIGTERM: stopped accepting; no open connections$/m,
  );
  assertMatch(
    result.stderr,
    logLine("drained: every connection ended by itself"),
  );
  assertMatch(result.stderr, logLine("stopped"));
});

Deno.test("echo-server handles a SIGTERM sent as soon as it prints Listening", async () => {
  // A supervisor may signal the moment the server says it is ready. Several
  // servers at once, since a start-up race shows only some of the time.
  const results = await Promise.all(
    Array.from({ length: 8 }, async () => {
      await using server = await startServer(["--hostname", "127.0.0.1"]);
      return await server.stop("SIGTERM");
    }),
  );
  for (const result of results) {
    assertEquals(
      { code: result.code, signal: result.signal },
      { code: 0, signal: null },
      `killed by the signal instead of stopping cleanly; stderr: ${
        JSON.stringify(result.stderr)
      }`,
    );
    assertMatch(result.stderr, logLine("stopped"));
  }
});

/** An echo-server with one client connected; both closed on dispose. */
interface ServerWithClient extends AsyncDisposable {
  server: ServerProc;
  conn: Deno.TcpConn;
}

/**
 * Starts `echo-server --hostname 127.0.0.1 --drain-timeout <drainTimeout>`
 * and connects a client that has had `line` echoed: a live connection for
 * the server to drain.
 */
async function serverWithClient(
  drainTimeout: string,
  line: string,
): Promise<ServerWithClient> {
  await using stack = new AsyncDisposableStack();
  const server = stack.use(
    await startServer([
      "--hostname",
      "127.0.0.1",
      "--drain-timeout",
      drainTimeout,
    ]),
  );
  const conn = stack.use(await connectTo(server.addrs[0]!));
  await writeAll(conn, line);
  assertEquals(decoder.decode(await readExactly(conn, line.length)), line);
  const owned = stack.move();
  return { server, conn, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

Deno.test("echo-server on SIGTERM lets a live connection finish, then exits 0", async () => {
  await using live = await serverWithClient("30s", "before\n");
  const { server, conn } = live;

  server.kill("SIGTERM");
  await server.waitFor(
    "stderr",
    /SIGTERM: stopped accepting; waiting up to 30\.0 s for 1 open connection \(signal again to close it now\)$/m,
  );
  await assertNotServed(
    { hostname: "127.0.0.1", port: server.port },
    "a client during the drain",
  );

  // The live connection still echoes during the drain.
  await writeAll(conn, "during\n");
  assertEquals(decoder.decode(await readExactly(conn, 7)), "during\n");
  assertEquals(server.exited, false);

  const closed = performance.now();
  await conn.closeWrite();
  assertEquals((await readToEnd(conn)).length, 0);
  const result = await server.wait();
  const elapsed = performance.now() - closed;
  assertEquals(result.code, 0, result.stderr);
  assert(elapsed < 5000, `exit took ${elapsed} ms after the close`);
  assertMatch(result.stderr, /closed: client closed; 14 bytes/);
  assertMatch(
    result.stderr,
    logLine("drained: every connection ended by itself"),
  );
  assertMatch(result.stderr, logLine("stopped"));
});

Deno.test("echo-server closes connections at once and exits 143 on a second SIGTERM during the drain", async () => {
  await using live = await serverWithClient("30s", "x\n");
  const { server, conn } = live;

  server.kill("SIGTERM");
  const signalled = performance.now();
  await server.waitFor("stderr", "SIGTERM: stopped accepting");
  // A repeat within 200 ms is the same signal delivered twice; meanwhile the
  // live connection is still served (bounded: 300 ms of round trips).
  let echoed = 2;
  while (performance.now() - signalled < 300) {
    await writeAll(conn, "d\n");
    assertEquals(decoder.decode(await readExactly(conn, 2)), "d\n");
    echoed += 2;
  }
  const started = performance.now();
  const result = await server.stop("SIGTERM");
  const elapsed = performance.now() - started;
  assertEquals(result.code, 143, result.stderr);
  assertEquals(
    result.signal,
    null,
    "exit code set by the server, not death by signal",
  );
  assert(elapsed < 5000, `took ${elapsed} ms`);
  assertMatch(result.stderr, /SIGTERM again: closing 1 connection now$/m);
  assertMatch(
    result.stderr,
    new RegExp(`closed: server shutting down; ${echoed} bytes`),
  );
  assertMatch(
    result.stderr,
    logLine("not drained: 1 connection closed before it ended"),
  );
  assertEquals((await readUntilClosed(conn)).length, 0);
});

Deno.test("echo-server takes the same signal again within 200 ms (deno task forwarding Ctrl-C) as one: it still drains", async () => {
  await using live = await serverWithClient("30s", "x\n");
  const { server } = live;
  // As deno task does: the terminal's SIGINT, then the forwarded one just
  // after the first was handled (two at the same instant merge into one).
  server.kill("SIGINT");
  await server.waitFor("stderr", "SIGINT: stopped accepting");
  server.kill("SIGINT");
  const result = await assertStillDrains(live);
  assertMatch(result.stderr, /closed: client closed; 8 bytes/);
});

/**
 * After a first SIGINT and its repeat: the connection is still served
 * (draining, not closed), and the server exits 0 once it ends, without a
 * "SIGINT again".
 */
async function assertStillDrains(
  { server, conn }: ServerWithClient,
): Promise<ProcessResult> {
  await writeAll(conn, "still\n");
  assertEquals(decoder.decode(await readExactly(conn, 6)), "still\n");
  conn.closeWrite();
  assertEquals((await readUntilClosed(conn)).length, 0);
  const result = await server.wait();
  assertEquals(result.code, 0, result.stderr);
  assertNotMatch(result.stderr, /SIGINT again/);
  return result;
}

Deno.test("echo-server takes a repeat it could only handle late (stopped meanwhile) as the same signal: it still drains", async () => {
  await using live = await serverWithClient("30s", "x\n");
  const { server } = live;
  server.kill("SIGINT");
  await server.waitFor("stderr", "SIGINT: stopped accepting");
  // The forwarded one comes 20 ms after the first, while the server cannot
  // run (stopped here, as when it is descheduled under load): handled 300 ms
  // after the first, it is still the same Ctrl-C.
  await delay(20);
  server.kill("SIGSTOP");
  server.kill("SIGINT");
  await delay(300);
  server.kill("SIGCONT");
  const result = await assertStillDrains(live);
  assertMatch(
    result.stderr,
    logLine("drained: every connection ended by itself"),
  );
});

Deno.test("echo-server closes connections when --drain-timeout expires and exits 0", async () => {
  await using live = await serverWithClient("300ms", "x\n");
  const { server, conn } = live;

  const started = performance.now();
  server.kill("SIGTERM");
  assertEquals((await readUntilClosed(conn)).length, 0);
  const closedAfter = performance.now() - started;
  const result = await server.wait();
  assertEquals(result.code, 0, result.stderr);
  assert(closedAfter >= 250, `closed after ${closedAfter} ms`);
  assert(closedAfter < 5000, `closed after ${closedAfter} ms`);
  assertMatch(
    result.stderr,
    /waiting up to 300 ms for 1 open connection \(signal again to close it now\)$/m,
  );
  assertMatch(result.stderr, /closed: server shutting down; 2 bytes/);
  // The drain line comes last but one, before "stopped".
  const log = lines(result.stderr);
  assertMatch(
    log.at(-2) ?? "",
    logLine("not drained: 1 connection closed before it ended"),
  );
  assertMatch(log.at(-1) ?? "", logLine("stopped"));
});

Deno.test("echo-server is never killed by two SIGINTs 1 to 40 ms apart when idle (20 runs)", async () => {
  // The second signal may arrive while the server is on its way out (an
  // idle server stops within a few ms); it must find a handler still there,
  // never the default (death by SIGINT). Each round tries five gaps at once.
  const GAPS_MS = [1, 5, 10, 20, 40];
  const outcomes: string[] = [];
  for (let round = 0; round < 4; round++) {
    const results = await Promise.all(
      GAPS_MS.map(async (gap) => {
        await using server = await startServer(["--hostname", "127.0.0.1"]);
        server.kill("SIGINT");
        await delay(gap);
        server.kill("SIGINT");
        return await server.wait();
      }),
    );
    for (const { code, signal, stderr } of results) {
      outcomes.push(`${code} ${signal}`);
      assertMatch(stderr, logLine("stopped"));
    }
  }
  assertEquals(outcomes, Array(20).fill("0 null"));
});

/**
 * Ctrl-C twice under `deno task`: each arrives twice, `gap` ms apart (the
 * terminal's and the forwarded one). Returns how the server ended.
 */
async function ctrlCTwiceUnderDenoTask(gap: number): Promise<ProcessResult> {
  await using live = await serverWithClient("30s", "x\n");
  const { server, conn } = live;
  server.kill("SIGINT");
  await delay(gap);
  server.kill("SIGINT");
  await server.waitFor("stderr", "SIGINT: stopped accepting");
  // The second Ctrl-C, well after the first (the connection is served
  // meanwhile: bounded, 300 ms of round trips).
  const first = performance.now();
  while (performance.now() - first < 300) {
    await writeAll(conn, "d\n");
    assertEquals(decoder.decode(await readExactly(conn, 2)), "d\n");
  }
  server.kill("SIGINT");
  await delay(gap);
  server.kill("SIGINT");
  const result = await server.wait();
  assertEquals((await readUntilClosed(conn)).length, 0);
  return result;
}

Deno.test("echo-server logs one line per signal when each Ctrl-C arrives twice (deno task), and a second Ctrl-C closes at once", async () => {
  // Two signals that arrive before the server looks are one to it: a few
  // gaps, at once, so that some pairs are seen as two.
  const results = await Promise.all([1, 2, 3].map(ctrlCTwiceUnderDenoTask));
  for (const result of results) {
    assertEquals([result.code, result.signal], [130, null], result.stderr);
    const log = lines(result.stderr);
    assertEquals(
      log.filter((l) => / SIGINT: stopped accepting; /.test(l)).length,
      1,
      result.stderr,
    );
    assertEquals(
      log.filter((l) => / SIGINT again: /.test(l)),
      log.filter((l) => l.endsWith(" SIGINT again: closing 1 connection now")),
    );
    assertEquals(
      log.filter((l) => / SIGINT again: /.test(l)).length,
      1,
      result.stderr,
    );
  }
});

Deno.test("echo-server drains on SIGHUP as on SIGTERM, removes its Unix socket, and exits 129 on a second SIGHUP", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "deno_echo_hup_" });
  try {
    await t.step(
      "one SIGHUP: the live connection finishes, exit 0",
      async () => {
        const path = `${dir}/hup.sock`;
        await using server = await startListening([
          "--listen",
          "tcp://127.0.0.1:0",
          "--listen",
          `unix:${path}`,
          "--drain-timeout",
          "30s",
        ], 2);
        assert((await Deno.lstat(path)).isSocket);
        using conn = await connectTo(server.listening[0]!);
        await writeAll(conn, "x\n");
        assertEquals(decoder.decode(await readExactly(conn, 2)), "x\n");
        server.kill("SIGHUP");
        await server.waitFor(
          "stderr",
          "SIGHUP: stopped accepting; waiting up to 30.0 s for 1 open connection (signal again to close it now)",
        );
        await writeAll(conn, "during\n");
        assertEquals(decoder.decode(await readExactly(conn, 7)), "during\n");
        await conn.closeWrite();
        assertEquals((await readToEnd(conn)).length, 0);
        const result = await server.wait();
        assertEquals([result.code, result.signal], [0, null], result.stderr);
        assertMatch(
          result.stderr,
          logLine("drained: every connection ended by itself"),
        );
        assertEquals(
          await Deno.lstat(path).then(() => "kept", () => "removed"),
          "removed",
        );
      },
    );
    await t.step("a second SIGHUP closes at once: exit 129", async () => {
      await using live = await serverWithClient("30s", "x\n");
      const { server, conn } = live;
      server.kill("SIGHUP");
      await server.waitFor("stderr", "SIGHUP: stopped accepting");
      const first = performance.now();
      while (performance.now() - first < 300) {
        await writeAll(conn, "d\n");
        assertEquals(decoder.decode(await readExactly(conn, 2)), "d\n");
      }
      const result = await server.stop("SIGHUP");
      assertEquals([result.code, result.signal], [129, null], result.stderr);
      assertMatch(result.stderr, /SIGHUP again: closing 1 connection now$/m);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
