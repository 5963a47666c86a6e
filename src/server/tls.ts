// Copyright the deno-echo authors. MIT license.

// TLS for `tls://` listeners, loaded on first use: `node:tls` and
// `node:crypto` (in ./tls_node.ts) cost a program that serves no TLS, and
// `--help`, tens of milliseconds at start-up.

import type * as TlsNode from "./tls_node.ts";
import type { ServeTlsOptions } from "./types.ts";

export type { Stoppable, TlsSession, TlsSetup } from "./tls_node.ts";

let node: typeof TlsNode | undefined;

/** Loads the TLS code; every other function here needs it loaded first. */
export async function loadTls(): Promise<void> {
  node ??= await import("./tls_node.ts");
}

function loaded(): typeof TlsNode {
  if (node === undefined) throw new Error("TLS used before loadTls()");
  return node;
}

/**
 * Parses and checks a server's TLS options, once (see tls_node.ts).
 *
 * @param options The `tls` option of `serve()`.
 * @returns What {@linkcode startTls} needs.
 */
export function tlsSetup(options: ServeTlsOptions): TlsNode.TlsSetup {
  return loaded().tlsSetup(options);
}

/**
 * The server side of a handshake over an accepted connection (see
 * tls_node.ts).
 *
 * @param args As for tls_node.ts `startTls`.
 * @returns The session.
 */
export function startTls(
  ...args: Parameters<typeof TlsNode.startTls>
): ReturnType<typeof TlsNode.startTls> {
  return loaded().startTls(...args);
}
