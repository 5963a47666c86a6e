// Copyright the deno-echo authors. MIT license.

// A real server, real clients, a real scrape over HTTP: the figures match
// the traffic exactly.

import { assertEquals } from "@std/assert";
import { runTraffic } from "./_traffic.ts";
import { sample, samples } from "./_scrape.ts";

Deno.test("the scrape after real traffic counts it exactly", async () => {
  const traffic = await runTraffic();
  const s = samples(traffic.text);
  const tcp = { listener: traffic.tcp, transport: "tcp" };
  assertEquals(sample(s, "echo_connections_accepted_total", tcp), 5);
  assertEquals(sample(s, "echo_connections_open", tcp), 0);
  const closed = (reason: string): number =>
    sample(s, "echo_connections_closed_total", { ...tcp, reason });
  assertEquals(closed("eof"), 3);
  assertEquals(closed("quit"), 2);
  for (const reason of ["idle", "limit", "aborted", "error"]) {
    assertEquals(closed(reason), 0, reason);
  }
  const rejected = (reason: string): number =>
    sample(s, "echo_connections_rejected_total", { ...tcp, reason });
  assertEquals(rejected("max-connections"), 2);
  assertEquals(rejected("max-per-ip"), 0);
  assertEquals(traffic.eofBytes, 6000);
  assertEquals(traffic.quitBytes, 2 * "client 0\nBYE\n".length);
  assertEquals(
    sample(s, "echo_bytes_echoed_total", tcp),
    traffic.eofBytes + traffic.quitBytes,
  );
  const udp = { listener: traffic.udp };
  assertEquals(sample(s, "echo_udp_datagrams_echoed_total", udp), 1);
  assertEquals(
    sample(s, "echo_bytes_echoed_total", { ...udp, transport: "udp" }),
    10,
  );
  assertEquals(
    sample(s, "echo_udp_datagrams_dropped_total", {
      ...udp,
      reason: "oversize",
    }),
    1,
  );
  assertEquals(
    sample(s, "echo_udp_datagrams_dropped_total", {
      ...udp,
      reason: "rate-limit",
    }),
    0,
  );
  assertEquals(sample(s, "echo_accept_errors_total"), 0);
  assertEquals(sample(s, "echo_build_info", { version: "9.8.7" }), 1);
  assertEquals(sample(s, "echo_log_lines_dropped_total"), 0);
  if (traffic.tls !== undefined) {
    const tls = { listener: traffic.tls, transport: "tls" };
    assertEquals(sample(s, "echo_connections_accepted_total", tls), 1);
    assertEquals(sample(s, "echo_connections_open", tls), 0);
    assertEquals(
      sample(s, "echo_connections_closed_total", { ...tls, reason: "eof" }),
      1,
    );
    assertEquals(sample(s, "echo_bytes_echoed_total", tls), 6);
    assertEquals(
      sample(s, "echo_tls_handshake_failures_total", { listener: traffic.tls }),
      1,
    );
  }
});
