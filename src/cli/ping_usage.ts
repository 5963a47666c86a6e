// Copyright the deno-echo authors. MIT license.

// `echo-client ping --help`.

import { PING_DEFAULTS } from "../client/ping.ts";
import { MIN_PING_SIZE } from "../client/ping_payload.ts";
import { STALL_PROBES } from "../client/ping_stream.ts";
import { DEFAULT_PORT } from "../net/defaults.ts";
import { ClientExitCode } from "./client_exit.ts";

const seconds = (ms: number): string => `${ms / 1000}s`;

/** `echo-client ping --help`. */
export const PING_USAGE =
  `Usage: echo-client ping [OPTIONS] HOST[:PORT] | HOST PORT
       echo-client ping [OPTIONS] tls://HOST[:PORT] | udp://HOST[:PORT]
       echo-client ping [OPTIONS] unix:PATH

Checks a path to an echo server the way ping checks a host: sends a probe
every second, checks that each echo comes back byte for byte, and prints
its round-trip time. Over one connection (lost and made again with back-off,
and reported: what to watch across a failover), a new connection per probe
(--new-connection), or UDP. Ctrl-C (or -c) ends it with a summary.
PORT default: ${DEFAULT_PORT}. The first connection must work; after that,
failures are counted and the run goes on.

Options:
  -c, --count N         Send N probes, then stop (default: until Ctrl-C)
  -i, --interval TIME   Time between probes (default: ${
    seconds(PING_DEFAULTS.interval)
  })
  -s, --size BYTES      Bytes per probe, ${MIN_PING_SIZE} or more (default: ${PING_DEFAULTS.size}); each
                        carries its sequence number and ends in a newline
  -W, --wait TIME       Wait this long for each echo (default: ${
    seconds(PING_DEFAULTS.wait)
  }); a later
                        echo counts as lost and is shown as late
  -t, --timeout TIME    Give up on a connection attempt after TIME, proxy
                        and TLS handshakes included (default: ${
    seconds(PING_DEFAULTS.connectTimeout)
  })
      --new-connection  A new connection for each probe; shows connect,
                        proxy, TLS handshake and echo times apart
      --json            One JSON object a line: each probe, each change of
                        the connection, and the summary
  -q, --quiet           Print only the summary
  -p, --port PORT       Port to connect to
  -4, -6                Use IPv4 or IPv6 addresses only
      --tls, --ca FILE, --insecure, --cert FILE, --key FILE
                        TLS, as for echo-client
      --proxy URL       Go through an HTTP CONNECT or SOCKS5 proxy
                        (http://, socks5://, socks5h://; USER:PASS@ for
                        credentials); TCP and TLS only
      --source ADDR[:PORT]
                        Connect (udp://: send) from this local address and
                        port; with a port, a connection made again may have
                        to wait for the old one's TIME_WAIT to end
      --proxy-header v1|v2, --proxy-source ADDR:PORT
                        Begin each connection with a PROXY protocol header,
                        as for echo-client
  -h, --help            Show this help and exit

Over one connection, ${STALL_PROBES} probes in a row without an echo count as a dead
connection: it is closed and made again. A probe still in flight at Ctrl-C
is not counted.

Exit status: ${ClientExitCode.Ok} when every probe was echoed intact, ${ClientExitCode.PingLost} when some or all got
no echo, ${ClientExitCode.Mismatch} when an echo differed from its probe; the echo-client codes
(echo-client --help) when the first connection fails, ${ClientExitCode.Usage} for a bad command
line.
`;
