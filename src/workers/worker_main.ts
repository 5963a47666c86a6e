// Copyright the deno-echo authors. MIT license.

/**
 * The program of each web worker started by `serve({ workers })`: one more
 * server on the first isolate's TCP and TLS addresses, its events posted back.
 *
 * @module
 */

import { SharedAdmission } from "../server/admission.ts";
import { startServer } from "../server/start_server.ts";
import type { EchoServer } from "../server/types.ts";
import {
  eventToWire,
  type FromWorker,
  toWire,
  type ToWorker,
  type WireEvent,
} from "./wire.ts";

/** The worker's global scope, as far as it is used here. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as WorkerScope;
const post = (message: FromWorker): void => scope.postMessage(message);

/**
 * Events are posted in batches: a message costs far more than an event in
 * it, and at thousands of connections a second one message per event took
 * a quarter of the connect rate. A batch goes when it is full or on the
 * next timer turn, so events are late by a few milliseconds at most.
 */
const BATCH = 256;
let pending: WireEvent[] = [];
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function emit(event: WireEvent): void {
  pending.push(event);
  if (pending.length >= BATCH) flush();
  else flushTimer ??= setTimeout(flush, 0);
}

function flush(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (pending.length === 0) return;
  post({ type: "events", events: pending });
  pending = [];
}

let server: EchoServer | undefined;
/** A stop asked for while the server was starting. */
let stop: "shutdown" | "close" | undefined;

scope.onmessage = (event): void => {
  const message = event.data;
  if (message.type === "start") {
    start(message).catch((error) => {
      post({ type: "failed", error: toWire(error) });
      post({ type: "finished", closed: 0 });
    });
  } else {
    // close() overrides a shutdown() in progress, never the other way.
    if (stop !== "close") stop = message.type;
    if (message.type === "shutdown") server?.shutdown();
    else server?.close();
  }
};

async function start(
  { listen, options, events, admission, worker }: Extract<
    ToWorker,
    { type: "start" }
  >,
): Promise<void> {
  server = await startServer({
    ...options,
    listen,
    ...(events ? { onEvent: (event) => emit(eventToWire(event)) } : {}),
  }, {
    share: "join",
    admission: (limits) => new SharedAdmission(admission, limits, worker),
    worker,
  });
  post({ type: "listening" });
  if (stop === "shutdown") server.shutdown();
  else if (stop === "close") server.close();
  await server.finished;
  // Once the server has finished, shutdown() only tells what happened.
  const { closed } = await server.shutdown();
  flush();
  post({ type: "finished", closed });
}
