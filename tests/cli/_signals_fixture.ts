// Copyright the deno-echo authors. MIT license.

// echo-server's signal handling around a server of the test's own: one whose
// drain lasts until `close()`, with `OPEN` connections (the first argument)
// open throughout. It prints `ready` once the signals are watched and, once
// closed, what the watch says was forced.

import {
  type SignalWatch,
  watchSignals,
} from "../../src/cli/server_signals.ts";
import type { EchoServer, ShutdownResult } from "../../src/server/types.ts";

async function write(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) {
    off += await Deno.stdout.write(bytes.subarray(off));
  }
}

const open = Number(Deno.args[0] ?? "0");
const { promise: closed, resolve: close } = Promise.withResolvers<void>();
const server = {
  get connections(): number {
    return open;
  },
  shutdown: (): Promise<ShutdownResult> =>
    closed.then(() => ({ drained: false, closed: open })),
  close: (): Promise<void> => {
    close();
    return closed;
  },
} as unknown as EchoServer;

using watch: SignalWatch = watchSignals(server, 60_000);
await write("ready\n");
await closed;
const result = await watch.drain;
await write(`forced: ${watch.forced ?? "none"}; closed: ${result?.closed}\n`);
