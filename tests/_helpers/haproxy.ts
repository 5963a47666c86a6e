// Copyright the deno-echo authors. MIT license.

// A real HAProxy in front of a test's backend, for the PROXY protocol tests:
// the test writes the config, HAProxy runs as a child in the foreground
// (`-db`) on loopback ports picked by binding port 0, and disposing of the
// handle stops it and removes the config. Where `haproxy` is not installed,
// `findHaproxy()` says so and the tests are ignored.

import { delay } from "@std/async";

/** What HAProxy sends the backend in front of each relayed connection. */
export type SendProxy = "send-proxy" | "send-proxy-v2";

/** How to start HAProxy. */
export interface HaproxyOptions {
  /** The backend HAProxy relays to (an IPv4 literal or `[v6]` form). */
  backend: { hostname: string; port: number };
  /** The PROXY header on the server line. */
  sendProxy: SendProxy;
  /** More words for the server line (`proxy-v2-options crc32c`, `check`). */
  serverOptions?: string;
  /** More words for the relaying frontend's bind line (`ssl crt FILE`). */
  bindOptions?: string;
  /** More lines for the backend section (`option tcp-check`, say). */
  backendLines?: string[];
}

/** A running HAProxy. Disposing of it stops it. */
export interface Haproxy extends AsyncDisposable {
  /** Where the relaying frontend listens. */
  readonly hostname: string;
  readonly port: number;
  /** What HAProxy wrote to stderr so far. */
  stderr(): string;
}

const HOST = "127.0.0.1";

/**
 * The first line of `haproxy -v`, or `undefined` when HAProxy is not on
 * PATH (tests use it to be ignored visibly).
 */
export async function findHaproxy(): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command("haproxy", {
      args: ["-v"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!success) return undefined;
    return new TextDecoder().decode(stdout).split("\n")[0];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** A port nothing listens on right now (HAProxy cannot bind port 0). */
function freePort(): number {
  using listener = Deno.listen({ hostname: HOST, port: 0 });
  return listener.addr.port;
}

function config(options: HaproxyOptions, port: number, ready: number): string {
  const { backend, sendProxy, serverOptions = "", bindOptions = "" } = options;
  const lines = (options.backendLines ?? []).map((line) => `  ${line}\n`);
  const server = backend.hostname.includes(":")
    ? `[${backend.hostname}]:${backend.port}`
    : `${backend.hostname}:${backend.port}`;
  return `global
  nbthread 1

defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s

frontend relay
  bind ${HOST}:${port} ${bindOptions}
  unique-id-format %ci:%cp
  default_backend echo

backend echo
${lines.join("")}  server s1 ${server} ${sendProxy} ${serverOptions}

# Accepts once HAProxy has bound its ports; relays nothing.
frontend ready
  bind ${HOST}:${ready}
  tcp-request connection reject
`;
}

/**
 * Starts HAProxy relaying to `options.backend` and waits until it accepts
 * connections (on a second frontend of its own, so that the wait sends
 * nothing to the backend).
 *
 * @returns The running HAProxy.
 * @throws {Error} If HAProxy exits or does not listen within 10 s, with
 * what it wrote to stderr.
 */
export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const dir = await Deno.makeTempDir({ prefix: "echo-haproxy-" });
  const port = freePort();
  const ready = freePort();
  await Deno.writeTextFile(`${dir}/haproxy.cfg`, config(options, port, ready));
  const child = new Deno.Command("haproxy", {
    args: ["-f", `${dir}/haproxy.cfg`, "-db"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = child.stderr
    .pipeThrough(new TextDecoderStream())
    .pipeTo(new WritableStream({ write: (text) => void (stderr += text) }));
  let exited = false;
  const status = child.status.finally(() => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (!exited) child.kill("SIGTERM");
    await status;
    await reading;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await waitForPort(ready, () => exited);
  } catch (error) {
    await stop();
    throw new Error(`HAProxy did not start: ${error}\n${stderr}`);
  }
  return {
    hostname: HOST,
    port,
    stderr: () => stderr,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Connects to `port` until it accepts. HAProxy says nothing when it is
 * ready, so this polls, with a growing pause, for at most 10 s.
 */
async function waitForPort(port: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let pause = 5;; pause = Math.min(pause * 2, 100)) {
    if (exited()) throw new Error("HAProxy exited");
    try {
      const conn = await Deno.connect({ hostname: HOST, port });
      conn.close();
      return;
    } catch (error) {
      // Reset: accepted, then refused by the rule, so HAProxy is up.
      if (
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.NotConnected
      ) return;
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await delay(pause);
  }
}
