// Copyright the deno-echo authors. MIT license.

// echo-server --listen tls:// and echo-client over TLS as real processes,
// with openssl s_client as an independent TLS peer. Needs openssl for the
// fixtures; without it each test says "skipped:".

import { escape } from "@std/regexp";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
} from "@std/assert";
import {
  assertStopsCleanly,
  lines,
  logLine,
  type ProcessResult,
  readToEnd,
  run,
  runClient,
  writeAll,
} from "../_helpers/cli.ts";
import {
  createTlsFixtures,
  OTHER_NAME,
  toolAvailable,
} from "../_helpers/tls.ts";
import { skip, within } from "../_helpers/util.ts";
import {
  assertClientEchoes,
  assertOneLineFailure,
  CLIENT,
  NO_OPENSSL,
  startListening,
} from "./_transport.ts";

const decoder = new TextDecoder();

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
