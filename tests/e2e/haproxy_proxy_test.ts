// Copyright the deno-echo authors. MIT license.

// echo-server --listen tcp://...?proxy-protocol as a real process behind a
// real HAProxy (send-proxy and send-proxy-v2): a client bound to 127.0.0.2
// talks through HAProxy, the echo is exact, and the server logs 127.0.0.2
// and the client's port as the peer. A connection without a header, and a
// proxy outside --proxy-from, are refused and logged, and the server goes
// on. Ignored (and reported as such) where haproxy is not installed.

import { assert, assertEquals } from "@std/assert";
import { escape } from "@std/regexp";
import { once } from "node:events";
import net from "node:net";
import {
  assertStopsCleanly,
  logLine,
  readToEnd,
  readUntilClosed,
  writeAll,
} from "../_helpers/cli.ts";
import {
  findHaproxy,
  type SendProxy,
  startHaproxy,
} from "../_helpers/haproxy.ts";
import {
  type Command,
  type Proc,
  projectPath,
  SERVER_COMMAND,
  spawn,
} from "../_helpers/proc.ts";
import { createTlsFixtures, toolAvailable } from "../_helpers/tls.ts";
import {
  assertBytesEqual,
  mulberry32,
  randomBytes,
  within,
} from "../_helpers/util.ts";

const ignore = await findHaproxy() === undefined;
const noOpenssl = !await toolAvailable("openssl", ["version"]);
const CLIENT_HOST = "127.0.0.2";

const LISTENING = /^Listening on (?:tls:\/\/)?\S+:([0-9]+)$/m;

/** Starts echo-server with `args` and waits for its Listening line. */
async function startProxied(
  args: readonly string[],
  command: Command = SERVER_COMMAND,
): Promise<Proc & { port: number }> {
  const proc = spawn(command, args);
  try {
    const stdout = await proc.waitFor("stdout", LISTENING);
    return Object.assign(proc, { port: Number(LISTENING.exec(stdout)![1]) });
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Sends `message` from 127.0.0.2 through HAProxy, half-closes, and returns
 * what came back and the client's port.
 */
async function throughProxy(
  proxy: { hostname: string; port: number },
  message: Uint8Array,
): Promise<{ echoed: Uint8Array; port: number }> {
  // Deno.connect cannot choose its source address; node:net can.
  const client = net.connect({
    host: proxy.hostname,
    port: proxy.port,
    localAddress: CLIENT_HOST,
  });
  const chunks: Uint8Array[] = [];
  client.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  client.on("error", () => {});
  const closed = once(client, "close");
  await within(once(client, "connect"), 10_000, "connecting to HAProxy");
  const port = client.localPort!;
  client.end(message);
  await within(closed, 15_000, "the echo through HAProxy");
  const echoed = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    echoed.set(chunk, offset);
    offset += chunk.length;
  }
  return { echoed, port };
}

for (const sendProxy of ["send-proxy", "send-proxy-v2"] as SendProxy[]) {
  Deno.test({
    name:
      `echo-server ?proxy-protocol behind HAProxy ${sendProxy}: exact echo, and the log names the client at 127.0.0.2`,
    ignore,
    async fn(): Promise<void> {
      await using server = await startProxied([
        "--listen",
        "tcp://127.0.0.1:0?proxy-protocol",
        "--proxy-from",
        "127.0.0.1",
      ]);
      await using proxy = await startHaproxy({
        backend: { hostname: "127.0.0.1", port: server.port },
        sendProxy,
      });
      const message = randomBytes(mulberry32(7), 300_000);
      const { echoed, port } = await throughProxy(proxy, message);
      assertBytesEqual(echoed, message, "echo through HAProxy");
      const via = `via tcp://127\\.0\\.0\\.1:${server.port}`;
      await server.waitFor(
        "stderr",
        logLine(
          `#1 127\\.0\\.0\\.2:${port} via proxy 127\\.0\\.0\\.1:\\d+ ${via} connected \\(1 open\\)`,
        ),
      );
      await server.waitFor(
        "stderr",
        logLine(
          `#1 127\\.0\\.0\\.2:${port} via proxy 127\\.0\\.0\\.1:\\d+ closed: client closed; ${message.length} bytes echoed in .*`,
        ),
      );

      // Straight to the server, no header: refused, one line, server on.
      {
        using conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: server.port,
        });
        await writeAll(conn, "hello without a header\n");
        const got = await within(readUntilClosed(conn), 5000, "refusal");
        assertEquals(got.length, 0, "nothing echoed");
        await server.waitFor(
          "stderr",
          logLine(
            `#2 127\\.0\\.0\\.1:${conn.localAddr.port} ${via} PROXY header refused: Invalid PROXY header: .*`,
          ),
        );
      }
      const again = await throughProxy(proxy, new TextEncoder().encode("ok\n"));
      assertEquals(new TextDecoder().decode(again.echoed), "ok\n");
      const result = await assertStopsCleanly(server);
      const refused = result.stderr.split("\n").filter((line) =>
        line.includes("PROXY header refused")
      );
      assertEquals(refused.length, 1, result.stderr);
    },
  });
}

Deno.test({
  name:
    "echo-server --proxy-protocol --proxy-from refuses HAProxy connecting from outside the ranges, and logs it",
  ignore,
  async fn(): Promise<void> {
    await using server = await startProxied([
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
      "--proxy-protocol",
      "--proxy-from",
      "10.0.0.0/8",
    ]);
    await using proxy = await startHaproxy({
      backend: { hostname: "127.0.0.1", port: server.port },
      sendProxy: "send-proxy-v2",
    });
    const { echoed } = await throughProxy(
      proxy,
      new TextEncoder().encode("let me in\n"),
    );
    assertEquals(echoed.length, 0, "nothing echoed");
    await server.waitFor(
      "stderr",
      logLine(
        `#1 127\\.0\\.0\\.1:\\d+ rejected: not a trusted proxy \\(--proxy-from\\)`,
      ),
    );
    const result = await assertStopsCleanly(server);
    assert(!result.stderr.includes("connected"), result.stderr);
  },
});

Deno.test({
  name:
    "echo-server ?proxy-protocol logs HAProxy's v2 health checks as PROXY LOCAL",
  ignore,
  async fn(): Promise<void> {
    await using server = await startProxied([
      "--listen",
      "tcp://127.0.0.1:0?proxy-protocol",
    ]);
    await using _proxy = await startHaproxy({
      backend: { hostname: "127.0.0.1", port: server.port },
      sendProxy: "send-proxy-v2",
      serverOptions: "check check-send-proxy inter 100",
      // Checks end with a reset by default; one that comes before accept()
      // leaves nothing to accept. `linger` closes them cleanly.
      backendLines: ["option tcp-check", "tcp-check connect send-proxy linger"],
    });
    await server.waitFor(
      "stderr",
      logLine(
        `#\\d+ 127\\.0\\.0\\.1:\\d+ ${
          escape("(PROXY LOCAL: the proxy's own connection)")
        } via tcp://\\S+ connected \\(1 open\\)`,
      ),
    );
  },
});

Deno.test({
  name:
    "echo-server tls://...?proxy-protocol behind HAProxy send-proxy-v2: the header, then the TLS handshake, then an exact echo",
  ignore: ignore || noOpenssl,
  async fn(): Promise<void> {
    await using fx = await createTlsFixtures();
    if (fx === null) throw new Error("openssl went missing");
    await using server = await startProxied([
      "--listen",
      "tls://127.0.0.1:0?proxy-protocol",
      "--cert",
      fx.certFile,
      "--key",
      fx.keyFile,
    ], [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      projectPath("server.ts"),
    ]);
    await using proxy = await startHaproxy({
      backend: { hostname: "127.0.0.1", port: server.port },
      sendProxy: "send-proxy-v2",
    });
    using conn = await Deno.connectTls({
      hostname: "localhost",
      port: proxy.port,
      caCerts: [fx.ca],
      alpnProtocols: ["echo"],
    });
    const message = randomBytes(mulberry32(9), 100_000);
    const [, echoed] = await Promise.all([
      writeAll(conn, message).then(() => conn.closeWrite()),
      within(readToEnd(conn), 15_000, "the echo over TLS through HAProxy"),
    ]);
    assertBytesEqual(echoed, message, "echo over TLS through HAProxy");
    await server.waitFor(
      "stderr",
      logLine(
        `#1 127\\.0\\.0\\.1:${conn.localAddr.port} via proxy 127\\.0\\.0\\.1:\\d+ via tls://\\S+ connected \\(1 open\\)`,
      ),
    );
  },
});
