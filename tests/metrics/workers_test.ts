// Copyright the deno-echo authors. MIT license.

// With workers, the isolate that called serve() sees every worker's events:
// its metrics are the whole server's. Workers need Linux and --unstable-net
// (the test task has it).

import { assert, assertEquals } from "@std/assert";
import { connect, type EchoClient, serve } from "../../mod.ts";
import { serveMetrics } from "../../src/metrics/metrics_server.ts";
import { ServerMetrics } from "../../src/metrics/server_metrics.ts";
import { EventCounts } from "./_traffic.ts";
import { sample, samples } from "./_scrape.ts";

const unstableNet = typeof Deno.listenDatagram === "function";

async function scrape(addr: Deno.NetAddr): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${addr.port}/metrics`);
  return samples(await response.text());
}

Deno.test({
  name: "with workers the metrics count every isolate's connections",
  ignore: Deno.build.os !== "linux" || !unstableNet,
  fn: async () => {
    const clients = 40;
    const metrics = new ServerMetrics({ version: "1" });
    const counts = new EventCounts();
    const workers = new Set<number>();
    await using server = await serve({
      hostname: "127.0.0.1",
      port: 0,
      workers: 2,
      onEvent: (event) => {
        metrics.observe(event);
        counts.hook(event);
        if (event.type === "open") workers.add(event.conn.worker);
      },
    });
    metrics.attach(server);
    await using scraper = serveMetrics({ port: 0, metrics });
    const tcp = { listener: server.listeners[0]!.url, transport: "tcp" };
    const open: EchoClient[] = [];
    let sent = 0;
    try {
      for (let i = 0; i < clients; i++) {
        const client = await connect(server.addrs[0]!);
        open.push(client);
        assertEquals(await client.send(`line ${i}`), `line ${i}`);
        sent += `line ${i}\n`.length;
      }
      await counts.until("open", clients);
      const during = await scrape(scraper.addr);
      assertEquals(sample(during, "echo_connections_open", tcp), clients);
    } finally {
      for (const client of open) client.close();
    }
    await counts.until("close", clients);
    // The kernel spreads connections over both isolates' listeners: all 40
    // on one would happen about once in 5e11 runs.
    assert(workers.size === 2, `only worker(s) ${[...workers]} served`);
    const after = await scrape(scraper.addr);
    assertEquals(
      sample(after, "echo_connections_accepted_total", tcp),
      clients,
    );
    assertEquals(sample(after, "echo_connections_open", tcp), 0);
    assertEquals(
      sample(after, "echo_connections_closed_total", { ...tcp, reason: "eof" }),
      clients,
    );
    assertEquals(sample(after, "echo_bytes_echoed_total", tcp), sent);
  },
});
