// Copyright the deno-echo authors. MIT license.

// Shared by the echo-client end-to-end tests: an in-process server from
// mod.ts whose hook records the connections it saw (and so which address
// family each client came in on), and the assertions on a finished client.

import { assertEquals, assertMatch } from "@std/assert";
import {
  type ConnectionInfo,
  type ConnectionResult,
  type EchoServer,
  serve,
  type ServeOptions,
} from "../../mod.ts";
import {
  DEFAULT_TIMEOUT,
  lines,
  type ProcessResult,
  stackFrames,
} from "../_helpers/cli.ts";

/** A closed connection: who, and how it ended. */
export type ConnectionCloseInfo = ConnectionInfo & ConnectionResult;

/** A server on port 0 that records the connections it saw. */
export interface RecordingServer extends AsyncDisposable {
  readonly server: EchoServer;
  readonly port: number;
  readonly opened: ConnectionInfo[];
  readonly closed: ConnectionCloseInfo[];
  /** Resolves once `n` connections have closed (bounded by the test). */
  closedCount(n: number): Promise<ConnectionCloseInfo[]>;
}

/** Starts a {@linkcode RecordingServer} on 127.0.0.1 unless told otherwise. */
export async function recordingServer(
  options: ServeOptions = {},
): Promise<RecordingServer> {
  const opened: ConnectionInfo[] = [];
  const closed: ConnectionCloseInfo[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = await serve({
    hostname: "127.0.0.1",
    ...options,
    port: 0,
    onEvent: (event) => {
      if (event.type === "open") opened.push(event.conn);
      if (event.type !== "close") return;
      closed.push({ ...event.conn, ...event.result });
      for (const waiter of waiters) {
        if (closed.length >= waiter.n) waiter.resolve();
      }
    },
  });
  return {
    server,
    port: server.addrs[0]!.port,
    opened,
    closed,
    async closedCount(n: number): Promise<ConnectionCloseInfo[]> {
      if (closed.length < n) {
        const { promise, resolve, reject } = Promise.withResolvers<void>();
        waiters.push({ n, resolve });
        const timer = setTimeout(
          () =>
            reject(new Error(`${closed.length} of ${n} connections closed`)),
          DEFAULT_TIMEOUT,
        );
        try {
          await promise;
        } finally {
          clearTimeout(timer);
        }
      }
      return closed;
    },
    async [Symbol.asyncDispose](): Promise<void> {
      await server.close();
    },
  };
}

/** Asserts a clean run: exit 0, `stdout` exactly, nothing on stderr. */
export function assertEchoed(result: ProcessResult, stdout: string): void {
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout, stdout);
  assertEquals(result.stderr, "");
}

/** Asserts a failure: `code`, and one line on stderr that matches. */
export function assertFailed(
  result: ProcessResult,
  code: number,
  message: RegExp,
): void {
  assertEquals(result.code, code, result.stderr);
  const errorLines = lines(result.stderr);
  assertEquals(errorLines.length, 1, `one line: ${result.stderr}`);
  assertMatch(errorLines[0]!, /^echo-client: \S/);
  assertMatch(errorLines[0]!, message);
  assertEquals(stackFrames(result.stderr), []);
}

/** A port with nothing listening on 127.0.0.1 (bound, then released). */
export function closedPort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}
