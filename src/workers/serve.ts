// Copyright the deno-echo authors. MIT license.

import { callHook, closeOnAbort } from "../net/hook.ts";
import { LocalAdmission, MAX_ISOLATES } from "../server/admission.ts";
import { SERVE_DEFAULTS } from "../server/options.ts";
import { startServer } from "../server/start_server.ts";
import type { EchoServer, ServeOptions } from "../server/types.ts";
import { serveWorkers } from "./workers.ts";

/**
 * Starts a TCP echo server: every byte a client sends comes back unchanged;
 * a line saying the quit word (`BYE`) is echoed and then ends the connection.
 * Many clients are served at once, and no client can make the server stop or
 * buffer without bound.
 *
 * `await using` closes it abruptly at the end of the scope; call
 * `shutdown()` first for a graceful drain.
 *
 * @example Serve on a free port and echo one line
 * ```ts
 * import { connect, serve } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serve({ hostname: "127.0.0.1", port: 0 });
 * await using client = await connect(server.addrs[0]!);
 * assertEquals(await client.send("hello"), "hello");
 * ```
 *
 * @example Watch connections come and go, and drain on shutdown
 * ```ts
 * import { connect, serve, type ServerEvent } from "@deno-echo/echo";
 * import { assertEquals } from "@std/assert";
 *
 * const seen: ServerEvent["type"][] = [];
 * const server = await serve({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   onEvent: (event) => seen.push(event.type),
 * });
 * {
 *   await using client = await connect(server.addrs[0]!);
 *   assertEquals(await client.send("BYE"), "BYE");
 *   assertEquals(await client.readLine(), null);
 * }
 * const { drained, closed } = await server.shutdown();
 * assertEquals([drained, closed], [true, 0]);
 * assertEquals(seen, ["open", "close"]);
 * ```
 *
 * @param options Where to listen, the quit word, limits, the event hook and
 * cancellation.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {Deno.errors.PermissionDenied} If the system refuses the port.
 * @throws {Deno.errors.AddrNotAvailable} If the address is not this host's.
 * @throws {Deno.errors.AlreadyExists} If a `unix:` path is a file that is not
 * a socket.
 * @throws {Deno.errors.NotFound} If a `unix:` path's folder does not exist.
 * @throws {Deno.errors.InvalidData} If `tls` cannot be used for a `tls://`
 * listener.
 * @throws {UnknownHostError} If the hostname names no address.
 * @throws {Deno.errors.NotSupported} If `workers` is above 1 but this is not
 * Linux or Deno runs without `--unstable-net`.
 * @throws {Deno.errors.NotCapable} If `workers` is above 1 without read
 * access to the worker module.
 * @throws The `signal`'s reason if it is aborted before the server listens
 * (`onListen` is then not called).
 */
export async function serve(options: ServeOptions = {}): Promise<EchoServer> {
  const { signal } = options;
  const workers = options.workers ?? SERVE_DEFAULTS.workers;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_ISOLATES) {
    throw new RangeError(
      `Invalid workers ${workers}: expected 1 to ${MAX_ISOLATES}`,
    );
  }
  let server: EchoServer;
  if (workers === 1) {
    server = await startServer(options, {
      share: "none",
      admission: (limits) => new LocalAdmission(limits),
      worker: 0,
    });
  } else {
    const unsupported = workersUnsupported();
    if (unsupported !== undefined) {
      throw new Deno.errors.NotSupported(unsupported);
    }
    server = await serveWorkers(options, workers, startServer);
  }
  if (signal?.aborted) {
    // Aborted while the listeners were being opened: none stays open.
    await server.close();
    throw signal.reason;
  }
  closeOnAbort(signal, server);
  callHook(options.onListen, server.addrs);
  return server;
}

/**
 * Why `workers` above 1 cannot work here, if they cannot.
 *
 * @returns What is missing, or `undefined` when workers can run.
 */
export function workersUnsupported(): string | undefined {
  if (Deno.build.os !== "linux") {
    return `workers need Linux (SO_REUSEPORT load balancing); this is ${Deno.build.os}`;
  }
  // `reusePort` is behind --unstable-net, and without the flag Deno exits
  // the process rather than throw. Deno.listenDatagram exists only with it.
  if (
    typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function"
  ) {
    return "workers need Deno's --unstable-net flag, given to deno run, deno install or deno compile (deno task server has it)";
  }
  return undefined;
}
