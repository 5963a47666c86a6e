// Copyright the deno-echo authors. MIT license.

import type { Admission, Limits } from "./admission.ts";
import {
  closeListeners,
  openListeners,
  type PortSharing,
} from "./listeners.ts";
import { listenerSpecs, resolveSettings } from "./options.ts";
import { parseProxyOptions } from "./preamble.ts";
import { Server } from "./server.ts";
import type { EchoServer, ServeOptions } from "./types.ts";

export type { PortSharing } from "./listeners.ts";

/** What {@linkcode startServer} needs beyond the public options. */
export interface StartInternals {
  /** How TCP and TLS listeners bind. */
  share: PortSharing;
  /** Ids and limits, local or shared between isolates. */
  admission: (limits: Limits) => Admission;
  /** This isolate's number among the workers, 0 for the first. */
  worker: number;
}

/** Starts one server in this isolate; `serve()` without workers. */
export type StartServer = (
  options: ServeOptions,
  internals: StartInternals,
) => Promise<EchoServer>;

/**
 * Starts a server in this isolate, with its own listeners; `serve()` is this
 * plus workers, cancellation and `onListen`.
 *
 * @param options As for `serve()`; `workers`, `signal` and `onListen` are
 * left to the caller.
 * @param internals How ports are bound and where limits are kept.
 * @returns The running server.
 */
export const startServer: StartServer = async (options, internals) => {
  const specs = listenerSpecs(options);
  const settings = resolveSettings(options);
  const proxyFrom = parseProxyOptions(options);
  options.signal?.throwIfAborted();
  const listeners = await openListeners(specs, options, internals.share);
  try {
    return new Server({
      listeners,
      options,
      settings,
      admission: internals.admission(settings),
      worker: internals.worker,
      proxyFrom,
    });
  } catch (error) {
    // Every listener or none, as when one of them cannot be opened.
    await closeListeners(listeners);
    throw error;
  }
};
