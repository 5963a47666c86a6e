// Copyright the deno-echo authors. MIT license.

// Mutual TLS: the client must prove it holds its certificate's key (the
// handshake's CertificateVerify), checked by the server itself. A client
// that presents a trusted certificate with another key is refused; a
// recorded handshake replayed in one-byte pieces checks out, and fails once
// a byte it signed is changed; a client that resumes its session is served.
// Needs openssl; without it each test says "skipped:".

import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { dialTls, serve } from "../../mod.ts";
import { ClientKeyProof } from "../../src/server/tls12_proof.ts";
import { createClientCerts } from "../_helpers/mtls.ts";
import { createTlsFixtures, openssl } from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";
import { assertEchoes, NO_OPENSSL } from "./_transport.ts";
import { handshakeLog } from "./_events.ts";

async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** What a `node:tls` client with any certificate and key got back. */
function presentWithKey(
  port: number,
  cert: string,
  key: string,
): Promise<string> {
  const { promise, resolve } = Promise.withResolvers<string>();
  let got = "";
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    cert,
    key,
    rejectUnauthorized: false,
  });
  socket.on("secureConnect", () => socket.write("let me in\n"));
  socket.on("data", (data) => {
    got += String(data);
    if (got.endsWith("\n")) socket.end();
  });
  socket.on("error", () => {});
  socket.on("close", () => resolve(got));
  return within(promise, 5000, "the client's connection to end");
}

Deno.test("serve() with tls.clientCa refuses a trusted certificate presented with another key", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  // RSA keys and certificates: `node:tls` clients present a certificate
  // with a key not its own only with RSA (with ECDSA ones they give up
  // before they sign).
  const run = (...args: string[]) => openssl(fx.dir, args);
  for (const name of ["server", "alice", "mallory"]) {
    await run("genrsa", "-out", `${name}-rsa-key.pem`, "2048");
  }
  await run(
    "req",
    "-x509",
    "-new",
    "-key",
    "server-rsa-key.pem",
    "-out",
    "server-rsa.pem",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
  );
  await run(
    "req",
    "-new",
    "-key",
    "alice-rsa-key.pem",
    "-out",
    "alice-rsa.csr",
    "-subj",
    "/CN=alice",
  );
  await run(
    "x509",
    "-req",
    "-in",
    "alice-rsa.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca-key.pem",
    "-set_serial",
    "7",
    "-out",
    "alice-rsa.pem",
    "-days",
    "2",
  );
  const read = (name: string) => Deno.readTextFile(`${fx.dir}/${name}`);
  const cert = await read("alice-rsa.pem");
  const { opened, failures, onEvent } = handshakeLog();
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: {
      cert: await read("server-rsa.pem"),
      key: await read("server-rsa-key.pem"),
      clientCa: fx.ca,
    },
    onEvent,
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  // alice's certificate, mallory's key: signed by the trusted CA, but the
  // client cannot sign with alice's key.
  assertEquals(
    await presentWithKey(port, cert, await read("mallory-rsa-key.pem")),
    "",
  );
  await within(until(() => failures.length === 1), 5000, "the refusal");
  assert(failures[0] instanceof Deno.errors.PermissionDenied);
  assertMatch(failures[0].message, /does not hold that key/);
  assertEquals(opened, []);
  // The same client with alice's key is served.
  assertEquals(
    await presentWithKey(port, cert, await read("alice-rsa-key.pem")),
    "let me in\n",
  );
  assertEquals(opened.length, 1);
});

Deno.test("ClientKeyProof checks a recorded handshake fed one byte at a time, and refuses it once a signed byte changes", async () => {
  await using fx = await createTlsFixtures();
  if (fx === null) return skip(NO_OPENSSL);
  const client = await createClientCerts(fx);
  await using server = await serve({
    listen: ["tls://127.0.0.1:0"],
    tls: { cert: fx.cert, key: fx.key, clientCa: fx.ca },
  });
  const { port } = server.listeners[0]!.addr as Deno.NetAddr;
  // A relay in between records both directions in the order they pass.
  const recorded: { fromClient: boolean; bytes: Uint8Array }[] = [];
  using relay = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relayed = (async () => {
    using inner = await relay.accept();
    using outer = await Deno.connect({ hostname: "127.0.0.1", port });
    const pump = async (
      from: Deno.Conn,
      to: Deno.Conn,
      fromClient: boolean,
    ) => {
      const buffer = new Uint8Array(64 * 1024);
      for (let n; (n = await from.read(buffer).catch(() => null)) !== null;) {
        recorded.push({ fromClient, bytes: buffer.slice(0, n) });
        await to.write(buffer.subarray(0, n)).catch(() => 0);
      }
      await to.closeWrite().catch(() => {});
    };
    await Promise.all([
      pump(inner, outer, true),
      pump(outer, inner, false),
    ]);
  })();
  const conn = await dialTls({
    hostname: "localhost",
    port: (relay.addr as Deno.NetAddr).port,
    caCerts: [fx.ca],
    clientCert: { cert: client.cert, key: client.key },
  });
  await assertEchoes(conn, "recorded\n");
  conn.close();
  await relayed;

  const der = new Uint8Array(new X509Certificate(client.cert).raw);
  const replay = (change?: number): ClientKeyProof => {
    const proof = new ClientKeyProof();
    let first = true;
    for (const { fromClient, bytes } of recorded) {
      const copy = bytes.slice();
      // A byte of the ClientHello's random, which the client signed.
      if (change !== undefined && fromClient && first) copy[change]! ^= 1;
      if (fromClient) first = false;
      for (let i = 0; i < copy.length; i++) {
        const piece = copy.subarray(i, i + 1);
        if (fromClient) proof.fromClient(piece);
        else proof.fromServer(piece);
      }
    }
    return proof;
  };
  replay().check(der);
  const changed = assertThrows(
    () => replay(20).check(der),
    Deno.errors.PermissionDenied,
  );
  assertMatch(changed.message, /signature does not match/);
  // Another certificate than the one in the handshake is refused too.
  const other = new Uint8Array(new X509Certificate(client.otherCert).raw);
  assertThrows(() => replay().check(other), Deno.errors.PermissionDenied);
  // So is a handshake that never showed a proof.
  assertThrows(
    () => new ClientKeyProof().check(der),
    Deno.errors.PermissionDenied,
    "the handshake was not TLS 1.2",
  );
});

Deno.test("serve() with tls.clientCa serves a client that resumes its session (openssl s_client)", async () => {
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
  const session = `${fx.dir}/session.pem`;
  const sClient = async (sessionArg: string[], line: string) => {
    const child = new Deno.Command("openssl", {
      args: [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-CAfile",
        fx.caFile,
        "-cert",
        client.certFile,
        "-key",
        client.keyFile,
        "-ign_eof",
        ...sessionArg,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(`${line}\nBYE\n`));
    await writer.close();
    const { stdout } = await within(child.output(), 10000, "openssl");
    return new TextDecoder().decode(stdout);
  };
  const first = await sClient(["-sess_out", session], "first");
  assertMatch(first, /^New, TLSv1\.2/m);
  assertMatch(first, /^first$/m);
  const again = await sClient(["-sess_in", session], "again");
  assertMatch(again, /^Reused, TLSv1\.2/m);
  assertMatch(again, /^again$/m);
  assertEquals(failures, []);
  assertEquals(opened.length, 2);
  assertEquals(opened[1]!.clientSubject, opened[0]!.clientSubject);
});
