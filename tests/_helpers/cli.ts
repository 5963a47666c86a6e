// Copyright the deno-echo authors. MIT license.

// Helpers for the command-line tests: run `echo-server` and `echo-client` as
// real processes, wait for what they print (never for a fixed time), and
// always consume their output and await their exit (the sanitizers check).
//
// The programs are launched with an argv prefix (`Command`): by default
// `deno run --allow-net server.ts` / `client.ts`. Pass another prefix, such
// as `["/tmp/x/echo-server"]`, to run the same checks against a compiled
// binary, or set ECHO_SERVER_BIN / ECHO_CLIENT_BIN to re-run whole suites
// against binaries.
//
// This module gathers them from one file per concern:
// - ./proc.ts: launching, a running program (`Proc`), running to completion;
// - ./capture.ts: a program's output read as it runs, and waits on it;
// - ./server_proc.ts: starting a server, its parsed `Listening on` lines;
// - ./conn.ts: reading and writing a client connection;
// - ./output.ts: lines, log lines and the assertions on what programs print;
// - ./payload.ts: random payloads.
// Generic helpers are in ./util.ts.

export {
  assertNotServed,
  connectTo,
  isConnectionClosed,
  readExactly,
  readToEnd,
  readUntilClosed,
  roundTrip,
  writeAll,
} from "./conn.ts";
export {
  assertNoCrash,
  assertStopsCleanly,
  assertUsage,
  lines,
  logLine,
  stackFrames,
} from "./output.ts";
export { randomBytes } from "./payload.ts";
export {
  CLIENT_COMMAND,
  type Command,
  DEFAULT_TIMEOUT,
  denoRun,
  Proc,
  type ProcessResult,
  PROJECT_ROOT,
  projectPath,
  run,
  runClient,
  runServer,
  SERVER_COMMAND,
  spawn,
  type SpawnOptions,
} from "./proc.ts";
export {
  type ListeningAddr,
  parseListening,
  type ServerProc,
  startServer,
  type StartServerOptions,
} from "./server_proc.ts";
export type { Input } from "./util.ts";
