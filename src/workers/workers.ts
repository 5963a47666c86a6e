// Copyright the deno-echo authors. MIT license.

import { callHook } from "../net/hook.ts";
import { type Limits, SharedAdmission } from "../server/admission.ts";
import type { ListenerSpec } from "../net/listen_url.ts";
import { resolveSettings } from "../server/options.ts";
import type { StartServer } from "../server/start_server.ts";
import type {
  EchoServer,
  ListenerInfo,
  ServeOptions,
  ShutdownResult,
} from "../server/types.ts";
import type { UdpEchoStats } from "../udp/udp_server.ts";
import {
  eventFromWire,
  fromWire,
  type FromWorker,
  type ToWorker,
  type WorkerOptions,
} from "./wire.ts";

/**
 * Serves with `count` isolates: this one (its server started by `start`)
 * and `count - 1` web workers that join its TCP and TLS addresses with
 * `SO_REUSEPORT`. Limits and ids are kept in shared memory; every worker's
 * events are posted here and passed to the caller's `onEvent`.
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
  const module = workerModule();
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
  const listen = sharedListeners(first.listeners);
  // Nothing to share (only unix: or udp:// listeners): one isolate it is.
  if (listen.length === 0) return first;

  const admission = new SharedAdmission(buffer, limits, 0);
  const group = new WorkerGroup(first, admission);
  const message = {
    type: "start",
    listen,
    options: workerOptions(options),
    events: options.onEvent !== undefined,
    admission: buffer,
    worker: 0,
  } satisfies ToWorker;
  const started: Promise<void>[] = [];
  try {
    for (let index = 1; index < count; index++) {
      const worker = new Worker(module, {
        type: "module",
        name: `echo-worker-${index}`,
      });
      const { ready, done } = watchWorker(worker, index, options, admission);
      group.add(worker, done);
      started.push(ready);
      worker.postMessage({ ...message, worker: index } satisfies ToWorker);
    }
    await Promise.all(started);
  } catch (error) {
    // Listeners and workers started so far are closed, not left behind.
    await group.close();
    throw error;
  }
  return group;
}

/** The worker module, once it is known the workers may read it. */
function workerModule(): URL {
  const module = new URL("./worker_main.ts", import.meta.url);
  if (
    module.protocol === "file:" &&
    Deno.permissions.querySync({ name: "read", path: module }).state !==
      "granted"
  ) {
    // Worded as Deno words its own denials, so the programs name the flag.
    throw new Deno.errors.NotCapable(
      `Requires read access to "${module.pathname}" (the workers' module), ` +
        "run again with the --allow-read flag",
    );
  }
  return module;
}

/** The exact TCP and TLS addresses the first isolate holds, to join. */
function sharedListeners(listeners: readonly ListenerInfo[]): ListenerSpec[] {
  return listeners.flatMap(({ transport, addr, proxyProtocol }) =>
    (transport === "tcp" || transport === "tls") && addr.transport === "tcp"
      ? [{
        transport,
        hostname: addr.hostname,
        port: addr.port,
        ...(proxyProtocol ? { proxyProtocol } : {}),
      }]
      : []
  );
}

/** What every worker runs with: the resolved settings, and the TLS files. */
function workerOptions(options: ServeOptions): WorkerOptions {
  const { tls, proxyFrom, proxyHeaderTimeout } = options;
  return {
    ...resolveSettings(options),
    ...(tls === undefined ? {} : { tls }),
    ...(proxyFrom === undefined ? {} : { proxyFrom }),
    ...(proxyHeaderTimeout === undefined ? {} : { proxyHeaderTimeout }),
  };
}

/**
 * Handles what a worker posts and how it ends.
 *
 * @returns `ready` when it listens (rejected if it cannot start), `done`
 * once it has finished or died, with how many connections it cut.
 */
function watchWorker(
  worker: Worker,
  index: number,
  options: ServeOptions,
  admission: SharedAdmission,
): { ready: Promise<void>; done: Promise<number> } {
  const ready = Promise.withResolvers<void>();
  const done = Promise.withResolvers<number>();
  let listening = false;
  // After it listens, a failure is reported like a failed accept: the
  // worker's listeners are gone and the other isolates go on serving.
  const fail = (error: Error): void => {
    if (listening) callHook(options.onEvent, { type: "accept-error", error });
    else ready.reject(error);
  };
  worker.onmessage = (event: MessageEvent<FromWorker>): void => {
    const message = event.data;
    if (message.type === "listening") {
      listening = true;
      ready.resolve();
    } else if (message.type === "failed") fail(fromWire(message.error));
    else if (message.type === "finished") done.resolve(message.closed);
    else {
      for (const wired of message.events) {
        callHook(options.onEvent, eventFromWire(wired));
      }
    }
  };
  worker.onerror = (event: ErrorEvent): void => {
    // A worker that died must not take this isolate with it.
    event.preventDefault();
    fail(
      new Error(`worker ${index} stopped: ${event.message || "unknown error"}`),
    );
    // Its open connections died with it.
    done.resolve(admission.releaseIsolate(index));
  };
  return { ready: ready.promise, done: done.promise };
}

/** The first isolate's server plus its workers, as one server. */
class WorkerGroup implements EchoServer {
  readonly finished: Promise<void>;
  readonly #first: EchoServer;
  readonly #workers: Worker[] = [];
  /** Per worker: once it has finished, how many connections it cut. */
  readonly #done: Promise<number>[] = [];
  readonly #admission: SharedAdmission;

  constructor(first: EchoServer, admission: SharedAdmission) {
    this.#first = first;
    this.#admission = admission;
    // Settles once every isolate has finished; workers may still be added
    // while they start, so the list is read when the first one ends.
    this.finished = first.finished
      .then(() => Promise.all(this.#done))
      .then(() => {
        for (const worker of this.#workers) worker.terminate();
      });
  }

  /** Takes in a started worker, and what it says when it is done. */
  add(worker: Worker, done: Promise<number>): void {
    this.#workers.push(worker);
    this.#done.push(done);
  }

  get addr(): Deno.NetAddr | Deno.UnixAddr {
    return this.#first.addr;
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

  async shutdown(): Promise<ShutdownResult> {
    const own = this.#first.shutdown();
    this.#tell({ type: "shutdown" });
    await this.finished;
    let closed = (await own).closed;
    for (const cut of await Promise.all(this.#done)) closed += cut;
    return { drained: closed === 0, closed };
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
