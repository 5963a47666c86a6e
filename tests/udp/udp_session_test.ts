// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  runUdpSession,
  type UdpLostLine,
} from "../../src/client/udp_session.ts";
import { bytes } from "../_helpers/util.ts";
import { fakeServer, text, watchedServer } from "./_udp.ts";

// The client program's UDP session (src/client/udp_session.ts) against the
// UDP echo server and fake ones.

/** Runs a session over the given input text; returns its result and output. */
async function session(
  options: Parameters<typeof runUdpSession>[0],
  input: string | Uint8Array[],
): Promise<
  { result: Awaited<ReturnType<typeof runUdpSession>>; output: string }
> {
  let output = "";
  const chunks = typeof input === "string" ? [bytes(input)] : input;
  const result = await runUdpSession(
    options,
    ReadableStream.from(chunks),
    new WritableStream({ write: (c) => void (output += text(c)) }),
  );
  return { result, output };
}

Deno.test("runUdpSession() sends lines as datagrams until the quit line", async (t) => {
  await using w = await watchedServer({ hostname: "127.0.0.1", port: 0 });
  const options = { hostname: "127.0.0.1", port: w.server.addrs[0]!.port };

  await t.step("line rules and BYE", async () => {
    const before = w.echoes.length;
    const { result, output } = await session(
      options,
      "one\r\ntwo\n\n  BYE \r\nnot sent\n",
    );
    assertEquals(output, "one\ntwo\n\n  BYE \n");
    assertEquals(result, {
      sent: 4,
      echoed: 4,
      lost: 0,
      retries: 0,
      outputClosed: false,
    });
    // Each line is one datagram, without its newline.
    assertEquals(w.echoes.slice(before).map((e) => e.size), [3, 3, 0, 6]);
  });

  await t.step(
    "lines split across chunks, last one without newline",
    async () => {
      const { result, output } = await session(
        options,
        ["sp", "lit\r", "\nlast\r"].map(bytes),
      );
      assertEquals(output, "split\nlast\n");
      assertEquals(result.echoed, 2);
    },
  );

  await t.step("quitWord null sends everything", async () => {
    const { output } = await session(
      { ...options, quitWord: null },
      "BYE\nmore",
    );
    assertEquals(output, "BYE\nmore\n");
  });

  await t.step(
    "an output that stops taking data ends the session",
    async () => {
      const failure = new Error("pipe closed");
      const result = await runUdpSession(
        options,
        ReadableStream.from([bytes("one\ntwo\n")]),
        new WritableStream({
          write: () => Promise.reject(failure),
        }),
      );
      assertEquals(result, {
        sent: 1,
        echoed: 1,
        lost: 0,
        retries: 0,
        outputClosed: true,
        outputError: failure,
      });
    },
  );

  await t.step(
    "a line longer than maxDatagramSize fails before it is sent",
    async () => {
      const before = w.echoes.length;
      let output = "";
      await assertRejects(() =>
        runUdpSession(
          { ...options, maxDatagramSize: 8 },
          ReadableStream.from([bytes("short\r\n12345678\n123456789\nnext\n")]),
          new WritableStream({ write: (c) => void (output += text(c)) }),
        )
      ).then((error) =>
        assert(error instanceof RangeError && /Line 3/.test(error.message))
      );
      assertEquals(output, "short\n12345678\n");
      assertEquals(w.echoes.length - before, 2);
    },
  );
});

Deno.test("runUdpSession() counts lost lines and retries, and goes on", async () => {
  let seen = 0;
  await using server = await fakeServer((raw, data, from) => {
    // Datagram 1 ("a", first try) is lost, then "a" is echoed on its
    // retry; "b" is never echoed; "c" is.
    seen++;
    if (seen === 1 || text(data) === "b") return;
    void raw.send(data, { hostname: from.address, port: from.port });
  });
  const lost: UdpLostLine[] = [];
  const { result, output } = await session(
    {
      hostname: "127.0.0.1",
      port: server.addr.port,
      timeout: 100,
      retries: 1,
      onLost: (info) => lost.push(info),
    },
    "a\nb\nc\n",
  );
  assertEquals(output, "a\nc\n");
  assertEquals(result, {
    sent: 3,
    echoed: 2,
    lost: 1,
    retries: 2,
    outputClosed: false,
  });
  assertEquals(lost, [{ line: 2, size: 1, attempts: 2 }]);
});

Deno.test("runUdpSession() stops at once when aborted", async () => {
  await using server = await fakeServer(() => {});
  const controller = new AbortController();
  const reason = new Error("stop");
  let cancelled = false;
  const input = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(bytes("waits\nnever read\n")),
    cancel: () => void (cancelled = true),
  });
  const running = assertRejects(() =>
    runUdpSession(
      {
        hostname: "127.0.0.1",
        port: server.addr.port,
        timeout: 10_000,
        signal: controller.signal,
      },
      input,
      new WritableStream(),
    )
  ).then((error) => assert(error === reason));
  await server.receivedCount(1);
  controller.abort(reason);
  await running;
  assert(cancelled);
  assertEquals(server.received.length, 1);
});
