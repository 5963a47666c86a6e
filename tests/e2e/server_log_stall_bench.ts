// Copyright the deno-echo authors. MIT license.

// A measurement, not a test: echo-server with a stderr nobody reads keeps
// echoing. Runs N short connections (default 100,000) against a server whose
// stderr pipe is never read, then times a fresh client's echo, reads the
// dropped log lines from the metrics, and times the exit after SIGTERM.
//
//   deno run --allow-net --allow-run --allow-read --allow-env \
//     tests/e2e/server_log_stall_bench.ts [N] [CONCURRENCY] [SERVER_SCRIPT]
//
// SERVER_SCRIPT (another echo-server, e.g. an older one, to compare) is run
// without --metrics; the run stops early after 50 failed connections.

import { projectPath } from "../_helpers/proc.ts";

const total = Number(Deno.args[0] ?? 100_000);
const concurrency = Number(Deno.args[1] ?? 32);
const script = Deno.args[2];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function say(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    script ?? projectPath("server.ts"),
    "--hostname",
    "0.0.0.0",
    "--port",
    "0",
    "--max-per-ip",
    "0",
    ...(script === undefined ? ["--metrics", "127.0.0.1:0"] : []),
  ],
  stdin: "null",
  stdout: "piped",
  stderr: "piped", // never read
}).spawn();

let stdout = "";
const reader = child.stdout.getReader();
while (!/Listening on \S+:\d+\n/.test(stdout)) {
  const { value, done } = await reader.read();
  if (done) throw new Error(`server exited:\n${stdout}`);
  stdout += decoder.decode(value);
}
reader.releaseLock();
const port = Number(/Listening on \S+:(\d+)\n/.exec(stdout)![1]);
const metricsUrl = /Metrics on (\S+)\n/.exec(stdout)?.[1];

/** One connection: send a line and the quit word, read the echo. */
async function once(i: number, deadline = 10_000): Promise<number> {
  const start = performance.now();
  // Several loopback addresses, for enough (address, port) pairs.
  using conn = await Deno.connect({
    hostname: `127.0.0.${1 + i % 8}`,
    port,
  });
  const timer = setTimeout(() => conn.close(), deadline);
  try {
    await conn.write(encoder.encode(`${i}\nBYE\n`));
    const want = `${i}\nBYE\n`.length;
    const buf = new Uint8Array(64);
    let got = 0;
    while (got < want) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += n;
    }
    if (got < want) throw new Error(`connection ${i}: ${got} of ${want}`);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - start;
}

async function dropped(): Promise<string> {
  if (metricsUrl === undefined) return "n/a";
  const text = await (await fetch(metricsUrl)).text();
  return /^echo_log_lines_dropped_total (\d+)$/m.exec(text)?.[1] ?? "?";
}

const started = performance.now();
let next = 0;
let failures = 0;
let served = 0;
let slowest = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      try {
        slowest = Math.max(slowest, await once(i));
        served++;
      } catch {
        if (++failures === 50) next = total;
      }
      if (i % 10_000 === 0) {
        say(
          `${i} connections, ${
            ((performance.now() - started) / 1000).toFixed(1)
          } s, log lines dropped: ${await dropped()}`,
        );
      }
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
say(
  `${served} of ${total} connections served in ${seconds.toFixed(1)} s (${
    (served / seconds).toFixed(0)
  }/s), ${failures} failed, slowest ${slowest.toFixed(1)} ms`,
);
try {
  const fresh = await once(total, 2000);
  say(`fresh client echoed in ${fresh.toFixed(1)} ms`);
} catch (error) {
  say(`fresh client not echoed within 2 s: ${error}`);
}
say(`log lines dropped (metrics): ${await dropped()}`);

const stopAt = performance.now();
child.kill("SIGTERM");
const killer = setTimeout(() => {
  say("still running 10 s after SIGTERM: SIGKILL");
  child.kill("SIGKILL");
}, 10_000);
const status = await child.status;
clearTimeout(killer);
say(
  `exit after SIGTERM: code ${status.code} in ${
    (performance.now() - stopAt).toFixed(0)
  } ms`,
);
await child.stdout.cancel();
await child.stderr.cancel();
