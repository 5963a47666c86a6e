// Copyright the deno-echo authors. MIT license.

// echo-client udp:// as a real process: how long it waits for a lost line,
// and a port where nothing listens.

import { assertLess } from "@std/assert";
import { bindUdp, closeUdp } from "../../src/udp/udp_socket.ts";
import { runClient } from "../_helpers/cli.ts";
import { assertFailed } from "./_client.ts";

/** A UDP socket on 127.0.0.1 that takes datagrams and never answers. */
async function silentServer(): Promise<{ port: number } & AsyncDisposable> {
  const { socket, addr } = await bindUdp("127.0.0.1", 0, (s) => {
    s.on("error", () => {});
    s.on("message", () => {});
  });
  return {
    port: addr.port,
    [Symbol.asyncDispose]: () => closeUdp(socket),
  };
}

Deno.test("echo-client udp:// waits 1 s for each echo and tries 3 times, unless --read-timeout says", async (t) => {
  await using server = await silentServer();
  const target = `udp://127.0.0.1:${server.port}`;

  await t.step(
    "the UDP default: about 3 s, not the stream read timeout",
    async () => {
      const started = performance.now();
      const result = await runClient([target], "x\n");
      assertFailed(result, 11, /1 of 1 lines got no echo/);
      // 3 tries of 1 s; the stream default (30 s) would take 90 s.
      assertLess(performance.now() - started, 10_000);
    },
  );

  await t.step("--read-timeout 200ms: about 0.6 s", async () => {
    const started = performance.now();
    const result = await runClient(["--read-timeout", "200ms", target], "x\n");
    assertFailed(result, 11, /1 of 1 lines got no echo/);
    assertLess(performance.now() - started, 2_700);
  });
});

Deno.test({
  name:
    "echo-client udp:// to a loopback port where nothing listens: refused (3) at once",
  // Told by binding the port, which only Linux answers reliably.
  ignore: Deno.build.os !== "linux",
}, async (t) => {
  // A port just freed.
  const port = await (async () => {
    await using server = await silentServer();
    return server.port;
  })();
  for (const host of ["127.0.0.1", "[::1]", "localhost"]) {
    await t.step(host, async () => {
      const result = await runClient([`udp://${host}:${port}`], "x\n");
      assertFailed(
        result,
        3,
        new RegExp(`udp://${host.replace(/[[\]]/g, "\\$&")}:${port} refused`),
      );
    });
  }
});
