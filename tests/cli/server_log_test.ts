// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { EventLog, type EventLogArgs } from "../../src/cli/server_log.ts";
import {
  closeLog,
  formatEntry,
  type LogFormat,
  LogOutput,
  openLog,
} from "../../src/cli/server_log_output.ts";
import type { ConnectionInfo, ServerEvent } from "../../mod.ts";

const ARGS: EventLogArgs = {
  listen: [],
  workers: 1,
  quiet: false,
  maxConnections: 10,
  maxPerIp: 2,
};

/** Whether a line holds a control character or a bidirectional override. */
function hasControl(line: string): boolean {
  return [...line].some((c) => {
    const code = c.codePointAt(0)!;
    return code < 0x20 || code === 0x7f || code === 0x202e;
  });
}

const FORGED = "/tmp/c\n2026-01-01T00:00:00.000Z #9 \x1b[2Kforged\u202e";

function unixConn(path: string): ConnectionInfo {
  return {
    id: 7,
    remoteAddr: { transport: "unix", path },
    localAddr: { transport: "unix", path: "/tmp/s.sock" },
    listener: "unix:/tmp/s.sock",
    worker: 0,
  };
}

/** The lines an event log writes for `events`, in `format`. */
async function logged(
  format: LogFormat,
  events: ServerEvent[],
): Promise<string[]> {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const output = openLog(format, {
    write: (p) => {
      chunks.push(decoder.decode(p));
      return Promise.resolve(p.length);
    },
  });
  {
    using log = new EventLog(ARGS, () => 1);
    for (const event of events) log.onEvent(event);
  }
  assert(await closeLog(output, 1000));
  const text = chunks.join("");
  assert(text.endsWith("\n"));
  return text.slice(0, -1).split("\n");
}

Deno.test("EventLog escapes a Unix peer's path: one line per event, nothing forged", async (t) => {
  const conn = unixConn(FORGED);
  const events: ServerEvent[] = [
    { type: "open", conn },
    {
      type: "close",
      conn,
      result: {
        bytes: 3,
        reason: "error",
        durationMs: 2,
        error: new Error(`bad "${FORGED}"`),
      },
    },
  ];
  await t.step("text", async () => {
    const lines = await logged("text", events);
    assertEquals(lines.length, 2);
    for (const line of lines) {
      assert(/^\d{4}-\d\d-\d\dT[\d:.]+Z #7 unix:\/tmp\/c\\n/.test(line), line);
      assert(!hasControl(line), line);
      assertStringIncludes(line, "\\x1b[2Kforged\\u{202e}");
    }
  });
  await t.step("json", async () => {
    const lines = await logged("json", events);
    assertEquals(lines.length, 2);
    for (const line of lines) {
      assert(!hasControl(line), line);
      const entry = JSON.parse(line);
      assertEquals(entry.peer, `unix:${FORGED}`);
      assertEquals(entry.id, 7);
    }
    const [open, close] = lines.map((l) => JSON.parse(l));
    assertEquals(open.event, "open");
    assertEquals(close.event, "close");
    assertEquals(close.bytes, 3);
    assertEquals(close.duration_ms, 2);
    assertEquals(close.reason, "error");
    assertEquals(close.level, "warn");
    assertEquals(close.error, `bad "${FORGED}"`);
  });
});

Deno.test("formatEntry() writes text with a timestamp, or one JSON object", () => {
  const at = new Date("2026-12-01T10:00:00.000Z");
  const entry = {
    event: "reject",
    level: "warn" as const,
    text: "#1 192.0.2.1:4 rejected",
    fields: { id: 1, reason: "max-per-ip", left: undefined, ok: true },
  };
  assertEquals(
    formatEntry(entry, "text", at),
    "2026-12-01T10:00:00.000Z #1 192.0.2.1:4 rejected",
  );
  assertEquals(
    formatEntry(entry, "json", at),
    '{"ts":"2026-12-01T10:00:00.000Z","level":"warn","event":"reject","id":1,' +
      '"reason":"max-per-ip","ok":true,"message":"#1 192.0.2.1:4 rejected"}',
  );
  // Characters JSON.stringify leaves raw are escaped, the value unchanged.
  const tricky = formatEntry(
    { event: "x", text: "a\u009b\u2028\u202eb\x7f" },
    "json",
    at,
  );
  assert(/^[\x20-\x7e]+$/.test(tricky), tricky);
  assertEquals(JSON.parse(tricky).message, "a\u009b\u2028\u202eb\x7f");
});

Deno.test("EventLog rate-limit summaries are log lines of their own kind", async () => {
  const events: ServerEvent[] = [];
  for (let i = 0; i < 3; i++) {
    events.push({ type: "accept-error", error: new Error(`no fd ${i}`) });
  }
  const lines = (await logged("json", events)).map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => l.event), ["accept-error", "log-rate-limit"]);
  assertEquals(lines[0].level, "error");
  assertEquals(lines[0].error, "no fd 0");
  assertStringIncludes(lines[1].message, "2 more accept failures left out");
});

Deno.test("LogOutput in JSON says how many lines it dropped in a JSON line", async () => {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const stalled = Promise.withResolvers<void>();
  const output = new LogOutput("json", {
    write: async (p) => {
      await stalled.promise;
      chunks.push(decoder.decode(p));
      return p.length;
    },
  });
  for (let i = 0; i < 10_050; i++) {
    output.write({ event: "x", text: `line ${i}` });
  }
  assertEquals(output.writer.dropped, 50);
  stalled.resolve();
  assert(await output.writer.flush(5000));
  const lines = chunks.join("").slice(0, -1).split("\n");
  const entries = lines.map((line) => JSON.parse(line));
  const last = entries.at(-1);
  assertEquals([last.event, last.level, last.dropped], [
    "log-dropped",
    "warn",
    50,
  ]);
  assertEquals(
    last.message,
    "... 50 log lines dropped: stderr is not being read",
  );
  assertEquals(entries.length, 10_001);
});
