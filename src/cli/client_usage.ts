// Copyright the deno-echo authors. MIT license.

// `echo-client --help` and `--version`.

import { DEFAULT_PORT } from "../net/defaults.ts";
import { DEFAULT_QUIT_WORD } from "../echo/quit_word.ts";
import {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_READ_TIMEOUT,
  DEFAULT_UDP_TIMEOUT,
} from "./client_args.ts";
import { DEFAULT_MAX_UNECHOED } from "../client/session_options.ts";
import { DEFAULT_UDP_RETRIES } from "../udp/udp_client.ts";
import {
  ClientExitCode,
  type ClientExitName,
  EXIT_SUMMARIES,
} from "./client_exit.ts";
import { VERSION } from "./cli.ts";

/** How much may go unechoed before stdin is no longer read, in MiB. */
const WINDOW_MIB = DEFAULT_MAX_UNECHOED / 1024 / 1024;

/** `echo-client --version`. */
export const CLIENT_VERSION_TEXT = `echo-client ${VERSION}\n`;

/** The "Exit codes:" paragraph, from the exit code table, wrapped. */
function exitCodesText(width = 74): string {
  // A code stays on the line of the word after it.
  const items = (Object.keys(EXIT_SUMMARIES) as ClientExitName[])
    .filter((name) => EXIT_SUMMARIES[name] !== null)
    .map((name) => `${ClientExitCode[name]}\u00a0${EXIT_SUMMARIES[name]}`);
  const words = `Exit codes: ${items.join(", ")}.`.split(" ");
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join("\n").replaceAll("\u00a0", " ") + "\n";
}

/** `echo-client --help`. */
export const CLIENT_USAGE = `Usage: echo-client [OPTIONS] [HOST [PORT]]
       echo-client [OPTIONS] tls://HOST[:PORT] | udp://HOST[:PORT] | unix:PATH
       echo-client bench [OPTIONS] [HOST[:PORT] | HOST PORT]
       echo-client ping [OPTIONS] HOST[:PORT] | URL

Talks to a TCP echo server. On a terminal: type a line (Left/Right, Home/End,
Up/Down through the lines typed before), see its echo; BYE ends the session,
Ctrl-C too. On a terminal the server's control characters are shown, not
obeyed (^[ for ESC, ^G for BEL, <U+009B> for C1 controls), unless --raw. With
piped input: sends every line, writes the echoes to stdout byte for byte,
and exits once everything is echoed (stdin is not read while ${WINDOW_MIB} MiB are
sent and not yet echoed).

HOST is a name, an IPv4 address or an IPv6 address (::1), optionally with a
port: HOST:PORT or [IPV6]:PORT (default: localhost; PORT default: ${DEFAULT_PORT}).
A URL picks the transport: tls:// (or --tls), udp:// (each line one
datagram, retried when its echo does not come back), unix:PATH.

Options:
  -p, --port PORT       Port to connect to (default: ${DEFAULT_PORT})
  -4                    Use IPv4 addresses only
  -6                    Use IPv6 addresses only
  -t, --timeout TIME    Give up connecting after TIME (500ms, 5s, 2m; 0 = no
                        limit; default: ${DEFAULT_CONNECT_TIMEOUT / 1000}s)
      --read-timeout TIME
                        Give up when echoes are due and nothing has arrived
                        for TIME (0 = wait forever; default: ${
  DEFAULT_READ_TIMEOUT / 1000
}s). udp://:
                        wait TIME for each echo, ${
  DEFAULT_UDP_RETRIES + 1
} tries (default: ${DEFAULT_UDP_TIMEOUT / 1000}s)
      --verify          Check every echoed byte against what was sent; on a
                        difference, print the lines that matched and say
                        which line and characters differ
      --tls             Connect with TLS (as tls://HOST:PORT does)
      --ca FILE         Trust this CA certificate (PEM) too; repeatable
      --insecure        Do not check the server's name against its
                        certificate (the chain is still checked)
      --cert FILE       Client certificate chain (PEM), for servers that ask
      --key FILE        Its private key (PEM)
      --proxy URL       Connect through a proxy: http://[USER:PASS@]HOST[:PORT]
                        (HTTP CONNECT, basic auth; port default 3128),
                        socks5://... (SOCKS5, names resolved here) or
                        socks5h://... (names resolved by the proxy; port
                        default 1080); TCP and TLS only
      --source ADDR[:PORT]
                        Connect (udp://: send) from this local address and
                        port ([::1]:40000 for IPv6); ADDR must be this host's.
                        TLS with --source (or with --cert through --proxy)
                        runs in node:tls, where --ca replaces the system's
                        CAs instead of adding to them
      --proxy-header v1|v2
                        Begin with a PROXY protocol header (HAProxy's, text
                        or binary) carrying this connection's addresses, as
                        a load balancer would; TCP and TLS (before the
                        handshake)
      --proxy-source ADDR:PORT
                        The client address the PROXY header states instead
      --raw             Send stdin's bytes untouched and write the echo as it
                        comes (binary-safe, like nc); no quit word
  -i, --interactive     Prompt and wait for each echo even when stdin is not
                        a terminal
      --quit-word WORD  Stop after sending a line that says WORD (default: ${DEFAULT_QUIT_WORD})
      --no-quit         Send every line, whatever it says
  -q, --quiet           No "Connected to" line on a terminal
  -h, --help            Show this help and exit
  -V, --version         Show the version and exit

echo-client bench loads a server from many connections and measures round
trips a second, throughput, latency and fairness ('echo-client bench --help').
echo-client ping sends a probe a second and shows each echo's round trip,
lost and wrong echoes, reconnections, and a summary ('echo-client ping
--help').

${exitCodesText()}`;
