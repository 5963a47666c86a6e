// Copyright the deno-echo authors. MIT license.

// Scripted TCP servers for the load generator's tests: a real echo that can
// corrupt what it sends back, or any other behaviour a test writes.

/** A TCP server on 127.0.0.1:0 that runs `handle` on each connection. */
export interface ScriptedServer extends AsyncDisposable {
  readonly port: number;
}

export function scriptedServer(
  handle: (conn: Deno.TcpConn) => Promise<void>,
): ScriptedServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return; // Closed.
      }
      tasks.push(
        handle(conn).catch(() => {}).finally(() => {
          try {
            conn.close();
          } catch {
            // Closed by the handler.
          }
        }),
      );
    }
  })();
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose](): Promise<void> {
      listener.close();
      await accepting;
      await Promise.all(tasks);
    },
  };
}

/** Echoes, but writes `edit(offset, chunk)` of each chunk read. */
export function echoing(
  edit: (offset: number, chunk: Uint8Array) => void = () => {},
): (conn: Deno.TcpConn) => Promise<void> {
  return async (conn) => {
    const buffer = new Uint8Array(4096);
    let offset = 0;
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      const chunk = buffer.subarray(0, n);
      edit(offset, chunk);
      offset += n;
      for (let done = 0; done < n;) {
        done += await conn.write(chunk.subarray(done));
      }
    }
  };
}

/** `BenchResult.errors` of a clean run. */
export const NO_ERRORS = {
  mismatches: 0,
  closedEarly: 0,
  resets: 0,
  timeouts: 0,
  overruns: 0,
  other: 0,
  lost: 0,
};
