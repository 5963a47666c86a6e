// Copyright the deno-echo authors. MIT license.

// `echo-client bench --help` and `echo-client bench report --help`.

import { DEFAULT_PORT } from "../net/defaults.ts";
import { BENCH_DEFAULTS } from "../bench/options.ts";

/**
 * With --duration the program warms the server up first; runBench() does not.
 */
export const DEFAULT_WARMUP = 1000;

const seconds = (ms: number): string => `${ms / 1000}s`;

/** `echo-client bench --help`. */
export const BENCH_USAGE =
  `Usage: echo-client bench [OPTIONS] [HOST[:PORT] | HOST PORT]
       echo-client bench [OPTIONS] tls://HOST[:PORT] | unix:PATH | udp://HOST[:PORT]
       echo-client bench report [OPTIONS] RUN.json... -o FILE.html

Loads an echo server from many connections and measures it: round trips
a second, bytes a second each way, latency percentiles, the run second by
second, and how evenly the connections were served. Every echoed byte is
checked. HOST and PORT as for echo-client (default: localhost, port ${DEFAULT_PORT});
a URL picks the transport: tls://, unix:PATH, or udp:// (each message one
datagram, sent once: an echo not back within --loss-timeout is lost).

Options:
  -c, --connections N   Connections (UDP: sockets) to open (default: ${BENCH_DEFAULTS.connections})
  -s, --size SIZE       Bytes per message: 64, 1K, 64K, 1M (default: ${BENCH_DEFAULTS.size})
  -d, --duration TIME   Measure for TIME: 500ms, 5s, 2m, or seconds (default: ${
    seconds(BENCH_DEFAULTS.duration)
  })
  -n, --messages N      Measure N round trips in all instead, then stop
      --pipeline N      Messages in flight on each connection (default: ${BENCH_DEFAULTS.pipeline});
                        with --rate, the most allowed in flight (default: ${BENCH_DEFAULTS.maxInFlight})
  -r, --rate N          Open loop: send N messages a second in all, each on
                        time whether or not earlier echoes are back; latency
                        counts from when each message was due
      --warmup TIME     Load the server for TIME before measuring (default:
                        ${
    seconds(DEFAULT_WARMUP)
  } with --duration, 0 with --messages)
      --json            Print one JSON object instead of the report, with the
                        run second by second
      --report FILE     Also write an HTML report (charts) to FILE
  -4                    Use IPv4 addresses only
  -6                    Use IPv6 addresses only
  -t, --timeout TIME    Give up connecting after TIME (default: ${
    seconds(BENCH_DEFAULTS.connectTimeout)
  })
      --read-timeout TIME
                        Give up on a connection when echoes are due and none
                        has come for TIME (0 = wait forever; default: ${
    seconds(BENCH_DEFAULTS.readTimeout)
  })
      --loss-timeout TIME
                        udp://: count a datagram lost when its echo is not
                        back after TIME (default: ${
    seconds(BENCH_DEFAULTS.lossTimeout)
  })
      --ca FILE         tls://: trust this CA certificate (PEM) too; repeatable
      --insecure        tls://: do not check the server's name against its
                        certificate (the chain is still checked)
      --cert FILE       tls://: client certificate chain (PEM), for servers
                        that ask
      --key FILE        tls://: its private key (PEM)
      --proxy URL       tcp and tls://: open every connection through an HTTP
                        CONNECT or SOCKS5 proxy (http://, socks5://,
                        socks5h://; USER:PASS@ for credentials)
      --source ADDR[:PORT]
                        Connect (udp://: send) from this local address; a
                        port allows one connection only (-c 1)
  -h, --help            Show this help and exit

A live progress line goes to stderr once a second when it is a terminal:
the phase (warm-up, measuring, draining), round trips a second, p99.

Exit codes: 0 every echo correct, 1 unexpected failure, 2 bad command line,
3 refused, 4 unknown host, 5 unreachable, 6 timed out (connecting, or
echoes stopped for --read-timeout), 7 a connection was reset, 8 the server
closed a connection early, 9 an echoed byte differed from the byte sent,
10 --rate: a connection had --pipeline messages unanswered when one more
was due (the server fell behind the rate), 11 udp://: datagrams lost,
12 TLS handshake failed.
`;

/** `echo-client bench report --help`. */
export const BENCH_REPORT_USAGE =
  `Usage: echo-client bench report [OPTIONS] RUN.json... -o FILE.html

Draws saved runs of 'echo-client bench --json' into one HTML file, each
run in its own colour: the latency distribution, round trips and p99 second
by second, and each connection's share of the work. The file is
self-contained (no network, no scripts) and follows the light or dark
setting of the browser.

Options:
  -o, --output FILE     Write the report to FILE (required)
      --title TEXT      The report's title (default: from the runs)
  -h, --help            Show this help and exit

Each run is labelled with its file name, without ".json".

Exit codes: 0 written, 1 the report could not be written, 2 bad command
line (or a file that is not a saved run).
`;
