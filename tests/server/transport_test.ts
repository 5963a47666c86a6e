// Copyright the deno-echo authors. MIT license.

// The transports end to end: tls://, unix: and udp:// listeners, through the
// library (serve, dialTls) and through echo-server and echo-client as real
// processes, with openssl s_client as an independent TLS peer.
//
// Needs openssl for the TLS fixtures; a test that cannot run for want of a
// tool or a privilege says so on a line starting "skipped:".

import { escape } from "@std/regexp";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
} from "@std/assert";
import { createSocket, type Socket } from "node:dgram";
import { type ConnectionInfo, dialTls, serve } from "../../mod.ts";
import {
  assertStopsCleanly,
  assertUsage,
  type Command,
  lines,
  logLine,
  type Proc,
  type ProcessResult,
  projectPath,
  readExactly,
  readToEnd,
  run,
  runClient,
  spawn,
  stackFrames,
  writeAll,
} from "../_helpers/cli.ts";
import {
  createTlsFixtures,
  OTHER_NAME,
  type TlsFixtures,
  toolAvailable,
} from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the unix: and TLS file options need besides the network. */
const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write"];
const SERVER: Command = [
  Deno.execPath(),
  "run",
  ...PERMISSIONS,
  projectPath("server.ts"),
];
const CLIENT: Command = [
  Deno.execPath(),
  "run",
  ...PERMISSIONS,
  projectPath("client.ts"),
];

const NO_OPENSSL = "openssl is not installed, so there are no TLS fixtures";

/** A temporary directory, removed on dispose. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "deno_echo_unix_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

// ---------------------------------------------------------------------------
// echo-server processes and their "Listening on" lines

/** One parsed `Listening on` line. */
interface Listening {
  /** What follows "Listening on ". */
  text: string;
  transport: "tcp" | "tls" | "udp" | "unix";
  /** Empty for unix:. */
  hostname: string;
  /** 0 for unix:. */
  port: number;
  /** Empty unless unix:. */
  path: string;
}

const NET_LINE =
  /^Listening on (?:(tls|udp):\/\/)?(?:\[([^\]\s]+)\]|([^\s:[\]/]+)):([0-9]+)$/;
const UNIX_LINE = /^Listening on unix:(\S.*)$/;

function parseListening(stdout: string): Listening[] {
  const found: Listening[] = [];
  // Complete lines only: a line still being written is not ready.
  const complete = stdout.slice(0, stdout.lastIndexOf("\n") + 1);
  for (const line of complete.split("\n")) {
    const text = line.slice("Listening on ".length);
    const unix = UNIX_LINE.exec(line);
    if (unix !== null) {
      found.push({
        text,
        transport: "unix",
        hostname: "",
        port: 0,
        path: unix[1]!,
      });
      continue;
    }
    const net = NET_LINE.exec(line);
    if (net === null) continue;
    found.push({
      text,
      transport: (net[1] ?? "tcp") as "tcp" | "tls" | "udp",
      hostname: net[2] ?? net[3]!,
      port: Number(net[4]),
      path: "",
    });
  }
  return found;
}

/** An echo-server process that has printed its `Listening on` lines. */
interface ListeningServer extends Proc {
  /** The lines seen when it became ready (at least `count`). */
  readonly listening: Listening[];
}

/**
 * Starts `echo-server ...args` and waits for `count` `Listening on` lines
 * (all listeners are bound before the first line is printed).
 */
async function startListening(
  args: readonly string[],
  count = 1,
): Promise<ListeningServer> {
  const proc = spawn(SERVER, args);
  let stdout: string;
  try {
    stdout = await proc.waitFor(
      "stdout",
      (text) => parseListening(text).length >= count,
    );
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
  return Object.assign(proc, { listening: parseListening(stdout) });
}

/** Runs echo-server to completion (it is expected to fail to start). */
function runServerOnce(args: readonly string[]): Promise<ProcessResult> {
  return run(SERVER, args);
}

/** Runs echo-client with piped input and expects every line echoed. */
async function assertClientEchoes(
  args: readonly string[],
  input = "one\ntwo\n",
): Promise<ProcessResult> {
  const result = await runClient(args, input, CLIENT);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout, input);
  assertEquals(stackFrames(result.stderr), []);
  return result;
}

/** Exit `code`, nothing on stdout, exactly one stderr line matching. */
function assertOneLineFailure(
  result: ProcessResult,
  code: number,
  message: RegExp,
): void {
  assertEquals(result.code, code, result.stderr);
  assertEquals(result.stdout, "");
  assertEquals(stackFrames(result.stderr), [], result.stderr);
  const errorLines = lines(result.stderr);
  assertEquals(errorLines.length, 1, result.stderr);
  assertMatch(errorLines[0]!, message);
}

// ---------------------------------------------------------------------------
// Library-level TLS

/** Writes `text` and reads back exactly as many bytes. */
async function assertEchoes(conn: Deno.Conn, text: string): Promise<void> {
  await writeAll(conn, text);
  const echoed = await readExactly(conn, encoder.encode(text).length);
  assertEquals(decoder.decode(echoed), text);
}

function dialGood(
  fx: TlsFixtures,
  port: number,
): Promise<Deno.TlsConn> {
  return dialTls({
    hostname: "localhost",
    port,
    family: 4,
    caCerts: [fx.ca],
    timeout: 5000,
  });
}

Deno.test("serve() on tls:// echoes to a dialTls() client that trusts its CA, and negotiates ALPN echo", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
  });
  assertEquals(server.listeners.length, 1);
  const listener = server.listeners[0]!;
  const { port } = listener.addr as Deno.NetAddr;
  assertNotEquals(port, 0);
  assertEquals(listener.transport, "tls");
  assertEquals(listener.url, `tls://127.0.0.1:${port}`);

  using conn = await dialGood(fx, port);
  const { alpnProtocol } = await conn.handshake();
  assertEquals(alpnProtocol, "echo");
  await assertEchoes(conn, "hello\n");
  // The quit line is echoed, then the server closes the connection.
  await writeAll(conn, "BYE\n");
  assertEquals(decoder.decode(await readToEnd(conn)), "BYE\n");
});

Deno.test("serve() on tls:// reports a client that does not trust its certificate to onHandshakeError and serves good clients before and after", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const opened: ConnectionInfo[] = [];
  const failed = Promise.withResolvers<
    { info: ConnectionInfo; error: unknown }
  >();
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key },
    onOpen: (info) => opened.push(info),
    onHandshakeError: (info, error) => failed.resolve({ info, error }),
  });
  const listener = server.listeners[0]!;
  const { port } = listener.addr as Deno.NetAddr;

  using before = await dialGood(fx, port);
  await assertEchoes(before, "before\n");

  // No caCerts: the private CA is not trusted.
  await assertRejects(
    () => dialTls({ hostname: "localhost", port, family: 4, timeout: 5000 }),
    Deno.errors.InvalidData,
  );
  const { info, error } = await within(
    failed.promise,
    5000,
    "onHandshakeError",
  );
  assertEquals(info.id, 2);
  assertEquals(info.listener, listener.url);
  assertEquals((info.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  assert(error instanceof Error);
  assertMatch(error.message, /UnknownCA/);

  await assertEchoes(before, "still served\n");
  using after = await dialGood(fx, port);
  await assertEchoes(after, "after\n");
  // The failed client never counts as opened.
  assertEquals(opened.map((o) => o.id), [1, 3]);
  assertEquals(server.connections, 2);
});

Deno.test("serve() on tls:// gives up on a TCP client that never handshakes after handshakeTimeout, serving a good client meanwhile", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const failed = Promise.withResolvers<
    { info: ConnectionInfo; error: unknown; at: number }
  >();
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, handshakeTimeout: 200 },
    onHandshakeError: (info, error) =>
      failed.resolve({ info, error, at: performance.now() }),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;

  using good = await dialGood(fx, port);
  const connectedAt = performance.now();
  // Plain TCP: connected, but never says a word of TLS.
  using silent = await Deno.connect({ hostname: "127.0.0.1", port });
  // Meanwhile the open client is served, and a new one gets through.
  await assertEchoes(good, "meanwhile\n");
  {
    using other = await dialGood(fx, port);
    await assertEchoes(other, "another\n");
  }

  const { info, error, at } = await within(
    failed.promise,
    5000,
    "onHandshakeError for the silent client",
  );
  assertEquals((info.remoteAddr as Deno.NetAddr).port, silent.localAddr.port);
  assert(error instanceof Deno.errors.TimedOut, String(error));
  assertEquals(error.message, "TLS handshake not done in 200 ms");
  // The server's timer starts at accept, which comes after our connect.
  assert(at - connectedAt >= 190, `gave up after ${at - connectedAt} ms`);
  // (Deno 2.9.6 does not close the socket of a pending TLS handshake, so the
  // silent client sees no EOF: not asserted, see DENO_NOTES.md.)

  await assertEchoes(good, "after\n");
});

Deno.test("serve() on tls:// close() ends a pending handshake at once, not after handshakeTimeout", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const failed = Promise.withResolvers<
    { info: ConnectionInfo; error: unknown }
  >();
  const server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, handshakeTimeout: 60_000 },
    onHandshakeError: (info, error) => failed.resolve({ info, error }),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  using silent = await Deno.connect({ hostname: "127.0.0.1", port });
  // Accepts are in order: once a later client is served, the silent one has
  // been accepted and is in its handshake.
  using good = await dialGood(fx, port);
  await assertEchoes(good, "later\n");
  // close() must not wait 60 s for the silent client's handshake.
  await within(server.close(), 5000, "close() with a handshake pending");
  const { info, error } = await within(
    failed.promise,
    5000,
    "onHandshakeError",
  );
  assertEquals((info.remoteAddr as Deno.NetAddr).port, silent.localAddr.port);
  assert(!(error instanceof Deno.errors.TimedOut), String(error));
});

// ---------------------------------------------------------------------------
// echo-server / echo-client over TLS

/**
 * Runs `openssl s_client` against 127.0.0.1:`port`, verifying the chain
 * against `caFile` and asking for ALPN echo, with `input` on stdin. Without
 * openssl, says so and returns null.
 */
async function sClient(
  port: number,
  caFile: string,
  extraArgs: readonly string[],
  input: string,
): Promise<ProcessResult | null> {
  if (!await toolAvailable("openssl", ["version"])) {
    skip("openssl is not installed: no s_client interop check");
    return null;
  }
  return await run(
    ["openssl"],
    [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-CAfile",
      caFile,
      "-verify_return_error",
      "-alpn",
      "echo",
      ...extraArgs,
    ],
    input,
    10_000,
  );
}

Deno.test("echo-server --listen tls:// serves echo-client --ca and openssl s_client, and logs failed handshakes", async (t) => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using server = await startListening([
    "--listen",
    "tls://localhost:0",
    "--cert",
    fx.certFile,
    "--key",
    fx.keyFile,
  ]);
  const { port } = server.listening[0]!;
  assertNotEquals(port, 0);
  const target = `tls://localhost:${port}`;

  await t.step("prints Listening on tls://HOST:PORT for each loopback", () => {
    for (const { text, transport } of server.listening) {
      assertEquals(transport, "tls");
      assertMatch(
        text,
        new RegExp(`^tls://(127\\.0\\.0\\.1|\\[::1\\]):${port}$`),
      );
    }
  });

  await t.step(
    "echo-client tls://localhost:PORT --ca echoes piped lines and exits 0",
    async () => {
      const result = await assertClientEchoes([target, "--ca", fx.caFile]);
      assertEquals(result.stderr, "");
    },
  );

  await t.step(
    "echo-client without --ca exits 12 with one line naming --ca; the server logs the failed handshake",
    async () => {
      const result = await runClient([target], "one\n", CLIENT);
      assertOneLineFailure(
        result,
        12,
        new RegExp(
          `^echo-client: TLS handshake with ${
            escape(target)
          } failed: .*--ca FILE`,
        ),
      );
      await server.waitFor(
        "stderr",
        logLine(
          `#\\d+ \\S+ via tls://\\S+ TLS handshake failed: .*UnknownCA.*`,
        ),
      );
    },
  );

  await t.step(
    "echo-client --insecure prints a WARNING on stderr and, with --ca, still echoes",
    async () => {
      const result = await assertClientEchoes([
        target,
        "--ca",
        fx.caFile,
        "--insecure",
      ]);
      const warning = lines(result.stderr);
      assertEquals(warning.length, 1, result.stderr);
      assertMatch(warning[0]!, /^echo-client: WARNING: --insecure/);
    },
  );

  await t.step(
    "openssl s_client -alpn echo -quiet: hello and BYE echoed, exit 0",
    async () => {
      // s_client does not exit on stdin EOF: BYE makes the server close.
      const result = await sClient(port, fx.caFile, ["-quiet"], "hello\nBYE\n");
      if (result === null) return;
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout, "hello\nBYE\n");
    },
  );

  await t.step(
    "openssl s_client verifies the chain and negotiates ALPN echo",
    async () => {
      const result = await sClient(port, fx.caFile, [], "BYE\n");
      if (result === null) return;
      assertEquals(result.code, 0, result.stderr);
      assertMatch(result.stdout, /^ALPN protocol: echo$/m);
      assertMatch(result.stdout, /Verify return code: 0 \(ok\)/);
    },
  );

  await t.step(
    "a plain-TCP client sending garbage: handshake failure logged, the next client served",
    async () => {
      {
        using conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await writeAll(conn, "GET / HTTP/1.0\r\n\r\n");
        // The server answers with a TLS alert and closes.
        let received: Uint8Array;
        try {
          received = await within(readToEnd(conn), 5000, "the server to close");
        } catch (error) {
          if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
          received = new Uint8Array();
        }
        assert(!decoder.decode(received).includes("GET"), "no echo");
        await server.waitFor(
          "stderr",
          logLine(
            `#\\d+ 127\\.0\\.0\\.1:${conn.localAddr.port} via tls://127\\.0\\.0\\.1:${port} TLS handshake failed: .+`,
          ),
        );
      }
      await assertClientEchoes([target, "--ca", fx.caFile], "after garbage\n");
    },
  );

  await t.step("SIGTERM: exit 0", async () => {
    const result = await assertStopsCleanly(server);
    const printed = lines(result.stdout);
    assert(printed.includes(`Listening on tls://127.0.0.1:${port}`));
    for (const line of printed) {
      assertMatch(
        line,
        new RegExp(`^Listening on tls://(127\\.0\\.0\\.1|\\[::1\\]):${port}$`),
      );
    }
  });
});

Deno.test("echo-client --insecure skips the name check but still checks the chain", async (t) => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  // A certificate from the trusted CA, for a name the client does not dial.
  await using server = await startListening([
    "--listen",
    "tls://127.0.0.1:0",
    "--cert",
    fx.otherCertFile,
    "--key",
    fx.otherKeyFile,
  ]);
  const target = `tls://localhost:${server.listening[0]!.port}`;

  await t.step(
    `a certificate for ${OTHER_NAME} only: exit 12 without --insecure`,
    async () => {
      const result = await runClient(
        [target, "--ca", fx.caFile],
        "one\n",
        CLIENT,
      );
      assertOneLineFailure(
        result,
        12,
        /^echo-client: TLS handshake with .* failed: /,
      );
    },
  );

  await t.step("--insecure --ca: warns, then echoes", async () => {
    const result = await assertClientEchoes([
      target,
      "--ca",
      fx.caFile,
      "--insecure",
    ]);
    assertMatch(result.stderr, /^echo-client: WARNING: --insecure/);
  });

  await t.step(
    "--insecure without --ca: the untrusted chain still fails, exit 12",
    async () => {
      const result = await runClient([target, "--insecure"], "one\n", CLIENT);
      assertEquals(result.code, 12, result.stderr);
      assertEquals(result.stdout, "");
      const [warning, failure, ...rest] = lines(result.stderr);
      assertEquals(rest, []);
      assertMatch(warning ?? "", /^echo-client: WARNING: --insecure/);
      assertMatch(
        failure ?? "",
        /^echo-client: TLS handshake with .* failed: .*--ca FILE/,
      );
    },
  );

  await assertStopsCleanly(server);
});

// ---------------------------------------------------------------------------
// Unix domain sockets

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

// ---------------------------------------------------------------------------
// UDP

/** A node:dgram socket on 127.0.0.1 playing a client. */
interface UdpPeer extends AsyncDisposable {
  readonly port: number;
  /** Every datagram received, in order. */
  readonly received: Uint8Array[];
  send(data: Uint8Array | string, port: number): Promise<void>;
  /** true once `count` datagrams have arrived; false after `ms` ms. */
  receivedWithin(count: number, ms: number): Promise<boolean>;
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // Never bound, or closed already.
    }
  });
}

/**
 * Binds a UDP socket on 127.0.0.1 (port 0: any free one).
 *
 * @throws The bind's error, with its `code` (EACCES, EADDRINUSE, ...).
 */
async function udpPeer(port = 0): Promise<UdpPeer> {
  const socket = createSocket({ type: "udp4" });
  const received: Uint8Array[] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (msg) => {
    received.push(new Uint8Array(msg));
    for (const waiter of waiters) waiter();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address: "127.0.0.1", port }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await closeSocket(socket);
    throw error;
  }
  // ICMP port unreachable and the like: the tests look at what arrives.
  socket.on("error", () => {});
  return {
    port: socket.address().port,
    received,
    send: (data, to) =>
      new Promise((resolve, reject) =>
        socket.send(
          typeof data === "string" ? encoder.encode(data) : data,
          to,
          "127.0.0.1",
          (error) => error ? reject(error) : resolve(),
        )
      ),
    receivedWithin: (count, ms) =>
      new Promise((resolve) => {
        if (received.length >= count) return resolve(true);
        const check = (): void => {
          if (received.length < count) return;
          done();
          resolve(true);
        };
        const timer = setTimeout(() => {
          done();
          resolve(false);
        }, ms);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
      }),
    [Symbol.asyncDispose]: () => closeSocket(socket),
  };
}

/** A peer on a fixed source port, or null (after saying why) if refused. */
async function privilegedPeer(port: number): Promise<UdpPeer | null> {
  try {
    return await udpPeer(port);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "EACCES" || code === "EPERM" || code === "EADDRINUSE") {
      skip(`cannot bind UDP source port ${port} (${code})`);
      return null;
    }
    throw error;
  }
}

/** The server's summary line for a udp:// listener, parsed. */
function udpSummary(
  stderr: string,
  url: string,
): { echoed: number; dropped: Record<string, number> } {
  const match = logLine(
    `${escape(url)}: ([0-9]+) datagrams echoed; dropped: (.+)`,
  ).exec(stderr);
  assert(match, `no summary line for ${url} in:\n${stderr}`);
  const dropped: Record<string, number> = {};
  if (match[2] !== "none") {
    for (const part of match[2]!.split(", ")) {
      const [count, reason] = part.split(" ");
      dropped[reason!] = Number(count);
    }
  }
  return { echoed: Number(match[1]), dropped };
}

/** How long a dropped datagram is given to (not) come back. */
const NO_ECHO_WAIT = 300;

Deno.test("echo-server --listen udp:// echoes echo-client's lines and drops datagrams from privileged and reflector ports and oversized ones", async (t) => {
  await using server = await startListening([
    "--listen",
    "udp://127.0.0.1:0",
    "--max-datagram",
    "512",
  ]);
  const listening = server.listening[0]!;
  assertEquals(listening.transport, "udp");
  assertEquals(listening.hostname, "127.0.0.1");
  const { port } = listening;
  assertNotEquals(port, 0);
  assertEquals(listening.text, `udp://127.0.0.1:${port}`);
  const expected: Record<string, number> = {};
  let echoed = 0;

  await t.step(
    "echo-client udp://127.0.0.1:PORT prints piped lines, exit 0",
    async () => {
      const result = await assertClientEchoes([`udp://127.0.0.1:${port}`]);
      assertEquals(result.stderr, "");
      echoed += 2;
    },
  );

  for (
    const [source, reason] of [
      [1000, "privileged-port"],
      [19, "reflector-port"],
    ] as const
  ) {
    await t.step(
      `from source port ${source}: dropped as ${reason}`,
      async () => {
        await using peer = await privilegedPeer(source);
        if (peer === null) return;
        await peer.send("ping", port);
        await server.waitFor(
          "stderr",
          logLine(
            `udp 127\\.0\\.0\\.1:${source} datagram of 4 bytes dropped: ${reason}`,
          ),
        );
        assertEquals(await peer.receivedWithin(1, NO_ECHO_WAIT), false);
        expected[reason] = 1;
      },
    );
  }

  await t.step(
    "1000 bytes over --max-datagram 512: dropped as oversize; 512 bytes echoed",
    async () => {
      await using peer = await udpPeer();
      await peer.send(new Uint8Array(1000).fill(0x61), port);
      await server.waitFor(
        "stderr",
        logLine(
          `udp 127\\.0\\.0\\.1:${peer.port} datagram of 1000 bytes dropped: oversize`,
        ),
      );
      assertEquals(await peer.receivedWithin(1, NO_ECHO_WAIT), false);
      expected["oversize"] = 1;

      const fits = new Uint8Array(512).fill(0x62);
      await peer.send(fits, port);
      assert(await peer.receivedWithin(1, 5000), "the 512-byte echo");
      assertEquals(peer.received, [fits]);
      echoed += 1;
    },
  );

  await t.step(
    "SIGTERM: exit 0, the summary line counts echoes and drops",
    async () => {
      const result = await assertStopsCleanly(server);
      const summary = udpSummary(result.stderr, `udp://127.0.0.1:${port}`);
      assertEquals(summary.echoed, echoed);
      assertEquals(summary.dropped, expected);
    },
  );
});

Deno.test("echo-server --udp-rate 5 drops a burst beyond the rate from one source and counts the drops at shutdown", async () => {
  await using server = await startListening([
    "--listen",
    "udp://127.0.0.1:0",
    "--udp-rate",
    "5",
  ]);
  const { port } = server.listening[0]!;
  await using peer = await udpPeer();
  const burst = 30;
  for (let i = 0; i < burst; i++) await peer.send(`datagram ${i}`, port);
  await server.waitFor(
    "stderr",
    logLine(
      `udp 127\\.0\\.0\\.1:${peer.port} datagram of \\d+ bytes dropped: rate-limit`,
    ),
  );

  const result = await assertStopsCleanly(server);
  const { echoed, dropped } = udpSummary(
    result.stderr,
    `udp://127.0.0.1:${port}`,
  );
  const limited = dropped["rate-limit"] ?? 0;
  assertEquals(Object.keys(dropped), ["rate-limit"]);
  assertEquals(echoed + limited, burst);
  assert(echoed >= 5 && echoed < burst, `${echoed} echoed`);
  assert(limited > 0);
  // Every echo the server counted did arrive, and no more.
  assert(await peer.receivedWithin(echoed, 5000), "the counted echoes");
  assertEquals(peer.received.length, echoed);
});

Deno.test("echo-client udp:// exits 11 when no echo ever comes back", async () => {
  // A port nothing listens on: bound, then let go.
  let port: number;
  {
    await using probe = await udpPeer();
    port = probe.port;
  }
  const result = await runClient(
    [`udp://127.0.0.1:${port}`, "--read-timeout", "200ms"],
    "lost\n",
    CLIENT,
  );
  assertOneLineFailure(
    result,
    11,
    /^echo-client: 1 of 1 lines got no echo/,
  );
});

// ---------------------------------------------------------------------------
// All four at once

Deno.test("echo-server serves tcp://, tls://, unix: and udp:// listeners from one process and names the listener in its log", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  await using dir = await tempDir();
  const path = `${dir.path}/all.sock`;
  await using server = await startListening([
    "-l",
    "tcp://127.0.0.1:0",
    "-l",
    "tls://127.0.0.1:0",
    "-l",
    `unix:${path}`,
    "-l",
    "udp://127.0.0.1:0",
    "--cert",
    fx.certFile,
    "--key",
    fx.keyFile,
  ], 4);
  const byTransport = new Map(server.listening.map((l) => [l.transport, l]));
  assertEquals(server.listening.length, 4);
  const tcp = byTransport.get("tcp")!;
  const tls = byTransport.get("tls")!;
  const udp = byTransport.get("udp")!;
  assertEquals(tcp.text, `127.0.0.1:${tcp.port}`);
  assertEquals(tls.text, `tls://127.0.0.1:${tls.port}`);
  assertEquals(byTransport.get("unix")?.text, `unix:${path}`);
  assertEquals(udp.text, `udp://127.0.0.1:${udp.port}`);

  await Promise.all([
    assertClientEchoes([`127.0.0.1:${tcp.port}`], "over tcp\n"),
    assertClientEchoes(
      [`tls://localhost:${tls.port}`, "--ca", fx.caFile],
      "over tls\n",
    ),
    assertClientEchoes([`unix:${path}`], "over unix\n"),
    assertClientEchoes([`udp://127.0.0.1:${udp.port}`], "over udp\n"),
  ]);

  const result = await assertStopsCleanly(server);
  for (
    const via of [
      `tcp://127.0.0.1:${tcp.port}`,
      `tls://127.0.0.1:${tls.port}`,
      `unix:${path}`,
    ]
  ) {
    assertMatch(
      result.stderr,
      logLine(`#\\d+ \\S+ via ${escape(via)} connected \\(\\d+ open\\)`),
    );
  }
  assertEquals(
    udpSummary(result.stderr, `udp://127.0.0.1:${udp.port}`),
    { echoed: 1, dropped: {} },
  );
  await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
});

// ---------------------------------------------------------------------------
// Bad command lines

Deno.test("echo-server and echo-client reject transport misuse with exit 2 and a one-line message", async (t) => {
  const serverCases: [string, string[], RegExp][] = [
    [
      "an unknown scheme",
      ["--listen", "ftp://x"],
      /Invalid listener "ftp:\/\/x": expected tcp:\/\/HOST:PORT, tls:\/\/HOST:PORT, udp:\/\/HOST:PORT or unix:PATH/,
    ],
    [
      "tls:// without --cert and --key",
      ["--listen", "tls://localhost:0"],
      /A tls:\/\/ listener needs --cert FILE and --key FILE/,
    ],
    [
      "--cert without a tls:// listener",
      [
        "--listen",
        "tcp://127.0.0.1:0",
        "--cert",
        "cert.pem",
        "--key",
        "key.pem",
      ],
      /--cert and --key go with a tls:\/\/ listener/,
    ],
    [
      "--listen with --port",
      ["--listen", "tcp://127.0.0.1:0", "--port", "0"],
      /Use --listen, or --hostname and --port, not both/,
    ],
  ];
  const clientCases: [string, string[], RegExp][] = [
    [
      "--ca without TLS",
      ["127.0.0.1:2000", "--ca", "ca.pem"],
      /--ca goes with TLS \(--tls or tls:\/\/\)/,
    ],
    [
      "--ca with udp://",
      ["udp://127.0.0.1:2000", "--ca", "ca.pem"],
      /--ca goes with TLS/,
    ],
    [
      "unix: with a second argument as port",
      ["unix:/tmp/none.sock", "2000"],
      /A unix: socket takes no port/,
    ],
    [
      "unix: with --port",
      ["unix:/tmp/none.sock", "--port", "2000"],
      /A unix: socket takes no port/,
    ],
  ];
  const [serverResults, clientResults] = await Promise.all([
    Promise.all(serverCases.map(([, args]) => runServerOnce(args))),
    Promise.all(
      clientCases.map(([, args]) => runClient(args, "a\n", CLIENT)),
    ),
  ]);
  for (const [i, [name, args, message]] of serverCases.entries()) {
    await t.step(`echo-server ${name}: ${args.join(" ")}`, () => {
      assertUsage(serverResults[i]!, "echo-server", message);
    });
  }
  for (const [i, [name, args, message]] of clientCases.entries()) {
    await t.step(`echo-client ${name}: ${args.join(" ")}`, () => {
      assertUsage(clientResults[i]!, "echo-client", message);
    });
  }
});

// ---------------------------------------------------------------------------
// Bugs found while writing these tests (failing on purpose until fixed)

Deno.test("echo-server rejects an out-of-range --max-datagram as a bad command line (exit 2)", async (t) => {
  // README: exit 2 = bad command line. The size is only checked when the
  // udp:// listener opens, which exits 1 ("unexpected failure") with the
  // library's option name (maxDatagramSize) and no --help hint.
  for (const size of ["0", "70000"]) {
    await t.step(`--max-datagram ${size}`, async () => {
      const result = await runServerOnce([
        "--listen",
        "udp://127.0.0.1:0",
        "--max-datagram",
        size,
      ]);
      assertUsage(result, "echo-server", /--max-datagram/);
    });
  }
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
      logLine(`#2 \\S+ rejected: 1 connections open \\(--max-connections\\)`),
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
