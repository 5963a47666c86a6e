// Copyright the deno-echo authors. MIT license.

// What `echo-client ping` prints: a line per probe and per change of the
// connection, the summary, or the same as JSON, one object a line.

import type {
  PingLinkEvent,
  PingMismatch,
  PingProbe,
  PingSummary,
} from "../client/ping.ts";
import type { RouteTimings } from "../client/proxy_dial.ts";
import { formatDuration } from "./cli.ts";
import { plural } from "./plural.ts";

/** A round-trip time as the probe lines show it: `0.213 ms`. */
export function formatRtt(ms: number): string {
  return `${ms.toFixed(3)} ms`;
}

/** A wait as the user gave it: `1 s`, `500 ms`, `1.5 s`. */
export function formatWait(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}

function formatByte(byte: number): string {
  if (byte < 0) return "nothing";
  const hex = `0x${byte.toString(16).padStart(2, "0")}`;
  return byte >= 0x21 && byte <= 0x7e
    ? `${hex} ("${String.fromCharCode(byte)}")`
    : hex;
}

function formatTimings(timings: RouteTimings): string {
  const parts = [`connect=${formatRtt(timings.connect)}`];
  if (timings.proxy !== undefined) {
    parts.push(`proxy=${formatRtt(timings.proxy)}`);
  }
  if (timings.tls !== undefined) parts.push(`tls=${formatRtt(timings.tls)}`);
  return parts.join(" ");
}

/** Where an echo went wrong, in words. */
export function formatMismatch(mismatch: PingMismatch): string {
  const { offset, expected, actual } = mismatch;
  if (actual < 0) return `it ends at byte ${offset}`;
  if (expected < 0) return `it goes on past the probe at byte ${offset}`;
  return `byte ${offset} is ${formatByte(actual)}, expected ${
    formatByte(expected)
  }`;
}

/**
 * A probe's line, or `undefined` for a probe that needs none.
 *
 * @param probe What became of it.
 * @param wait `-W`, in ms.
 * @returns The line, without a newline.
 */
export function probeLine(probe: PingProbe, wait: number): string {
  const { seq, from } = probe;
  const time = probe.time === undefined ? "" : `time=${formatRtt(probe.time)}`;
  switch (probe.status) {
    case "echoed": {
      const steps = probe.timings === undefined
        ? ""
        : `${formatTimings(probe.timings)} `;
      return `${probe.bytes} bytes from ${from}: seq=${seq} ${steps}${time}`;
    }
    case "late":
      return `late echo for seq=${seq} from ${from}: ${time} (counted lost)`;
    case "wrong":
      return `wrong echo for seq=${seq} from ${from}: ${
        formatMismatch(probe.mismatch!)
      }`;
    case "lost":
      switch (probe.reason) {
        case "connect failed":
          return `no connection for seq=${seq}: ${probe.error}`;
        case "disconnected":
          return `no connection for seq=${seq} (reconnecting)`;
        case "connection lost":
          return `no echo for seq=${seq}: connection lost (${probe.error})`;
        default:
          return `no echo for seq=${seq} within ${formatWait(wait)}`;
      }
  }
}

/** What the `PING` line says besides the addresses. */
export interface PingHeader {
  /** The target as given: `localhost:2000`, `unix:/run/echo.sock`. */
  target: string;
  /** The rest: `64 bytes over tcp via socks5://127.0.0.1:1080`. */
  details: string;
}

/**
 * A change of the connection, as a line.
 *
 * @param event The change.
 * @param header What the `PING` line for the first connection says.
 * @returns The line, without a newline.
 */
export function linkLine(event: PingLinkEvent, header: PingHeader): string {
  switch (event.type) {
    case "connected":
      return `PING ${header.target} (${event.remote}) from ${event.local}: ${header.details}`;
    case "lost":
      return `connection lost (${event.reason}); reconnecting`;
    case "reconnected":
      return `reconnected after ${formatDuration(event.after)} (${
        plural(event.lost, "probe")
      } lost)`;
  }
}

/**
 * The summary's lines.
 *
 * @param summary What the run measured.
 * @returns The lines, each ending in a newline.
 */
export function summaryText(summary: PingSummary): string {
  const { sent, echoed, wrong, late, reconnects, rtt } = summary;
  const counts = [`${sent} sent`, `${echoed} echoed`];
  if (wrong > 0) counts.push(`${wrong} wrong`);
  counts.push(`${lossPercent(summary)}% lost`);
  if (late > 0) counts.push(`${late} late`);
  counts.push(plural(reconnects, "reconnect"));
  counts.push(`time ${formatDuration(summary.time)}`);
  let text = `--- ${summary.target} echo ping statistics ---\n` +
    `${counts.join(", ")}\n`;
  if (rtt !== null) {
    const numbers = [rtt.min, rtt.avg, rtt.max, rtt.mdev]
      .map((ms) => ms.toFixed(3)).join("/");
    text += `rtt min/avg/max/mdev = ${numbers} ms\n`;
  }
  return text;
}

/** Lost probes as a share of those sent, in percent, at most one decimal. */
export function lossPercent(summary: PingSummary): number {
  if (summary.sent === 0) return 0;
  return Math.round((summary.lost / summary.sent) * 1000) / 10;
}

const ms = (value: number): number => Math.round(value * 1000) / 1000;

/** A probe as a `--json` object. */
export function probeJson(probe: PingProbe): Record<string, unknown> {
  const { seq, status, time, timings, ...rest } = probe;
  return {
    type: "probe",
    seq,
    status,
    ...rest,
    ...(time === undefined ? {} : { timeMs: ms(time) }),
    ...(timings === undefined ? {} : {
      connectMs: ms(timings.connect),
      ...(timings.proxy === undefined ? {} : { proxyMs: ms(timings.proxy) }),
      ...(timings.tls === undefined ? {} : { tlsMs: ms(timings.tls) }),
    }),
  };
}

/** A change of the connection as a `--json` object. */
export function linkJson(event: PingLinkEvent): Record<string, unknown> {
  if (event.type !== "reconnected") return { ...event };
  const { after, ...rest } = event;
  return { ...rest, afterMs: ms(after) };
}

/** The summary as a `--json` object. */
export function summaryJson(summary: PingSummary): Record<string, unknown> {
  const { time, rtt, ...counts } = summary;
  return {
    type: "summary",
    ...counts,
    lossPercent: lossPercent(summary),
    timeMs: ms(time),
    rttMs: rtt === null ? null : {
      min: ms(rtt.min),
      avg: ms(rtt.avg),
      max: ms(rtt.max),
      mdev: ms(rtt.mdev),
    },
  };
}
