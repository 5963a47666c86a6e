// Copyright the deno-echo authors. MIT license.

// ServerMetrics fed synthetic server events: exact counts, bounded labels.

import { assertEquals, assertThrows } from "@std/assert";
import type { ListenerInfo, ServerEvent, UdpEchoStats } from "../../mod.ts";
import { ServerMetrics } from "../../src/metrics/server_metrics.ts";
import { conn, openAndClose, reject, sample, samples } from "./_scrape.ts";

const TCP = "tcp://127.0.0.1:2000";
const TLS = "tls://[::1]:2443";
const UNIX = "unix:/run/echo.sock";
const UDP = "udp://127.0.0.1:2000";

function listener(
  url: string,
  transport: ListenerInfo["transport"],
): ListenerInfo {
  return {
    url,
    transport,
    addr: { transport: "tcp", hostname: "127.0.0.1", port: 2000 },
  };
}

function udpStats(echoed: number, bytes: number): UdpEchoStats {
  return {
    echoedDatagrams: echoed,
    echoedBytes: bytes,
    dropped: {
      "privileged-port": 1,
      "reflector-port": 2,
      oversize: 3,
      "rate-limit": 4,
      overload: 5,
    },
    sendErrors: 0,
  };
}

Deno.test("ServerMetrics counts a sequence of events exactly", () => {
  const metrics = new ServerMetrics({ version: "1.2.3", memory: false });
  const events: ServerEvent[] = [
    ...openAndClose(TCP, 100, "eof"),
    ...openAndClose(TCP, 20, "quit"),
    ...openAndClose(TCP, 3, "eof"),
    ...openAndClose(TLS, 4000, "idle"),
    ...openAndClose(UNIX, 5, "error"),
    { type: "open", conn: conn(TCP) }, // still open
    { type: "open", conn: conn(TLS) }, // still open
    reject(TCP, "max-connections"),
    reject(TCP, "max-connections"),
    reject(TLS, "max-per-ip"),
    { type: "handshake-error", conn: conn(TLS), error: new Error("bad") },
    { type: "handshake-error", conn: conn(TLS), error: new Error("slow") },
    { type: "proxy-error", conn: conn(TCP), error: new Error("no header") },
    { type: "accept-error", error: new Error("reset") },
    { type: "stale-socket", path: "/run/echo.sock" },
  ];
  for (const event of events) metrics.observe(event);
  const s = samples(metrics.expose());
  const tcp = { listener: TCP, transport: "tcp" };
  const tls = { listener: TLS, transport: "tls" };
  const unix = { listener: UNIX, transport: "unix" };
  assertEquals(sample(s, "echo_connections_accepted_total", tcp), 4);
  assertEquals(sample(s, "echo_connections_accepted_total", tls), 2);
  assertEquals(sample(s, "echo_connections_accepted_total", unix), 1);
  assertEquals(sample(s, "echo_connections_open", tcp), 1);
  assertEquals(sample(s, "echo_connections_open", tls), 1);
  assertEquals(sample(s, "echo_connections_open", unix), 0);
  const closed = (labels: object, reason: string): number =>
    sample(s, "echo_connections_closed_total", { ...labels, reason });
  assertEquals(closed(tcp, "eof"), 2);
  assertEquals(closed(tcp, "quit"), 1);
  assertEquals(closed(tcp, "idle"), 0);
  assertEquals(closed(tls, "idle"), 1);
  assertEquals(closed(unix, "error"), 1);
  const rejected = (labels: object, reason: string): number =>
    sample(s, "echo_connections_rejected_total", { ...labels, reason });
  assertEquals(rejected(tcp, "max-connections"), 2);
  assertEquals(rejected(tcp, "max-per-ip"), 0);
  assertEquals(rejected(tls, "max-per-ip"), 1);
  assertEquals(sample(s, "echo_bytes_echoed_total", tcp), 123);
  assertEquals(sample(s, "echo_bytes_echoed_total", tls), 4000);
  assertEquals(sample(s, "echo_bytes_echoed_total", unix), 5);
  assertEquals(
    sample(s, "echo_tls_handshake_failures_total", { listener: TLS }),
    2,
  );
  // Only tls:// listeners have a handshake count.
  assertEquals(
    s.has(`echo_tls_handshake_failures_total{listener="${TCP}"}`),
    false,
  );
  assertEquals(
    sample(s, "echo_proxy_header_failures_total", { listener: TCP }),
    1,
  );
  assertEquals(sample(s, "echo_accept_errors_total"), 1);
  assertEquals(sample(s, "echo_build_info", { version: "1.2.3" }), 1);
  assertEquals(s.has("process_resident_memory_bytes"), false);
});

Deno.test("ServerMetrics.attach() shows every listener at 0 and reads udpStats at each scrape", () => {
  const metrics = new ServerMetrics({ version: "1.0.0" });
  let stats = udpStats(7, 700);
  const server = {
    listeners: [
      listener(TCP, "tcp"),
      listener(TLS, "tls"),
      listener(UDP, "udp"),
    ],
    get udpStats(): ReadonlyMap<string, UdpEchoStats> {
      return new Map([[UDP, stats]]);
    },
  };
  metrics.attach(server);
  let s = samples(metrics.expose());
  const tcp = { listener: TCP, transport: "tcp" };
  assertEquals(sample(s, "echo_connections_accepted_total", tcp), 0);
  assertEquals(
    sample(s, "echo_connections_closed_total", { ...tcp, reason: "aborted" }),
    0,
  );
  assertEquals(
    sample(s, "echo_tls_handshake_failures_total", { listener: TLS }),
    0,
  );
  assertEquals(
    sample(s, "echo_udp_datagrams_echoed_total", { listener: UDP }),
    7,
  );
  assertEquals(
    sample(s, "echo_bytes_echoed_total", { listener: UDP, transport: "udp" }),
    700,
  );
  // UDP listeners have no connections.
  assertEquals(
    s.has(`echo_connections_accepted_total{listener="${UDP}",transport="udp"}`),
    false,
  );
  const dropped = (reason: string): number =>
    sample(s, "echo_udp_datagrams_dropped_total", { listener: UDP, reason });
  assertEquals(
    ["privileged-port", "reflector-port", "oversize", "rate-limit", "overload"]
      .map(dropped),
    [1, 2, 3, 4, 5],
  );
  stats = udpStats(9, 900);
  s = samples(metrics.expose());
  assertEquals(
    sample(s, "echo_udp_datagrams_echoed_total", { listener: UDP }),
    9,
  );
  // udp-drop events are not counted twice: the figures are udpStats'.
  metrics.observe({
    type: "udp-drop",
    drop: {
      reason: "oversize",
      size: 9000,
      remoteAddr: { transport: "udp", hostname: "192.0.2.1", port: 4000 },
      localAddr: { transport: "udp", hostname: "127.0.0.1", port: 2000 },
    },
  });
  assertEquals(dropped("oversize"), 3);
  s = samples(metrics.expose());
  assertEquals(dropped("oversize"), 3);
});

Deno.test("ServerMetrics reads the log's drop count and knows when the process started", () => {
  let drops = 0;
  const metrics = new ServerMetrics({
    version: "0.0.1",
    logLinesDropped: () => drops,
    startTime: 1700000000.5,
  });
  drops = 12;
  const s = samples(metrics.expose());
  assertEquals(sample(s, "echo_log_lines_dropped_total"), 12);
  assertEquals(sample(s, "process_start_time_seconds"), 1700000000.5);
  const rss = sample(s, "process_resident_memory_bytes");
  assertEquals(Number.isInteger(rss) && rss > 0, true);
  // Without a count from the program, 0.
  const plain = samples(new ServerMetrics({ version: "0" }).expose());
  assertEquals(sample(plain, "echo_log_lines_dropped_total"), 0);
  const started = sample(plain, "process_start_time_seconds");
  assertEquals(Math.abs(started - performance.timeOrigin / 1000) < 1e-3, true);
});

Deno.test("ServerMetrics bounds its listeners: the rest count as one", () => {
  const metrics = new ServerMetrics({ version: "1", maxListeners: 2 });
  for (let i = 0; i < 50; i++) {
    for (const event of openAndClose(`tcp://10.0.0.${i}:1`, 1, "eof")) {
      metrics.observe(event);
    }
  }
  // A listener of no stream transport also counts as "other".
  for (const event of openAndClose("sctp://x", 1, "eof")) {
    metrics.observe(event);
  }
  const s = samples(metrics.expose());
  const accepted = [...s.keys()].filter((k) =>
    k.startsWith("echo_connections_accepted_total")
  );
  assertEquals(accepted.length, 3);
  const other = { listener: "other", transport: "other" };
  assertEquals(sample(s, "echo_connections_accepted_total", other), 49);
  assertEquals(sample(s, "echo_bytes_echoed_total", other), 49);
  assertEquals(
    sample(s, "echo_connections_accepted_total", {
      listener: "tcp://10.0.0.0:1",
      transport: "tcp",
    }),
    1,
  );
});

Deno.test("ServerMetrics escapes what it is told", () => {
  const odd = 'unix:/tmp/a"b\\c\nd.sock';
  const metrics = new ServerMetrics({ version: 'v"1\\\n', memory: false });
  for (const event of openAndClose(odd, 2, "eof")) metrics.observe(event);
  const text = metrics.expose();
  assertEquals(
    text.includes(
      'echo_connections_accepted_total{listener="unix:/tmp/a\\"b\\\\c\\nd.sock",transport="unix"} 1\n',
    ),
    true,
    text,
  );
  assertEquals(
    text.includes('echo_build_info{version="v\\"1\\\\\\n"} 1\n'),
    true,
  );
});

Deno.test("ServerMetrics.observe() works detached, as the hook itself", () => {
  const metrics = new ServerMetrics({ version: "1" });
  const onEvent: (event: ServerEvent) => void = metrics.observe;
  for (const event of openAndClose(TCP, 1, "eof")) onEvent(event);
  const s = samples(metrics.expose());
  assertEquals(
    sample(s, "echo_connections_accepted_total", {
      listener: TCP,
      transport: "tcp",
    }),
    1,
  );
});

Deno.test("ServerMetrics rejects a listener limit that is not a positive integer", () => {
  for (const maxListeners of [0, -2, 0.5]) {
    assertThrows(
      () => new ServerMetrics({ version: "1", maxListeners }),
      RangeError,
      `Invalid listener limit "${maxListeners}"`,
    );
  }
});
