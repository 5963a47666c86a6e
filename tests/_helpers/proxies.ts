// Copyright the deno-echo authors. MIT license.

// Real proxies in front of a test's echo server: tinyproxy (HTTP CONNECT)
// and Dante (SOCKS5), from Debian's `tinyproxy` and `dante-server`. The test
// writes the config into a temporary directory, the proxy runs as a child
// in the foreground on a loopback port, readiness is the line it logs once
// it listens, and disposing of the handle stops it and removes the files.
// Where a proxy is not installed, `findProgram()` says so and the tests are
// ignored.

import { Proc } from "./proc.ts";

/** A running proxy. Disposing of it stops it. */
export interface ProxyProcess extends AsyncDisposable {
  /** Where it listens (an IP literal). */
  readonly hostname: string;
  readonly port: number;
  /** Its URL for `--proxy`, with credentials if given. */
  url(credentials?: string): string;
  /** What it logged so far. */
  log(): string;
}

/**
 * Whether a program is on PATH: the path `command -v` finds, or
 * `undefined` (tests use it to be ignored visibly).
 */
export async function findProgram(name: string): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const path = new TextDecoder().decode(stdout).trim();
    return success && path !== "" ? path : undefined;
  } catch {
    return undefined;
  }
}

/** A port nothing listens on right now (the proxies cannot bind port 0). */
function freePort(hostname: string): number {
  using listener = Deno.listen({ hostname, port: 0 });
  return listener.addr.port;
}

async function startProxy(
  scheme: "http" | "socks5",
  hostname: string,
  launch: (dir: string, port: number) => Promise<{
    command: string[];
    ready: RegExp;
    stream: "stdout" | "stderr";
  }>,
): Promise<ProxyProcess> {
  const dir = await Deno.makeTempDir({ prefix: `deno_echo_${scheme}_` });
  const port = freePort(hostname);
  let proc: Proc | undefined;
  try {
    const { command, ready, stream } = await launch(dir, port);
    proc = new Proc([command[0]!], command.slice(1));
    await proc.waitFor(stream, ready);
  } catch (error) {
    if (proc !== undefined) await proc[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  const running = proc;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    hostname,
    port,
    url: (credentials) =>
      `${scheme}://${
        credentials === undefined ? "" : `${credentials}@`
      }${host}:${port}`,
    log: () => running.stdout + running.stderr,
    async [Symbol.asyncDispose](): Promise<void> {
      try {
        await running.stop("SIGTERM");
      } finally {
        await running[Symbol.asyncDispose]();
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}

/** How to start tinyproxy. */
export interface TinyproxyOptions {
  /** Where it listens: 127.0.0.1 or ::1. */
  hostname?: string;
  /** The ports CONNECT may go to (the echo server's). */
  connectPorts: number[];
  /** `BasicAuth USER PASSWORD`. */
  basicAuth?: { user: string; password: string };
}

/** Starts tinyproxy in the foreground (`-d`) with a config of its own. */
export function startTinyproxy(
  options: TinyproxyOptions,
): Promise<ProxyProcess> {
  const hostname = options.hostname ?? "127.0.0.1";
  return startProxy("http", hostname, async (dir, port) => {
    const lines = [
      `Port ${port}`,
      `Listen ${hostname}`,
      // Any loopback source (a client bound to 127.0.0.2, say).
      `Allow ${hostname.includes(":") ? hostname : "127.0.0.0/8"}`,
      "Timeout 30",
      "MaxClients 20",
      "LogLevel Info",
      `PidFile "${dir}/tinyproxy.pid"`,
      ...options.connectPorts.map((p) => `ConnectPort ${p}`),
    ];
    if (options.basicAuth !== undefined) {
      const { user, password } = options.basicAuth;
      lines.push(`BasicAuth ${user} ${password}`);
    }
    await Deno.writeTextFile(`${dir}/tinyproxy.conf`, lines.join("\n") + "\n");
    return {
      command: ["tinyproxy", "-d", "-c", `${dir}/tinyproxy.conf`],
      ready: /Accepting connections/,
      stream: "stdout",
    };
  });
}

/** How to start Dante. */
export interface DanteOptions {
  /** Where it listens and connects from: 127.0.0.1 or ::1. */
  hostname?: string;
  /** `socksmethod`: `none`, or `username` (system users). */
  method?: "none" | "username";
  /** The ports it may connect to; anything else is blocked. */
  allowPorts: number[];
}

/**
 * Starts Dante's `danted` in the foreground with a config of its own. It
 * runs as the user running the tests (root in CI), with its pid file in the
 * temporary directory.
 */
export function startDante(options: DanteOptions): Promise<ProxyProcess> {
  const hostname = options.hostname ?? "127.0.0.1";
  const net = hostname.includes(":") ? "::/0" : "0.0.0.0/0";
  const local = hostname.includes(":") ? "::1/128" : "127.0.0.0/8";
  return startProxy("socks5", hostname, async (dir, port) => {
    const user = Deno.env.get("USER") ?? "root";
    const pass = options.allowPorts.map((p) =>
      `socks pass { from: ${local} to: ${local} port = ${p} }`
    );
    const config = [
      "logoutput: stderr",
      `internal: ${hostname} port = ${port}`,
      `external: ${hostname}`,
      `socksmethod: ${options.method ?? "none"}`,
      "clientmethod: none",
      `user.privileged: ${user}`,
      `user.unprivileged: ${user}`,
      `client pass { from: ${local} to: ${net} }`,
      ...pass,
      `socks block { from: ${net} to: ${net} }`,
    ];
    await Deno.writeTextFile(`${dir}/danted.conf`, config.join("\n") + "\n");
    return {
      command: [
        "danted",
        "-f",
        `${dir}/danted.conf`,
        "-p",
        `${dir}/danted.pid`,
        "-N",
        "1",
      ],
      ready: / running/,
      stream: "stderr",
    };
  });
}
