// Copyright the deno-echo authors. MIT license.

// echo-server's log as a collector sees it: JSON lines that all parse,
// peer-controlled strings that cannot forge a line in either format, and a
// flood of connections that cannot flood it.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  connectTo,
  readExactly,
  readToEnd,
  writeAll,
} from "../_helpers/cli.ts";
import { startListening, tempDir } from "../server/_transport.ts";

const decoder = new TextDecoder();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// A Unix client that binds its own socket to a path of the caller's choice,
// which Deno.connect and node:net cannot do.
const PY_CLIENT = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[2])
s.connect(sys.argv[1])
s.sendall(b"hi\\n")
got = b""
while len(got) < 3:
    chunk = s.recv(16)
    if not chunk:
        break
    got += chunk
s.close()
sys.stdout.write(got.decode())
`;

const python = await new Deno.Command("python3", { args: ["-c", "pass"] })
  .output().then((r) => r.success, () => false);

/** Runs the Python client against `server`, bound to `client`. */
async function pythonClient(server: string, client: string): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: ["-c", PY_CLIENT, server, client],
    stdin: "null",
  }).output();
  assert(out.success, decoder.decode(out.stderr));
  return decoder.decode(out.stdout);
}

Deno.test({
  name:
    "a Unix peer bound to a path with a newline and ESC cannot forge a log line",
  ignore: Deno.build.os !== "linux" || !python,
  fn: async (t) => {
    for (const format of ["text", "json"]) {
      await t.step(format, async () => {
        await using dir = await tempDir();
        const sock = `${dir.path}/s.sock`;
        const forged = "c\n2026-01-01T00:00:00.000Z #99 \x1b[2Kforged";
        const clientPath = `${dir.path}/${forged}`;
        await using server = await startListening([
          "--listen",
          `unix:${sock}`,
          "--log-format",
          format,
        ]);
        assertEquals(await pythonClient(sock, clientPath), "hi\n");
        await server.waitFor("stderr", (s) => /closed/.test(s));
        server.kill("SIGTERM");
        const result = await server.wait();
        assertEquals(result.code, 0, result.stderr);
        assert(!result.stderr.includes("\x1b"), result.stderr);
        const lines = result.stderr.slice(0, -1).split("\n");
        const about = lines.filter((line) => line.includes("forged"));
        // One line when it connected, one when it closed; nothing else.
        assertEquals(about.length, 2, result.stderr);
        if (format === "text") {
          for (const line of lines) {
            assert(ISO.test(line.split(" ")[0]!), line);
            assert(!line.includes(" #99 ") || line.includes("\\n"), line);
          }
          for (const line of about) {
            assertStringIncludes(
              line,
              `#1 unix:${dir.path}/c\\n2026-01-01T00:00:00.000Z #99 \\x1b[2Kforged `,
            );
          }
        } else {
          for (const line of about) {
            const entry = JSON.parse(line);
            assertEquals(entry.peer, `unix:${clientPath}`);
            assertEquals(entry.id, 1);
          }
        }
      });
    }
  },
});

Deno.test("echo-server --log-format json writes one parsable object per line, with the fields of each event", async () => {
  await using server = await startListening([
    "--listen",
    "tcp://127.0.0.1:0",
    "--max-connections",
    "1",
    "--log-format",
    "json",
  ]);
  const where = server.listening[0]!;
  const listener = `tcp://${where.text}`;
  {
    using held = await connectTo(where);
    await writeAll(held, "hi\n");
    assertEquals(decoder.decode(await readExactly(held, 3)), "hi\n");
    {
      using refused = await connectTo(where);
      assertEquals((await readToEnd(refused)).length, 0);
    }
    await server.waitFor("stderr", (s) => s.includes('"event":"reject"'));
  }
  await server.waitFor("stderr", (s) => s.includes('"event":"close"'));
  server.kill("SIGTERM");
  const result = await server.wait();
  assertEquals(result.code, 0, result.stderr);
  const entries = result.stderr.slice(0, -1).split("\n").map((line) =>
    JSON.parse(line)
  );
  for (const entry of entries) {
    assert(ISO.test(entry.ts), entry.ts);
    assert(["info", "warn", "error"].includes(entry.level), entry.level);
    assertEquals(typeof entry.event, "string");
    assertEquals(typeof entry.message, "string");
  }
  assertEquals(entries.map((e) => e.event), [
    "listening",
    "open",
    "reject",
    "close",
    "signal",
    "drain",
    "stopped",
  ]);
  const [listening, open, reject, close, signal, drain] = entries;
  assertEquals(listening.listener, listener);
  assertEquals(listening.transport, "tcp");
  assertEquals(listening.message, `Listening on ${where.text}`);
  assertEquals([open.id, open.listener, open.open], [1, listener, 1]);
  assert(/^127\.0\.0\.1:\d+$/.test(open.peer), open.peer);
  assertEquals([reject.id, reject.reason, reject.level], [
    2,
    "max-connections",
    "warn",
  ]);
  assertEquals([close.id, close.peer, close.bytes, close.reason], [
    1,
    open.peer,
    3,
    "eof",
  ]);
  assertEquals(typeof close.duration_ms, "number");
  assertEquals([signal.signal, signal.open], ["SIGTERM", 0]);
  assertEquals([drain.drained, drain.closed], [true, 0]);
});

Deno.test("echo-server refuses an unknown --log-format", async () => {
  await using server = await startListening(["--log-format", "xml"], 0);
  const result = await server.wait();
  assertEquals(result.code, 2);
  assertStringIncludes(
    result.stderr,
    'Invalid --log-format "xml": expected text or json',
  );
});

Deno.test("echo-server under a flood of connections logs its burst, then one summary line a second, and counts every line it left out", async () => {
  await using server = await startListening([
    "--listen",
    "tcp://127.0.0.1:0",
  ]);
  const where = server.listening[0]!;
  // Connections one after another, each echoing a line (so that the server
  // has accepted it) and closed: two log events each, 2,000 a second for
  // 2.2 s, far more than the 200 lines at once and 50 a second the log lets
  // through.
  const start = performance.now();
  let made = 0;
  for (let batch = 1; batch <= 22; batch++) {
    for (let i = 0; i < 100; i++, made++) {
      using conn = await connectTo(where);
      await writeAll(conn, "x\n");
      assertEquals(decoder.decode(await readExactly(conn, 2)), "x\n");
    }
    const wait = start + batch * 100 - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const seconds = (performance.now() - start) / 1000;
  server.kill("SIGTERM");
  const result = await server.wait();
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stderr.split("\n");
  const written = lines.filter((l) => / connected \(| closed: /.test(l));
  const summaries = lines.flatMap((l) => {
    const match = /(\d+) connection log lines? left out in the last/.exec(l);
    return match ? [Number(match[1])] : [];
  });
  // The burst, and about 50 a second after it.
  assert(
    written.length <= 200 + 50 * seconds + 10,
    `${written.length} lines in ${seconds} s`,
  );
  // A summary a second while lines were left out, and the last at the stop.
  assert(summaries.length >= 1, result.stderr);
  assert(
    summaries.length <= Math.ceil(seconds) + 2,
    `${summaries.length} summaries in ${seconds} s`,
  );
  // Every connection's two lines were written or counted.
  assertEquals(
    written.length + summaries.reduce((sum, n) => sum + n, 0),
    2 * made,
  );
});
