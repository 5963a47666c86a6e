// Copyright the deno-echo authors. MIT license.

// The first and last lines of a run: where the server listens (stdout, and
// the log in JSON), and how the run ended.

import { writeOutput } from "./cli.ts";
import { plural } from "./plural.ts";
import { log } from "./server_log.ts";
import { logFormat } from "./server_log_output.ts";
import { formatAddress } from "../net/address.ts";
import type { EchoServer, ShutdownResult } from "../server/types.ts";
import type { UdpEchoStats } from "../udp/udp_server.ts";

/**
 * Says the server is ready: a line about the workers, if any share a port,
 * the metrics URL if there is one, then one `Listening on` line per
 * listener on stdout (and in the JSON log, a `listening` entry each).
 * A closed stdout is ignored.
 *
 * @param server The running server.
 * @param workers How many isolates accept.
 * @param metrics Where `--metrics` serves, if it does.
 * @throws {OutputError} If stdout failed otherwise (a full disk).
 */
export function announceListening(
  server: EchoServer,
  workers: number,
  metrics?: Deno.NetAddr,
): void {
  const shared = server.listeners.some(({ transport }) =>
    transport === "tcp" || transport === "tls"
  );
  if (workers > 1 && shared) {
    log(
      `${workers} workers accept on each TCP and TLS listener (one isolate each)`,
      "workers",
      { workers },
    );
  }
  const json = logFormat() === "json";
  if (metrics !== undefined) {
    const url = `http://${formatAddress(metrics)}/metrics`;
    writeOutput(`Metrics on ${url}\n`, "the metrics address");
    if (json) log(`Metrics on ${url}`, "metrics", { url });
  }
  for (const { transport, addr, url } of server.listeners) {
    const shown = transport === "tcp" ? formatAddress(addr) : url;
    writeOutput(`Listening on ${shown}\n`, "the listening address");
    if (json) {
      log(`Listening on ${shown}`, "listening", { listener: url, transport });
    }
  }
}

/**
 * The last lines of a run: what each `udp://` listener did, how the drain
 * went, and `stopped`.
 *
 * @param udpStats By listener URL.
 * @param drain What `shutdown()` said, if a drain was started.
 */
export function logStopped(
  udpStats: ReadonlyMap<string, UdpEchoStats>,
  drain: ShutdownResult | undefined,
): void {
  for (const [url, stats] of udpStats) {
    const dropped = Object.entries(stats.dropped).filter(([, n]) => n > 0);
    const drops = dropped.map(([why, n]) => `${n} ${why}`).join(", ");
    log(
      `${url}: ${plural(stats.echoedDatagrams, "datagram")} echoed; dropped: ${
        drops || "none"
      }`,
      "udp-summary",
      {
        listener: url,
        datagrams: stats.echoedDatagrams,
        bytes: stats.echoedBytes,
        ...Object.fromEntries(dropped.map(([why, n]) => [`dropped_${why}`, n])),
      },
    );
  }
  if (drain !== undefined) {
    log(
      drain.drained
        ? "drained: every connection ended by itself"
        : `not drained: ${plural(drain.closed, "connection")} closed before ${
          drain.closed === 1 ? "it" : "they"
        } ended`,
      "drain",
      { drained: drain.drained, closed: drain.closed },
      drain.drained ? "info" : "warn",
    );
  }
  log("stopped", "stopped");
}
