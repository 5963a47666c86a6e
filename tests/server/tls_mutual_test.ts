// Copyright the deno-echo authors. MIT license.

// Mutual TLS: serve({ tls: { clientCa } }) and echo-server --client-ca, with
// openssl-made CAs and client certificates. A client with a certificate
// from the trusted CA is served and its subject reported; one with no
// certificate and one whose certificate another CA signed are refused and
// reported. Needs openssl; without it each test says "skipped:".

import { assert, assertEquals, assertMatch } from "@std/assert";
import { type ConnectionInfo, dialTls, serve } from "../../mod.ts";
import { logLine } from "../_helpers/cli.ts";
import { readUntilClosed, writeAll } from "../_helpers/conn.ts";
import { CLIENT_SUBJECT, createClientCerts } from "../_helpers/mtls.ts";
import { createTlsFixtures, type TlsFixtures } from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";
import {
  assertClientEchoes,
  assertEchoes,
  CLIENT,
  NO_OPENSSL,
  startListening,
} from "./_transport.ts";
import { all, handshakeLog, on } from "./_events.ts";
import { runClient } from "../_helpers/proc.ts";

function dial(
  fx: TlsFixtures,
  port: number,
  clientCert?: { cert: string; key: string },
): Promise<Deno.TlsConn> {
  return dialTls({
    hostname: "localhost",
    port,
    family: 4,
    caCerts: [fx.ca],
    timeout: 5000,
    ...(clientCert ? { clientCert } : {}),
  });
}

/** A refused client: its handshake fails, or its first read ends or fails. */
async function assertRefused(dialing: Promise<Deno.TlsConn>): Promise<void> {
  let conn: Deno.TlsConn;
  try {
    conn = await dialing;
  } catch {
    return;
  }
  try {
    await writeAll(conn, "let me in\n");
    const got = await within(
      readUntilClosed(conn).catch(() => new Uint8Array()),
      5000,
      "the refused client's connection to end",
    );
    assertEquals(got.length, 0, "nothing echoed");
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the server already.
    }
  }
}

Deno.test("serve() with tls.clientCa serves a client whose certificate its CA signed, and reports the subject", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const client = await createClientCerts(fx);
  const { opened, failures, onEvent } = handshakeLog();
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, clientCa: fx.ca },
    onEvent,
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  using conn = await dial(fx, port, client);
  await assertEchoes(conn, "mutual\n");
  assertEquals(opened.map((c) => c.clientSubject), [CLIENT_SUBJECT]);
  assertEquals(failures, []);
});

Deno.test("serve() with tls.clientCa refuses a client without a certificate and one signed by another CA", async (t) => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const client = await createClientCerts(fx);
  const opened: ConnectionInfo[] = [];
  const failures: { conn: ConnectionInfo; error: unknown }[] = [];
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, clientCa: fx.ca },
    onEvent: all(
      on("open", ({ conn }) => opened.push(conn)),
      on("handshake-error", (event) => failures.push(event)),
    ),
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;

  await t.step("no certificate: the handshake fails", async () => {
    await assertRefused(dial(fx, port));
    await waitFor(() => failures.length === 1);
    assertMatch(String(failures[0]!.error), /certificate/i);
  });

  await t.step(
    "another CA's certificate: refused after the handshake",
    async () => {
      await assertRefused(
        dial(fx, port, { cert: client.otherCert, key: client.otherKey }),
      );
      await waitFor(() => failures.length === 2);
      const error = failures[1]!.error;
      assert(error instanceof Deno.errors.PermissionDenied, String(error));
      assertMatch(error.message, /"CN=mallory" is not signed by a trusted CA/);
    },
  );

  await t.step("the trusted client is still served", async () => {
    using conn = await dial(fx, port, client);
    await assertEchoes(conn, "still here\n");
  });
  assertEquals(opened.map((c) => c.clientSubject), [CLIENT_SUBJECT]);
  assertEquals(server.connections, 1);
});

Deno.test("echo-server --client-ca: echo-client --cert/--key is served and logged with its subject; others are refused and logged", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const client = await createClientCerts(fx);
  await using server = await startListening([
    "--listen",
    "tls://127.0.0.1:0",
    "--cert",
    fx.certFile,
    "--key",
    fx.keyFile,
    "--client-ca",
    fx.caFile,
  ]);
  const target = `tls://localhost:${server.listening[0]!.port}`;
  await assertClientEchoes([
    target,
    "--ca",
    fx.caFile,
    "--cert",
    client.certFile,
    "--key",
    client.keyFile,
  ]);
  await server.waitFor(
    "stderr",
    logLine(
      `#1 127\\.0\\.0\\.1:\\d+ via tls://\\S+ connected \\(client certificate "CN=alice, O=Example"\\) \\(1 open\\)`,
    ),
  );
  const without = await runClient([target, "--ca", fx.caFile], "one\n", CLIENT);
  assert(without.code !== 0, without.stderr);
  await server.waitFor(
    "stderr",
    logLine(
      `#2 127\\.0\\.0\\.1:\\d+ via tls://\\S+ TLS handshake failed: .*certificate.*`,
    ),
  );
  const other = await runClient(
    [
      target,
      "--ca",
      fx.caFile,
      "--cert",
      client.otherCertFile,
      "--key",
      client.otherKeyFile,
    ],
    "one\n",
    CLIENT,
  );
  assert(other.code !== 0, other.stderr);
  assertEquals(other.stdout, "");
  await server.waitFor(
    "stderr",
    logLine(
      `#3 127\\.0\\.0\\.1:\\d+ via tls://\\S+ TLS handshake failed: Client certificate refused: "CN=mallory" is not signed by a trusted CA .*`,
    ),
  );
});

async function waitFor(test: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
