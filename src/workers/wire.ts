// Copyright the deno-echo authors. MIT license.

// What crosses between the first isolate and its workers, and how errors
// and events are carried across.

import type { ListenerSpec } from "../net/listen_url.ts";
import type { Settings } from "../server/options.ts";
import type {
  ConnectionInfo,
  ConnectionResult,
  ServeOptions,
  ServerEvent,
} from "../server/types.ts";

/** An error as it crosses between isolates: its class name and message. */
export interface WireError {
  /** `Error.name`, e.g. `ConnectionReset`. */
  name: string;
  /** `Error.message`. */
  message: string;
}

/**
 * The options a worker runs with: the settings the first isolate resolved
 * (every option with a default that applies per connection), and the TLS
 * certificate. Hooks and signals stay in the first isolate.
 */
export type WorkerOptions =
  & Settings
  & Pick<ServeOptions, "tls" | "proxyFrom" | "proxyHeaderTimeout">;

/** From the first isolate to a worker. */
export type ToWorker =
  | {
    type: "start";
    /** The exact addresses the first isolate holds, to join. */
    listen: ListenerSpec[];
    options: WorkerOptions;
    /** Whether the caller has an `onEvent` hook to post events for. */
    events: boolean;
    /** Backs the `SharedAdmission` every isolate uses. */
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
  /** Server events, in order, batched: one message per many events. */
  | { type: "events"; events: WireEvent[] }
  /** The worker's server has finished; it cut `closed` connections. */
  | { type: "finished"; closed: number };

/** A {@linkcode ServerEvent} as it crosses: errors as {@linkcode WireError}. */
export type WireEvent =
  | Exclude<
    ServerEvent,
    { type: "close" | "handshake-error" | "proxy-error" | "accept-error" }
  >
  | {
    type: "close";
    conn: ConnectionInfo;
    result: Omit<ConnectionResult, "error">;
    error?: WireError;
  }
  | { type: "handshake-error"; conn: ConnectionInfo; error: WireError }
  | { type: "proxy-error"; conn: ConnectionInfo; error: WireError }
  | { type: "accept-error"; error: WireError };

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
 * Makes an event fit to post to another isolate.
 *
 * @param event What a worker's server reported.
 * @returns The same event, its errors serialized.
 */
export function eventToWire(event: ServerEvent): WireEvent {
  switch (event.type) {
    case "close": {
      const { error, ...result } = event.result;
      const { conn } = event;
      return error === undefined
        ? { type: "close", conn, result }
        : { type: "close", conn, result, error: toWire(error) };
    }
    case "handshake-error":
    case "proxy-error":
      return { ...event, error: toWire(event.error) };
    case "accept-error":
      return { type: "accept-error", error: toWire(event.error) };
    default:
      return event;
  }
}

/**
 * Rebuilds an event posted by {@linkcode eventToWire}.
 *
 * @param event What arrived.
 * @returns The event as the worker's server reported it.
 */
export function eventFromWire(event: WireEvent): ServerEvent {
  switch (event.type) {
    case "close": {
      const { conn, result, error } = event;
      return error === undefined ? { type: "close", conn, result } : {
        type: "close",
        conn,
        result: { ...result, error: fromWire(error) },
      };
    }
    case "handshake-error":
    case "proxy-error":
      return { ...event, error: fromWire(event.error) };
    case "accept-error":
      return { type: "accept-error", error: fromWire(event.error) };
    default:
      return event;
  }
}
