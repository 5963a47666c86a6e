// Copyright the deno-echo authors. MIT license.

// echo-server's answer to SIGINT, SIGTERM and SIGHUP: the first drains, the
// next closes every connection at once.

import { formatDuration } from "./cli.ts";
import { plural } from "./plural.ts";
import { log } from "./server_log.ts";
import type { EchoServer, ShutdownResult } from "../server/types.ts";

/**
 * The signals that stop the server: Ctrl-C, a supervisor's stop, and the
 * terminal or ssh session going away.
 */
export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * A repeat of the signal last acted on is the same one delivered twice until
 * this many ms of the event loop's time have passed, and one more of its
 * turns.
 */
const SAME_SIGNAL_MS = 200;

/** What the signals did; disposing stops acting on them. */
export interface SignalWatch extends Disposable {
  /** The signal that, sent again during the drain, closed everything. */
  readonly forced: StopSignal | undefined;
  /** What `shutdown()` will say, once a first signal has started a drain. */
  readonly drain: Promise<ShutdownResult> | undefined;
}

/**
 * The handlers, registered once per process and never removed: without one,
 * a signal that arrives while the program is on its way out (a second
 * Ctrl-C just after an idle server stopped) would kill it instead.
 *
 * Deno itself drops them once the event loop is done, while it tears the
 * runtime down, which takes a few ms: a signal then kills the process (27 of
 * 30 times with five SIGINTs 1 ms apart). So the program ends at `unload`,
 * when everything has run, with the exit code it set, before that teardown.
 */
const watches = new Set<(signal: StopSignal) => void>();
let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  globalThis.addEventListener("unload", () => Deno.exit());
  for (const signal of STOP_SIGNALS) {
    try {
      Deno.addSignalListener(signal, () => {
        for (const watch of watches) watch(signal);
      });
    } catch {
      // Not every platform has every signal (Windows lacks SIGTERM, SIGHUP).
    }
  }
}

/**
 * Handles SIGINT, SIGTERM and SIGHUP for a running server: the first drains
 * it (`shutdown()`), a second closes the connections left (`close()`).
 * Disposed, it stops acting on them, but they stay handled (ignored) until
 * the process exits.
 *
 * @param server The server.
 * @param drainTimeout Its drain timeout, for the log line.
 * @returns What happened, to read once the server has finished.
 */
export function watchSignals(
  server: EchoServer,
  drainTimeout: number,
): SignalWatch {
  let forced: StopSignal | undefined;
  let drain: Promise<ShutdownResult> | undefined;
  // The signal acted on last: a repeat before its window has passed is one
  // Ctrl-C delivered twice, not another one. Ctrl-C reaches every process of
  // the terminal's foreground group, and `deno task` (like npm) forwards it
  // to its child too, so under `deno task server` each Ctrl-C arrives twice
  // (1 ms apart): the first of each pair is handled and logged, once.
  let last: SignalWindow | undefined;
  const onSignal = (signal: StopSignal): void => {
    if (last?.signal === signal && !last.passed) return;
    const first = last === undefined;
    last = openWindow(signal);
    const open = server.connections;
    if (first) {
      log(
        open === 0
          ? `${signal}: stopped accepting; no open connections`
          : `${signal}: stopped accepting; waiting up to ${
            formatDuration(drainTimeout)
          } for ${plural(open, "open connection")} (signal again to close ${
            open === 1 ? "it" : "them"
          } now)`,
        "signal",
        { signal, open },
      );
      drain = server.shutdown();
      return;
    }
    // Only what it closes makes the exit say so: with nothing open, the
    // drain ends by itself.
    if (open > 0) forced = signal;
    const text = open === 0
      ? `${signal} again: no open connections to close`
      : `${signal} again: closing ${plural(open, "connection")} now`;
    log(text, "signal", { signal, open });
    server.close();
  };
  register();
  watches.add(onSignal);
  return {
    get forced(): StopSignal | undefined {
      return forced;
    },
    get drain(): Promise<ShutdownResult> | undefined {
      return drain;
    },
    [Symbol.dispose](): void {
      watches.delete(onSignal);
    },
  };
}

/** The time after a signal acted on in which a repeat is the same one. */
interface SignalWindow {
  readonly signal: StopSignal;
  /** Whether the window has passed. */
  passed: boolean;
}

/**
 * Opens a signal's window: it passes `SAME_SIGNAL_MS` after now and one
 * event-loop turn more, so that a repeat that was waiting while the server
 * could not run (descheduled under load, or stopped) is handled first, as
 * what it is, and not taken for a second Ctrl-C because it is handled late.
 * Its timers do not keep the process alive.
 */
function openWindow(signal: StopSignal): SignalWindow {
  const window: SignalWindow = { signal, passed: false };
  const pass = (): void => {
    window.passed = true;
  };
  const timer = setTimeout(() => {
    Deno.unrefTimer(setTimeout(pass, 0));
  }, SAME_SIGNAL_MS);
  Deno.unrefTimer(timer);
  return window;
}
