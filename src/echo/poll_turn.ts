// Copyright the deno-echo authors. MIT license.

// The end of a fair turn (see fair_turn.ts): a promise that settles once the
// runtime has polled its sockets, the poll that tells it which of the waiting
// connections have data.
//
// A read of a socket with nothing in it waits for that poll, and only for
// it. So the turn is a loopback TCP pair of the server's own: each turn
// starts a read on one end, which finds nothing and waits, then writes a
// byte into the other; the read completes in the poll that comes once every
// busy connection has had its share and waits. A timer also makes the
// runtime poll, but the shortest takes about 2 ms here, and with 200
// connections reading their share of 512 each turn, the turns' timers kept
// the server idle a fifth of the time.
//
// The pair is opened while many connections are open, with the permission
// to listen on and connect to 127.0.0.1 already granted (never asked for: a
// server must not prompt), and closed when the last connection ends.
// Without it, the turns are timers.

import { closeQuietly } from "../net/close.ts";

/** A loopback TCP pair: one end's read waits for a byte the other writes. */
interface WakePair {
  readonly reader: Deno.Conn;
  readonly writer: Deno.Conn;
}

/** What each wake-up read reads into; one byte a turn is all it gets. */
const WAKE_BUFFER = new Uint8Array(64);
const WAKE_BYTE = new Uint8Array([1]);

let pair: WakePair | undefined;
let opening: Promise<void> | undefined;
/** Whether the pair should be open: set by open, cleared by close. */
let wanted = false;
/**
 * The permission for 127.0.0.1 is not granted: never tried again. (Any other
 * failure is tried again the next time many connections are open.)
 */
let unavailable = false;

/**
 * Opens the loopback pair, in the background, unless it is open, opening or
 * unavailable. Until it is open, turns are timers.
 */
export function openPollTurns(): void {
  wanted = true;
  if (pair !== undefined || opening !== undefined || unavailable) return;
  opening = openPair().then(
    (opened) => {
      if (wanted) pair = opened;
      else closePair(opened);
    },
    (error) => {
      if (error instanceof Deno.errors.NotCapable) unavailable = true;
    },
  ).finally(() => opening = undefined);
}

/** Closes the loopback pair; a turn waiting on it ends. */
export function closePollTurns(): void {
  wanted = false;
  if (pair !== undefined) dropPair(pair);
}

/**
 * Settles once the pair's opening, if one is under way, has ended (opened or
 * given up on); for tests, which must not leave its operations pending.
 *
 * @returns The opening, or a settled promise.
 */
export function pollTurnsSettled(): Promise<void> {
  return opening ?? Promise.resolve();
}

/**
 * Whether turns end at the runtime's next poll of its sockets (the pair is
 * open) rather than on a timer.
 *
 * @returns Whether the pair is open.
 */
export function pollTurnsOpen(): boolean {
  return pair !== undefined;
}

/**
 * A promise that settles after the runtime's next poll of its sockets (or,
 * without the pair, on a timer). Never rejects.
 *
 * @returns The promise.
 */
export function afterNextPoll(): Promise<void> {
  const current = pair;
  if (current === undefined) {
    return new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  // The read first: it finds nothing and waits for the poll; the byte
  // written after it is what that poll finds.
  const read = current.reader.read(WAKE_BUFFER);
  // A write that fails closes the pair, so the read ends too.
  current.writer.write(WAKE_BYTE).catch(() => dropPair(current));
  return read.then(
    (n) => {
      if (n === null) dropPair(current);
    },
    () => dropPair(current),
  );
}

/**
 * Closes the pair if it is still the open one (closed, or failed under us):
 * turns go back to timers until many connections are open again.
 */
function dropPair(dropped: WakePair): void {
  if (pair !== dropped) return;
  closePair(dropped);
  pair = undefined;
}

async function openPair(): Promise<WakePair> {
  const host = "127.0.0.1";
  const query = { name: "net", host } as const;
  if (Deno.permissions.querySync(query).state !== "granted") {
    throw new Deno.errors.NotCapable(`no net permission for ${host}`);
  }
  using listener = Deno.listen({ hostname: host, port: 0 });
  const writer = await Deno.connect({
    hostname: host,
    port: listener.addr.port,
  });
  try {
    const reader = await acceptFrom(listener, writer.localAddr);
    // One byte a turn: Nagle's algorithm would hold a byte back until the
    // last one is acknowledged.
    writer.setNoDelay(true);
    return { reader, writer };
  } catch (error) {
    writer.close();
    throw error;
  }
}

/** Connections that may come before ours (another local program's). */
export const MAX_STRANGERS = 8;

/**
 * Accepts the connection from `from`, closing any other: another program on
 * the host could connect to the listener first, and a pair with it on the
 * other end would leave the turns to its mercy.
 *
 * @param listener The pair's listener.
 * @param from The local address of the pair's connecting end.
 * @returns The accepted end of that connection.
 * @throws {Deno.errors.ConnectionRefused} After `MAX_STRANGERS` others.
 */
export async function acceptFrom(
  listener: Deno.TcpListener,
  from: Deno.NetAddr,
): Promise<Deno.TcpConn> {
  for (let strangers = 0; strangers <= MAX_STRANGERS; strangers++) {
    const conn = await listener.accept();
    const peer = conn.remoteAddr;
    if (peer.port === from.port && peer.hostname === from.hostname) return conn;
    conn.close();
  }
  throw new Deno.errors.ConnectionRefused("the loopback pair was not ours");
}

function closePair(closing: WakePair): void {
  closeQuietly(closing.reader);
  closeQuietly(closing.writer);
}
