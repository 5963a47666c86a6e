// Copyright the deno-echo authors. MIT license.

// What counting costs per server event, next to a hook that does nothing.
// Run: deno bench tests/metrics/metrics_bench.ts

import type { ServerEvent } from "../../mod.ts";
import { ServerMetrics } from "../../src/metrics/server_metrics.ts";
import { openAndClose, reject } from "./_scrape.ts";

const LISTENERS = ["tcp://[::]:2000", "tls://[::]:2443", "unix:/run/echo.sock"];

// A mix as a server sees it: opens and closes of several reasons on three
// listeners, and a few rejects.
const events: ServerEvent[] = [];
for (let i = 0; i < 300; i++) {
  const listener = LISTENERS[i % LISTENERS.length]!;
  events.push(...openAndClose(listener, i * 7, i % 5 === 0 ? "quit" : "eof"));
  if (i % 10 === 0) events.push(reject(listener, "max-connections"));
}

let at = 0;
const next = (): ServerEvent => events[at++ % events.length]!;

const metrics = new ServerMetrics({ version: "1" });
let sink = 0;
const noop = (event: ServerEvent): void => {
  if (event.type === "close") sink += event.result.bytes;
};

Deno.bench({
  name: "a hook that does nothing, per event",
  group: "per event",
  baseline: true,
  fn: () => noop(next()),
});

Deno.bench({
  name: "ServerMetrics.observe(), per event",
  group: "per event",
  fn: () => metrics.observe(next()),
});

Deno.bench({
  name: "ServerMetrics.expose(), one scrape of 3 listeners",
  fn: () => {
    sink += metrics.expose().length;
  },
});
