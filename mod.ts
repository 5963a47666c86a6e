// Copyright the deno-echo authors. MIT license.

/**
 * A TCP echo server, client and the stream-based echo core they share.
 *
 * Every byte a client sends comes back unchanged; a line that says the quit
 * word (`BYE` by default) is echoed and then ends the connection. Servers
 * listen on every address a hostname names (`localhost` is both loopbacks,
 * `::` every interface on both stacks) and report IPv4 peers as plain IPv4.
 *
 * @example Start a server in a test and dial it
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * {
 *   await using client = await connect(server.addrs[0]!);
 *   assertEquals(await client.send("hello"), "hello");
 * }
 * // Graceful: stop accepting, wait for live connections (none left here).
 * await server.shutdown();
 * ```
 *
 * @module
 */

export {
  echo,
  type EchoEndReason,
  type EchoOptions,
  type EchoResult,
  type EchoStream,
  MAX_BUFFER_SIZE,
  MIN_BUFFER_SIZE,
} from "./src/echo/echo.ts";
export {
  DEFAULT_QUIT_WORD,
  QuitWordScanner,
  validateQuitWord,
} from "./src/echo/quit_word.ts";
export type {
  ConnectionInfo,
  ConnectionResult,
  EchoServer,
  ListenerInfo,
  RejectReason,
  ServeOptions,
  ServerEvent,
  ServeTlsOptions,
  ShutdownResult,
} from "./src/server/types.ts";
export {
  DEFAULT_DRAIN_TIMEOUT,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_PER_IP,
} from "./src/server/options.ts";
export { DEFAULT_HOSTNAME, DEFAULT_PORT } from "./src/net/defaults.ts";
export { serve } from "./src/workers/serve.ts";
export {
  connect,
  type ConnectAddressOptions,
  type ConnectOptions,
} from "./src/client/connect.ts";
export {
  EchoClient,
  type EchoClientOptions,
} from "./src/client/echo_client.ts";
export {
  ConnectTimeoutError,
  dial,
  type DialOptions,
  dialTls,
  type DialTlsOptions,
  dialUnix,
} from "./src/client/dial.ts";
export {
  DEFAULT_UDP_ACTIVITY_INTERVAL,
  DEFAULT_UDP_BURST,
  DEFAULT_UDP_MAX_SOURCES,
  DEFAULT_UDP_RATE_PER_SOURCE,
  REFLECTOR_PORTS,
  serveUdp,
  type UdpActivityInfo,
  type UdpDatagramInfo,
  type UdpDropInfo,
  type UdpDropReason,
  type UdpEchoServer,
  type UdpEchoStats,
  type UdpServeOptions,
} from "./src/udp/udp_server.ts";
export {
  DatagramLostError,
  DEFAULT_UDP_RETRIES,
  DEFAULT_UDP_TIMEOUT,
  openUdpClient,
  type UdpClientOptions,
  udpEcho,
  UdpEchoClient,
  type UdpEchoReply,
} from "./src/udp/udp_client.ts";
export {
  formatListener,
  type ListenerSpec,
  parseListenUrl,
} from "./src/net/listen_url.ts";
export { type IPFamily, UnknownHostError } from "./src/net/resolve.ts";
export {
  formatAddress,
  type HostPort,
  parseHostname,
  parseHostPort,
  parsePort,
  unmapIPv4,
} from "./src/net/address.ts";
