// Copyright the deno-echo authors. MIT license.

/**
 * The program of each web worker started by `serve({ workers })`: one more
 * server on the first isolate's TCP and TLS addresses, its events posted back.
 *
 * @module
 */

import { SharedAdmission } from "./admission.ts";
import { type EchoServer, type ServeOptions, startServer } from "./serve.ts";
import { type FromWorker, toWire, type ToWorker } from "./workers.ts";

/** The worker's global scope, as far as it is used here. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as WorkerScope;
const post = (message: FromWorker): void => scope.postMessage(message);

let server: EchoServer | undefined;
/** A stop asked for while the server was starting. */
let stop: "shutdown" | "close" | undefined;

scope.onmessage = (event): void => {
  const message = event.data;
  if (message.type === "start") {
    start(message).catch((error) => {
      post({ type: "failed", error: toWire(error) });
      post({ type: "finished" });
    });
  } else {
    stop ??= message.type;
    if (message.type === "shutdown") server?.shutdown();
    else server?.close();
  }
};

async function start(
  { listen, options, hooks, admission, worker }: Extract<
    ToWorker,
    { type: "start" }
  >,
): Promise<void> {
  const relayed: ServeOptions = {
    ...options,
    listen,
    ...(hooks.open ? { onOpen: (info) => post({ type: "open", info }) } : {}),
    ...(hooks.close
      ? {
        onClose: ({ error, ...info }) =>
          post(
            error === undefined
              ? { type: "close", info }
              : { type: "close", info, error: toWire(error) },
          ),
      }
      : {}),
    ...(hooks.reject
      ? { onReject: (info, reason) => post({ type: "reject", info, reason }) }
      : {}),
    ...(hooks.acceptError
      ? {
        onAcceptError: (error) =>
          post({ type: "accept-error", error: toWire(error) }),
      }
      : {}),
    ...(hooks.handshakeError
      ? {
        onHandshakeError: (info, error) =>
          post({ type: "handshake-error", info, error: toWire(error) }),
      }
      : {}),
  };
  server = await startServer(relayed, {
    share: "join",
    admission: (limits) => new SharedAdmission(admission, limits),
    worker,
  });
  post({ type: "listening" });
  if (stop === "shutdown") server.shutdown();
  else if (stop === "close") server.close();
  await server.finished;
  post({ type: "finished" });
}
