// Copyright the deno-echo authors. MIT license.

import { callHook } from "../server/hook.ts";
import { type Limits, SharedAdmission } from "../server/admission.ts";
import type { ListenerSpec } from "../net/listen_url.ts";
import type {
  ConnectionCloseInfo,
  ConnectionInfo,
  EchoServer,
  ListenerInfo,
  RejectReason,
  ServeOptions,
  StartServer,
} from "../server/serve.ts";
import type { UdpEchoStats } from "../udp/udp_server.ts";

/** An error as it crosses between isolates: its class name and message. */
export interface WireError {
  /** `Error.name`, e.g. `ConnectionReset`. */
  name: string;
  /** `Error.message`. */
  message: string;
}

/** Which of the caller's hooks exist: a worker reports only those events. */
export interface HookSet {
  /** `onOpen`. */
  open: boolean;
  /** `onClose`. */
  close: boolean;
  /** `onReject`. */
  reject: boolean;
  /** `onAcceptError`. */
  acceptError: boolean;
  /** `onHandshakeError`. */
  handshakeError: boolean;
}

/** The options a worker runs with: everything but hooks and signals. */
export type WorkerOptions = Pick<
  ServeOptions,
  | "quitWord"
  | "drainTimeout"
  | "idleTimeout"
  | "maxConnections"
  | "maxPerIp"
  | "maxBytes"
  | "tls"
>;

/** From the first isolate to a worker. */
export type ToWorker =
  | {
    type: "start";
    /** The exact addresses the first isolate holds, to join. */
    listen: ListenerSpec[];
    options: WorkerOptions;
    hooks: HookSet;
    /** Backs the {@linkcode SharedAdmission} every isolate uses. */
    admission: SharedArrayBuffer;
    /** The worker's number, 1 and up. */
    worker: number;
  }
  | { type: "shutdown" }
  | { type: "close" };

/** From a worker to the first isolate. */
export type FromWorker =
  | { type: "listening" }
  | { type: "failed"; error: WireError }
  /** Connection events, in order, batched: one message per many events. */
  | { type: "events"; events: WorkerEvent[] }
  | { type: "finished" };

/** A connection event in a worker, for the caller's hooks. */
export type WorkerEvent =
  | { type: "open"; info: ConnectionInfo }
  | {
    type: "close";
    info: Omit<ConnectionCloseInfo, "error">;
    error?: WireError;
  }
  | { type: "reject"; info: ConnectionInfo; reason: RejectReason }
  | { type: "accept-error"; error: WireError }
  | { type: "handshake-error"; info: ConnectionInfo; error: WireError };

/**
 * Serializes an error to cross to another isolate.
 *
 * @param error Anything thrown.
 * @returns Its name and message.
 */
export function toWire(error: unknown): WireError {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: String(error) };
}

/**
 * Rebuilds an error that crossed from another isolate, as an instance of
 * the same `Deno.errors` class where there is one, so `instanceof` checks
 * on it still work.
 *
 * @param wire What {@linkcode toWire} made.
 * @returns An error with the same name and message.
 */
export function fromWire(wire: WireError): Error {
  if (wire.name === "AbortError" || wire.name === "TimeoutError") {
    return new DOMException(wire.message, wire.name);
  }
  const Type = Object.hasOwn(Deno.errors, wire.name)
    ? (Deno.errors as unknown as Record<
      string,
      new (message: string) => Error
    >)[
      wire.name
    ]
    : undefined;
  if (Type !== undefined) return new Type(wire.message);
  const error = new Error(wire.message);
  error.name = wire.name;
  return error;
}

/**
 * Serves with `count` isolates: this one (its server started by `start`)
 * and `count - 1` web workers that join its TCP and TLS addresses with
 * `SO_REUSEPORT`. Limits and ids are kept in shared memory; every worker's
 * connection events are posted here and passed to the caller's hooks.
 *
 * @param options As for `serve()`.
 * @param count How many isolates, 2 or more.
 * @param start Starts a server in an isolate.
 * @returns One handle for all of them.
 */
export async function serveWorkers(
  options: ServeOptions,
  count: number,
  start: StartServer,
): Promise<EchoServer> {
  const module = new URL("./worker_main.ts", import.meta.url);
  if (
    module.protocol === "file:" &&
    Deno.permissions.querySync({ name: "read", path: module }).state !==
      "granted"
  ) {
    throw new Deno.errors.NotCapable(
      `Workers need read access to their module ${module.pathname}`,
    );
  }
  // Made when the first server has worked out its limits (defaults applied).
  let shared: { buffer: SharedArrayBuffer; limits: Limits } | undefined;
  const first = await start(options, {
    share: "first",
    admission: (limits) => {
      shared = { buffer: SharedAdmission.createBuffer(limits), limits };
      return new SharedAdmission(shared.buffer, limits, 0);
    },
    worker: 0,
  });
  const { buffer, limits } = shared!;
  const listen: ListenerSpec[] = first.listeners.flatMap((
    { transport, addr },
  ) =>
    (transport === "tcp" || transport === "tls") && addr.transport === "tcp"
      ? [{ transport, hostname: addr.hostname, port: addr.port }]
      : []
  );
  // Nothing to share (only unix: or udp:// listeners): one isolate it is.
  if (listen.length === 0) return first;

  const admission = new SharedAdmission(buffer, limits, 0);
  const workers: Worker[] = [];
  const started: Promise<void>[] = [];
  const finished: Promise<void>[] = [first.finished];
  const group = new WorkerGroup(first, workers, admission, finished);
  try {
    for (let index = 1; index < count; index++) {
      const worker = new Worker(module, {
        type: "module",
        name: `echo-worker-${index}`,
      });
      workers.push(worker);
      const { ready, done } = watchWorker(worker, index, options, admission);
      started.push(ready);
      finished.push(done);
      worker.postMessage(
        {
          type: "start",
          listen,
          options: workerOptions(options),
          hooks: {
            open: options.onOpen !== undefined,
            close: options.onClose !== undefined,
            reject: options.onReject !== undefined,
            acceptError: options.onAcceptError !== undefined,
            handshakeError: options.onHandshakeError !== undefined,
          },
          admission: buffer,
          worker: index,
        } satisfies ToWorker,
      );
    }
    await Promise.all(started);
  } catch (error) {
    // Listeners and workers started so far are closed, not left behind.
    await group.close();
    throw error;
  }
  return group;
}

/**
 * Handles what a worker posts and how it ends.
 *
 * @returns `ready` when it listens (rejected if it cannot start), `done`
 * once it has finished or died.
 */
function watchWorker(
  worker: Worker,
  index: number,
  options: ServeOptions,
  admission: SharedAdmission,
): { ready: Promise<void>; done: Promise<void> } {
  const ready = Promise.withResolvers<void>();
  const done = Promise.withResolvers<void>();
  let listening = false;
  // After it listens, a failure is reported like a failed accept: the
  // worker's listeners are gone and the other isolates go on serving.
  const fail = (error: Error): void => {
    if (listening) callHook(options.onAcceptError, error);
    else ready.reject(error);
  };
  worker.onmessage = (event: MessageEvent<FromWorker>): void => {
    const message = event.data;
    if (message.type === "listening") {
      listening = true;
      ready.resolve();
    } else if (message.type === "failed") fail(fromWire(message.error));
    else if (message.type === "finished") done.resolve();
    else for (const event of message.events) relay(event, options);
  };
  worker.onerror = (event: ErrorEvent): void => {
    // A worker that died must not take this isolate with it.
    event.preventDefault();
    fail(
      new Error(`worker ${index} stopped: ${event.message || "unknown error"}`),
    );
    // Its open connections died with it.
    admission.releaseIsolate(index);
    done.resolve();
  };
  return { ready: ready.promise, done: done.promise };
}

function workerOptions(options: ServeOptions): WorkerOptions {
  const picked: WorkerOptions = {};
  for (
    const key of [
      "quitWord",
      "drainTimeout",
      "idleTimeout",
      "maxConnections",
      "maxPerIp",
      "maxBytes",
      "tls",
    ] as const
  ) {
    if (options[key] !== undefined) {
      (picked as Record<string, unknown>)[key] = options[key];
    }
  }
  return picked;
}

/** Passes a worker's connection event to the caller's hook. */
function relay(message: WorkerEvent, options: ServeOptions): void {
  switch (message.type) {
    case "open":
      return callHook(options.onOpen, message.info);
    case "close":
      return callHook(
        options.onClose,
        message.error === undefined
          ? message.info
          : { ...message.info, error: fromWire(message.error) },
      );
    case "reject":
      return callHook(options.onReject, message.info, message.reason);
    case "accept-error":
      return callHook(options.onAcceptError, fromWire(message.error));
    case "handshake-error":
      return callHook(
        options.onHandshakeError,
        message.info,
        fromWire(message.error),
      );
  }
}

/** The first isolate's server plus its workers, as one server. */
class WorkerGroup implements EchoServer {
  readonly finished: Promise<void>;
  readonly #first: EchoServer;
  readonly #workers: Worker[];
  readonly #admission: SharedAdmission;

  constructor(
    first: EchoServer,
    workers: Worker[],
    admission: SharedAdmission,
    finished: Promise<void>[],
  ) {
    this.#first = first;
    this.#workers = workers;
    this.#admission = admission;
    // Settles once every isolate has finished; `finished` may still grow
    // while workers start, so it is read when the first one ends.
    this.finished = first.finished.then(() => Promise.all(finished)).then(
      () => {
        for (const worker of workers) worker.terminate();
      },
    );
  }

  get addrs(): readonly Deno.NetAddr[] {
    return this.#first.addrs;
  }

  get listeners(): readonly ListenerInfo[] {
    return this.#first.listeners;
  }

  get udpStats(): ReadonlyMap<string, UdpEchoStats> {
    return this.#first.udpStats;
  }

  get connections(): number {
    return this.#admission.open;
  }

  #tell(message: ToWorker): void {
    for (const worker of this.#workers) {
      try {
        worker.postMessage(message);
      } catch {
        // Terminated already.
      }
    }
  }

  shutdown(): Promise<void> {
    this.#first.shutdown();
    this.#tell({ type: "shutdown" });
    return this.finished;
  }

  close(): Promise<void> {
    this.#first.close();
    this.#tell({ type: "close" });
    return this.finished;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
