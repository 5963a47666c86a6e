// Copyright the deno-echo authors. MIT license.

// unix: listeners: echo-server and echo-client as real processes.

import { escape } from "@std/regexp";
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  assertStopsCleanly,
  assertUsage,
  lines,
  logLine,
  type ProcessResult,
  runClient,
} from "../_helpers/cli.ts";
import {
  assertClientEchoes,
  assertEchoes,
  assertOneLineFailure,
  CLIENT,
  runServerOnce,
  startListening,
  tempDir,
} from "./_transport.ts";

Deno.test("echo-server --listen unix: serves echo-client unix: and removes its socket file on SIGTERM", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/e.sock`;
  await using server = await startListening(["--listen", `unix:${path}`]);
  assertEquals(server.listening[0]!.text, `unix:${path}`);
  assert((await Deno.lstat(path)).isSocket);

  await assertClientEchoes([`unix:${path}`], "over unix\nBYE\n");
  await server.waitFor(
    "stderr",
    logLine(
      `#1 unix:\\S* via unix:${escape(path)} connected \\(1 open\\)`,
    ),
  );

  await assertStopsCleanly(server);
  await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
});

Deno.test("echo-server --listen unix: replaces a stale socket, but never a regular file or a live server's socket", async (t) => {
  await using dir = await tempDir();

  await t.step(
    "a socket left by a killed server is replaced and logged",
    async () => {
      const path = `${dir.path}/stale.sock`;
      {
        await using crashed = await startListening([
          "--listen",
          `unix:${path}`,
        ]);
        const result = await crashed.stop("SIGKILL");
        assertEquals(result.signal, "SIGKILL");
      }
      assert((await Deno.lstat(path)).isSocket, "the socket file remains");

      await using server = await startListening(["--listen", `unix:${path}`]);
      await server.waitFor(
        "stderr",
        logLine(`replaced stale socket ${escape(path)} .*`),
      );
      await assertClientEchoes([`unix:${path}`]);
      await assertStopsCleanly(server);
      await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
    },
  );

  await t.step(
    "a regular file: exit 3, 'not a socket', the file untouched",
    async () => {
      const path = `${dir.path}/precious.txt`;
      const content = "do not delete me\n";
      await Deno.writeTextFile(path, content);
      const result = await runServerOnce(["--listen", `unix:${path}`]);
      assertOneLineFailure(
        result,
        3,
        new RegExp(
          `^echo-server: Cannot listen on unix:${escape(path)}: .*not a socket`,
        ),
      );
      assert((await Deno.lstat(path)).isFile);
      assertEquals(await Deno.readTextFile(path), content);
    },
  );

  await t.step(
    "a live server's socket: a second server exits 3, the first goes on",
    async () => {
      const path = `${dir.path}/live.sock`;
      await using first = await startListening(["--listen", `unix:${path}`]);
      const second = await runServerOnce(["--listen", `unix:${path}`]);
      assertOneLineFailure(
        second,
        3,
        new RegExp(
          `^echo-server: Cannot listen on unix:${
            escape(path)
          }: .*already listening`,
        ),
      );
      assert((await Deno.lstat(path)).isSocket, "the live socket is kept");
      await assertClientEchoes([`unix:${path}`]);
      await assertStopsCleanly(first);
    },
  );
});

Deno.test("echo-client unix: does not exit 0 when the server closes the connection unserved (--max-connections 1)", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/full.sock`;
  await using server = await startListening([
    "--listen",
    `unix:${path}`,
    "--max-connections",
    "1",
  ]);
  let result: ProcessResult;
  {
    // This client holds the only slot.
    using held = await Deno.connect({ transport: "unix", path });
    await assertEchoes(held, "held\n");
    result = await runClient([`unix:${path}`], "a\nb\n", CLIENT);
    await server.waitFor(
      "stderr",
      logLine(`#2 \\S+ rejected: 1 connection open \\(--max-connections\\)`),
    );
    await assertEchoes(held, "still served\n");
  }
  await assertStopsCleanly(server);
  // README: 0 = everything echoed; 8 = the server closed before everything
  // was echoed (7 if it was a reset). Nothing of "a\nb\n" came back.
  assertEquals(result.stdout, "");
  assert(
    result.code === 7 || result.code === 8,
    `echo-client exited ${result.code}, expected 7 or 8, with stderr ${
      JSON.stringify(result.stderr)
    }`,
  );
  assertEquals(lines(result.stderr).length, 1, result.stderr);
});

Deno.test("echo-server stopping removes only its own socket file, never a newer server's at the same path", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/shared.sock`;
  await using old = await startListening(["--listen", `unix:${path}`]);
  // The old server's socket file is deleted while it runs (by hand, or a
  // deploy script), and a newer server takes the path.
  await Deno.remove(path);
  await using newer = await startListening(["--listen", `unix:${path}`]);
  const bound = await Deno.lstat(path);

  await assertStopsCleanly(old);
  const after = await Deno.lstat(path);
  assert(after.isSocket, "the newer server's socket is kept");
  assertEquals([after.dev, after.ino], [bound.dev, bound.ino]);
  const names = (await Array.fromAsync(Deno.readDir(dir.path))).map((e) =>
    e.name
  );
  assertEquals(names, ["shared.sock"], "nothing else left behind");
  await assertClientEchoes([`unix:${path}`]);

  await assertStopsCleanly(newer);
  await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
});

Deno.test("echo-server --listen with the same unix: path twice says which path, exit 2", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/twice.sock`;
  const result = await runServerOnce([
    "--listen",
    `unix:${path}`,
    "--listen",
    "tcp://127.0.0.1:0",
    "--listen",
    `unix:${path}`,
  ]);
  assertUsage(
    result,
    "echo-server",
    new RegExp(`Listener "unix:${escape(path)}" is given twice`),
  );
  await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
});
