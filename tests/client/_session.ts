// Copyright the deno-echo authors. MIT license.

// Shared by the session tests: input that hands out given chunks, an output
// that records every write, and one session against a server.

import { concat } from "@std/bytes";
import type { EchoServer } from "../../mod.ts";
import {
  runSession,
  type SessionOptions,
  type SessionResult,
} from "../../src/client/session.ts";
import { bytes } from "../_helpers/util.ts";

/** Decodes what a session wrote. */
export const decoder: TextDecoder = new TextDecoder();

/** Where a session's output goes: every write, copied, in order. */
export interface Output {
  writable: WritableStream<Uint8Array>;
  writes: Uint8Array[];
  text(): string;
}

export function output(): Output {
  const writes: Uint8Array[] = [];
  return {
    writes,
    text: () => decoder.decode(concat(writes)),
    writable: new WritableStream<Uint8Array>({
      write(chunk): void {
        writes.push(chunk.slice());
      },
    }),
  };
}

/** Input that hands out one chunk per read. */
export function input(chunks: readonly (string | Uint8Array)[]): ReadableStream<
  Uint8Array
> {
  return ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? bytes(c) : c),
  );
}

/** A plain TCP connection to `server` (listening on 127.0.0.1). */
export function connectTo(server: EchoServer): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0]!.port });
}

/** Runs one session against `server` and returns its output and result. */
export async function session(
  server: EchoServer,
  chunks: readonly (string | Uint8Array)[],
  options?: SessionOptions,
): Promise<{ out: Output; result: SessionResult }> {
  using conn = await connectTo(server);
  const out = output();
  const result = await runSession(conn, input(chunks), out.writable, options);
  return { out, result };
}
