// Copyright the deno-echo authors. MIT license.

/**
 * Turns Nagle's algorithm off, so that echoes go out at once.
 *
 * @param conn A connection: TCP has Nagle to turn off; anything else without
 * `setNoDelay` (Unix sockets, say) is left as it is.
 */
export function noDelay(conn: object): void {
  try {
    (conn as Partial<Pick<Deno.TcpConn, "setNoDelay">>).setNoDelay?.(true);
  } catch {
    // The peer is already gone; what follows will find out.
  }
}
