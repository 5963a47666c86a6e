// Copyright the deno-echo authors. MIT license.

// Reading an exposition back in a test, and the server events a test feeds
// the metrics without a server.

import { assertEquals } from "@std/assert";
import type {
  ConnectionInfo,
  EchoEndReason,
  RejectReason,
  ServerEvent,
} from "../../mod.ts";

/**
 * The samples of an exposition, by their name and labels exactly as written
 * (`name{a="x"}`); comment lines are checked to be HELP or TYPE.
 */
export function samples(text: string): Map<string, number> {
  assertEquals(text.endsWith("\n"), true, "the exposition ends in a newline");
  const out = new Map<string, number>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("#")) {
      assertEquals(/^# (HELP|TYPE) /.test(line), true, line);
      continue;
    }
    const space = line.lastIndexOf(" ");
    const value = line.slice(space + 1);
    const number = value === "+Inf" ? Infinity : Number(value);
    assertEquals(Number.isNaN(number) && value !== "NaN", false, line);
    out.set(line.slice(0, space), number);
  }
  return out;
}

/** The value of one sample; fails when it is not there. */
export function sample(
  scraped: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const text = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",");
  const key = text === "" ? name : `${name}{${text}}`;
  const value = scraped.get(key);
  if (value === undefined) {
    throw new Error(`No sample ${key} in:\n${[...scraped.keys()].join("\n")}`);
  }
  return value;
}

let nextId = 1;

/** A connection on `listener`, as events describe it. */
export function conn(listener: string, worker = 0): ConnectionInfo {
  return {
    id: nextId++,
    remoteAddr: { transport: "tcp", hostname: "192.0.2.1", port: 40000 },
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2000 },
    listener,
    worker,
  };
}

/** The open and close events of one connection. */
export function openAndClose(
  listener: string,
  bytes: number,
  reason: EchoEndReason,
): ServerEvent[] {
  const info = conn(listener);
  return [
    { type: "open", conn: info },
    { type: "close", conn: info, result: { bytes, reason, durationMs: 1 } },
  ];
}

/** A rejected connection's event. */
export function reject(listener: string, reason: RejectReason): ServerEvent {
  return { type: "reject", conn: conn(listener), reason };
}
