// Copyright the deno-echo authors. MIT license.

// `echo-client bench` through a real SOCKS5 proxy (Dante) and from a chosen
// source, and `echo-client udp://` sending from a chosen source.

import { assertEquals, assertMatch } from "@std/assert";
import { createSocket, type RemoteInfo } from "node:dgram";
import { runClient } from "../_helpers/cli.ts";
import { findProgram, startDante } from "../_helpers/proxies.ts";
import { recordingServer } from "./_client.ts";

const danted = await findProgram("danted");

/** A port free on `hostname` right now. */
function freePort(hostname: string): number {
  using listener = Deno.listen({ hostname, port: 0 });
  return listener.addr.port;
}

Deno.test({
  name: "echo-client bench --proxy opens every connection through the proxy",
  ignore: danted === undefined,
  async fn(): Promise<void> {
    await using echo = await recordingServer();
    await using proxy = await startDante({ allowPorts: [echo.port] });
    const result = await runClient([
      "bench",
      "-c",
      "3",
      "-n",
      "30",
      "--json",
      "--proxy",
      proxy.url().replace("socks5", "socks5h"),
      `localhost:${echo.port}`,
      "-4",
    ]);
    assertEquals(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    assertEquals([json.roundTrips, json.firstError], [30, null]);
    // The target as given, not the proxy the connections went through.
    assertEquals(json.target, `localhost:${echo.port}`);
    await echo.closedCount(3);
    assertEquals(echo.opened.length, 3);
  },
});

Deno.test("echo-client bench --source connects every connection from that address", async () => {
  await using echo = await recordingServer();
  const result = await runClient([
    "bench",
    "-c",
    "2",
    "-n",
    "20",
    "--json",
    "--source",
    "127.0.0.2",
    `127.0.0.1:${echo.port}`,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(JSON.parse(result.stdout).roundTrips, 20);
  assertEquals(
    echo.opened.map((conn) => (conn.remoteAddr as Deno.NetAddr).hostname),
    ["127.0.0.2", "127.0.0.2"],
  );
  const fixed = await runClient([
    "bench",
    "-c",
    "2",
    "--source",
    "127.0.0.2:40000",
    `127.0.0.1:${echo.port}`,
  ]);
  assertEquals(fixed.code, 2);
  assertMatch(
    fixed.stderr,
    /names a port, which serves one connection: give -c 1/,
  );
});

Deno.test("echo-client udp:// --source sends from the address and port given", async () => {
  const seen: RemoteInfo[] = [];
  const socket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    seen.push(rinfo);
    socket.send(msg, rinfo.port, rinfo.address);
  });
  const bound = Promise.withResolvers<void>();
  socket.bind(0, "127.0.0.1", () => bound.resolve());
  await bound.promise;
  try {
    const port = freePort("127.0.0.2");
    const result = await runClient(
      [
        "--source",
        `127.0.0.2:${port}`,
        `udp://127.0.0.1:${socket.address().port}`,
      ],
      "one\ntwo\n",
    );
    assertEquals(
      [result.code, result.stdout],
      [0, "one\ntwo\n"],
      result.stderr,
    );
    assertEquals(
      seen.map((r) => `${r.address}:${r.port}`),
      [`127.0.0.2:${port}`, `127.0.0.2:${port}`],
    );
  } finally {
    const closed = Promise.withResolvers<void>();
    socket.close(() => closed.resolve());
    await closed.promise;
  }
});
