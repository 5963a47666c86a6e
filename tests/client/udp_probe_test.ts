// Copyright the deno-echo authors. MIT license.

import { assertEquals } from "@std/assert";
import { loopbackPortUnbound } from "../../src/client/udp_probe.ts";
import { bindUdp, closeUdp } from "../../src/udp/udp_socket.ts";

const linux = Deno.build.os === "linux";

async function bound(address: string, port = 0): Promise<{
  port: number;
  close(): Promise<void>;
}> {
  const { socket, addr } = await bindUdp(address, port, (s) => {
    s.on("error", () => {});
  });
  return { port: addr.port, close: () => closeUdp(socket) };
}

Deno.test({
  name: "loopbackPortUnbound() tells a loopback UDP port nobody holds",
  ignore: !linux,
}, async (t) => {
  await t.step("127.0.0.1: held, then free", async () => {
    const held = await bound("127.0.0.1");
    assertEquals(await loopbackPortUnbound(["127.0.0.1"], held.port), false);
    await held.close();
    assertEquals(await loopbackPortUnbound(["127.0.0.1"], held.port), true);
  });

  await t.step("a dual-stack socket on :: holds both loopbacks", async () => {
    const held = await bound("::");
    for (const address of ["127.0.0.1", "::1"]) {
      assertEquals(await loopbackPortUnbound([address], held.port), false);
    }
    await held.close();
  });

  await t.step("IPv4 on 0.0.0.0 holds 127.0.0.1, not ::1", async () => {
    const held = await bound("0.0.0.0");
    assertEquals(await loopbackPortUnbound(["127.0.0.1"], held.port), false);
    assertEquals(await loopbackPortUnbound(["::1"], held.port), true);
    // localhost is both: one of them listens.
    assertEquals(
      await loopbackPortUnbound(["127.0.0.1", "::1"], held.port),
      false,
    );
    await held.close();
  });

  await t.step("not loopback, or a privileged port: cannot tell", async () => {
    assertEquals(await loopbackPortUnbound(["192.0.2.1"], 7), false);
    assertEquals(await loopbackPortUnbound(["127.0.0.1"], 7), false);
    assertEquals(await loopbackPortUnbound([], 7000), false);
  });
});
