// Copyright the deno-echo authors. MIT license.

// Listening to one kind of server event in a test.

import type { ConnectionInfo, ServerEvent } from "../../mod.ts";

/** The event of one `type`. */
export type EventOf<T extends ServerEvent["type"]> = Extract<
  ServerEvent,
  { type: T }
>;

/** A closed connection's event. */
export type CloseEvent = EventOf<"close">;

/**
 * An `onEvent` hook that passes events of one type to `fn` and ignores the
 * others.
 */
export function on<T extends ServerEvent["type"]>(
  type: T,
  fn: (event: EventOf<T>) => void,
): (event: ServerEvent) => void {
  return (event) => {
    if (event.type === type) fn(event as EventOf<T>);
  };
}

/** An `onEvent` hook that passes every event to each of `hooks`. */
export function all(
  ...hooks: ((event: ServerEvent) => void)[]
): (event: ServerEvent) => void {
  return (event) => {
    for (const hook of hooks) hook(event);
  };
}

/** A server's opened connections and failed handshakes, as they come. */
export interface HandshakeLog {
  /** What each `open` event said. */
  opened: ConnectionInfo[];
  /** The error of each `handshake-error` event. */
  failures: unknown[];
  /** The `onEvent` hook that fills them. */
  onEvent: (event: ServerEvent) => void;
}

/** A {@linkcode HandshakeLog}, empty. */
export function handshakeLog(): HandshakeLog {
  const opened: ConnectionInfo[] = [];
  const failures: unknown[] = [];
  return {
    opened,
    failures,
    onEvent: all(
      on("open", ({ conn }) => opened.push(conn)),
      on("handshake-error", ({ error }) => failures.push(error)),
    ),
  };
}
