// Copyright the deno-echo authors. MIT license.

// Fault injection against real echo-server processes, limits: connection
// limits (total and per address), idle clients, and running out of file
// descriptors (its accept failures are printed as a `fault 7: ...` line).
// Every case ends by checking that a fresh client is still served byte-exact
// and that the server stops cleanly with no stack trace. Payloads come from
// seeded PRNGs (seed in each failure message).

import { delay } from "@std/async";
import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  assertNoCrash,
  assertStopsCleanly,
  connectTo,
  isConnectionClosed,
  lines,
  readExactly,
  readToEnd,
  readUntilClosed,
  startServer,
  writeAll,
} from "../_helpers/cli.ts";
import {
  assertServed,
  FAULT_SEED,
  fdLimitedServer,
  Prng,
  readProcFile,
  servedWithRetry,
  withoutQuitWord,
} from "../_helpers/fault.ts";
import { KiB, within } from "../_helpers/util.ts";

const decoder = new TextDecoder();

/** Ignores an error that means the server closed the connection. */
function ignoreClosed(error: unknown): void {
  if (!isConnectionClosed(error)) throw error;
}

/** A log line about one client (identified by its local port). */
function clientLog(port: number, rest: string): RegExp {
  return new RegExp(`127\\.0\\.0\\.1:${port} ${rest}`);
}

Deno.test("echo-server --max-connections 3 closes a 4th client at once, logs it, and accepts again after a close", async () => {
  const rng = new Prng(FAULT_SEED + 5);
  await using server = await startServer([
    "--hostname",
    "127.0.0.1",
    "--max-connections",
    "3",
  ]);
  const addr = server.addrs[0]!;
  using stack = new DisposableStack();
  const clients: Deno.TcpConn[] = [];
  for (let i = 1; i <= 3; i++) {
    const conn = stack.use(await connectTo(addr));
    clients.push(conn);
    await writeAll(conn, `client ${i}\n`);
    assertEquals(
      decoder.decode(await readExactly(conn, `client ${i}\n`.length)),
      `client ${i}\n`,
    );
  }

  {
    using fourth = await connectTo(addr);
    const start = performance.now();
    // A served client would get this back; a rejected one gets nothing.
    await writeAll(fourth, "client 4\n").catch(ignoreClosed);
    const echoed = await within(readUntilClosed(fourth), 2000, "4th closed");
    const elapsed = performance.now() - start;
    assertEquals(echoed.length, 0, "the 4th client got data");
    assert(elapsed < 2000, `4th client closed after ${elapsed} ms`);
    await server.waitFor(
      "stderr",
      clientLog(
        fourth.localAddr.port,
        "rejected: 3 connections open \\(--max-connections\\)",
      ),
    );
  }

  const first = clients.shift()!;
  const firstPort = first.localAddr.port;
  first.close();
  // The server learns of the close asynchronously: wait for its log line,
  // then retry (bounded) in case a rejection still races with it.
  await server.waitFor("stderr", clientLog(firstPort, "closed: client closed"));
  const attempt = await servedWithRetry(
    addr,
    rng.bytes(64 * KiB),
    "client after one closed",
    { attempts: 10, timeout: 3000 },
  );
  assert(attempt <= 10);
  stack.dispose(); // The two still open: closed before the drain.
  await assertStopsCleanly(server);
});

Deno.test("echo-server --max-per-ip 2 rejects a third 127.0.0.1 client while serving ::1", async () => {
  const rng = new Prng(FAULT_SEED + 11);
  await using server = await startServer(["--max-per-ip", "2"], {
    listening: 2,
  });
  const [v4addr, v6addr] = server.addrs;
  assert(v4addr && v6addr);
  assertEquals(v4addr.hostname, "127.0.0.1");
  assertEquals(v6addr.hostname, "::1");
  using a = await connectTo(v4addr);
  using b = await connectTo(v4addr);
  for (const conn of [a, b]) {
    await writeAll(conn, "v4\n");
    assertEquals(decoder.decode(await readExactly(conn, 3)), "v4\n");
  }
  {
    using third = await connectTo(v4addr);
    await writeAll(third, "v4\n").catch(ignoreClosed);
    const echoed = await within(readUntilClosed(third), 2000, "third closed");
    assertEquals(echoed.length, 0, "the third 127.0.0.1 client got data");
    await server.waitFor(
      "stderr",
      clientLog(
        third.localAddr.port,
        "rejected: 2 connections open from this address \\(--max-per-ip\\)",
      ),
    );
  }
  await assertServed(v6addr, rng.bytes(64 * KiB), "::1 client");
  a.close();
  await server.waitFor(
    "stderr",
    clientLog(a.localAddr.port, "closed: client closed"),
  );
  await servedWithRetry(v4addr, rng.bytes(64 * KiB), "127.0.0.1 after close");
  b.close();
  await assertStopsCleanly(server);
});

Deno.test("echo-server --idle-timeout 500ms closes an idle client but not a slow one", async (t) => {
  const rng = new Prng(FAULT_SEED + 6);
  await using server = await startServer([
    "--hostname",
    "127.0.0.1",
    "--idle-timeout",
    "500ms",
  ]);
  const addr = server.addrs[0]!;

  await t.step(
    "an idle client gets EOF after about 500 ms, logged",
    async () => {
      using conn = await connectTo(addr);
      const start = performance.now();
      const echoed = await within(readUntilClosed(conn), 5000, "idle close");
      const elapsed = performance.now() - start;
      assertEquals(echoed.length, 0);
      assert(
        elapsed >= 400 && elapsed < 3000,
        `idle client closed after ${Math.round(elapsed)} ms`,
      );
      await server.waitFor(
        "stderr",
        clientLog(conn.localAddr.port, "closed: idle timeout"),
      );
    },
  );

  await t.step(
    "a client sending a byte every 100 ms for 1.5 s survives",
    async () => {
      using conn = await connectTo(addr);
      const sent = withoutQuitWord(rng.bytes(15));
      const start = performance.now();
      for (let i = 0; i < sent.length; i++) {
        await delay(100); // Pacing the slow client, not synchronisation.
        await writeAll(conn, sent.subarray(i, i + 1));
        const echo = await within(readExactly(conn, 1), 2000, `byte ${i}`);
        assertEquals(echo[0], sent[i], `byte ${i}`);
      }
      const elapsed = performance.now() - start;
      assert(elapsed >= 1400, `only ${elapsed} ms`);
      await conn.closeWrite();
      assertEquals((await readToEnd(conn)).length, 0);
      await server.waitFor(
        "stderr",
        clientLog(conn.localAddr.port, "closed: client closed; 15 bytes"),
      );
    },
  );

  await assertServed(addr, rng.bytes(64 * KiB), "fresh client");
  await assertStopsCleanly(server);
});

/**
 * Opens `n` connections at once, each kept in `stack`; a refused or reset
 * connect (the backlog may fill) is counted, any other error thrown.
 *
 * @returns How many connects failed.
 */
async function flood(
  addr: Deno.NetAddr,
  n: number,
  stack: DisposableStack,
): Promise<number> {
  let failedConnects = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      try {
        stack.use(await connectTo(addr));
      } catch (error) {
        // The backlog may fill; a refused or reset connect is expected.
        if (
          !(error instanceof Deno.errors.ConnectionRefused ||
            isConnectionClosed(error))
        ) throw error;
        failedConnects++;
      }
    }),
  );
  return failedConnects;
}

/** The accept failures a server's log tells of. */
interface AcceptFailures {
  /** The `accept failed:` lines, logged in full. */
  failedLines: string[];
  /** The counts of the `N more accept failures left out` lines. */
  summaries: number[];
  /** Failures in all: logged in full plus left out. */
  failures: number;
  /** Log lines about accept failures: in full plus summaries. */
  acceptLines: number;
}

/** Reads the accept failures out of a server's stderr. */
function acceptFailures(stderr: string): AcceptFailures {
  const log = lines(stderr);
  const failedLines = log.filter((l) => /accept failed:/.test(l));
  const summaries = log.flatMap((l) => {
    const match = /(\d+) more accept failures? left out/.exec(l);
    return match ? [Number(match[1])] : [];
  });
  const failures = failedLines.length +
    summaries.reduce((sum, n) => sum + n, 0);
  const acceptLines = failedLines.length + summaries.length;
  return { failedLines, summaries, failures, acceptLines };
}

Deno.test("echo-server out of file descriptors logs rate-limited accept failures, backs off, and recovers", async () => {
  const rng = new Prng(FAULT_SEED + 7);
  await using server = await startServer(["--hostname", "127.0.0.1"], {
    command: fdLimitedServer(64),
  });
  const addr = server.addrs[0]!;
  const limits = await readProcFile(server.pid, "limits");
  assertMatch(limits, /^Max open files\s+64\s/m, "ulimit -n 64 applied");

  // One client accepted before the flood keeps being served throughout.
  using early = await connectTo(addr);
  await writeAll(early, "early\n");
  assertEquals(decoder.decode(await readExactly(early, 6)), "early\n");

  using stack = new DisposableStack();
  const start = performance.now();
  const failedConnects = await within(
    flood(addr, 100, stack),
    15_000,
    "100 connects",
  );
  await server.waitFor(
    "stderr",
    /accept failed: .*Too many open files/,
    10_000,
  );
  // Rate limiting: the failures after the first are counted, not logged.
  await server.waitFor("stderr", /\d+ more accept failures? left out/, 10_000);
  const elapsedS = (performance.now() - start) / 1000;

  // The connection served before the flood still echoes.
  await writeAll(early, "still\n");
  assertEquals(
    decoder.decode(await within(readExactly(early, 6), 5000, "early echo")),
    "still\n",
  );

  const { failedLines, summaries, failures, acceptLines } = acceptFailures(
    server.stderr,
  );
  assert(
    failedLines.every((l) => /Too many open files/.test(l)),
    failedLines.join("\n"),
  );
  assert(
    failures > failedLines.length,
    `${failures} failures, ${failedLines.length} logged in full`,
  );
  // At most about one line a second (burst 1, 1/s), however many failures.
  assert(
    acceptLines <= Math.ceil(elapsedS) + 2,
    `${acceptLines} accept-failure lines in ${elapsedS.toFixed(1)} s`,
  );
  // Backing off 5 ms .. 1 s: a dozen failures or so, not a busy loop.
  assert(
    failures <= 12 + 2 * Math.ceil(elapsedS),
    `${failures} accept failures in ${elapsedS.toFixed(1)} s: no back-off?`,
  );
  assert(failedConnects < 100, "no client connected at all");
  // deno-lint-ignore no-console
  console.log(
    `fault 7: ${failures} accept failures in ${elapsedS.toFixed(1)} s, ` +
      `${failedLines.length} logged in full, ${summaries.length} summary ` +
      `lines; ${failedConnects} of 100 connects failed`,
  );

  // Close every client: descriptors come back and service resumes.
  stack.dispose();
  early.close();
  await servedWithRetry(addr, rng.bytes(64 * KiB), "client after recovery", {
    attempts: 5,
    timeout: 5000,
  });
  assertNoCrash(server.stderr);
  await assertStopsCleanly(server);
});
