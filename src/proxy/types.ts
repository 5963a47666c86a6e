// Copyright the deno-echo authors. MIT license.

/**
 * The longest PROXY v1 line, CRLF included: `PROXY UNKNOWN` with two full
 * IPv6 addresses and two 5-digit ports.
 */
export const PROXY_V1_MAX_LENGTH = 107;

/**
 * The fixed part of a PROXY v2 header: signature, version and command,
 * family and transport, length.
 */
export const PROXY_V2_FIXED_LENGTH = 16;

/**
 * How many bytes a PROXY v2 header may declare after its fixed 16 by
 * default: room for Unix addresses (216 bytes) and the usual TLVs.
 */
export const DEFAULT_MAX_V2_LENGTH = 1024;

/** How long a peer has to send its whole PROXY header by default, in ms. */
export const DEFAULT_PROXY_HEADER_TIMEOUT = 10_000;

/** The 12 bytes a PROXY v2 header starts with. */
export const PROXY_V2_SIGNATURE: Uint8Array = Uint8Array.from(
  [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a],
);

/**
 * The transport a PROXY header names, in Deno's words: `tcp` and `udp` over
 * IPv4 or IPv6, `unix` (stream) and `unixpacket` (datagram) over Unix
 * sockets.
 */
export type ProxyTransport = "tcp" | "udp" | "unix" | "unixpacket";

/** An address carried by a PROXY header. */
export type ProxyAddr = Deno.NetAddr | Deno.UnixAddr;

/**
 * A parsed PROXY header.
 *
 * `source` and `destination` are there only when the header carries
 * addresses the receiver is to use: a `PROXY TCP4`/`TCP6` line, or a v2
 * `PROXY` command with the INET, INET6 or UNIX family and a known
 * transport. Without them (v1 `UNKNOWN`, v2 `LOCAL`, v2 `UNSPEC`) the
 * connection's own addresses stand. IPv4-mapped IPv6 addresses are given
 * as plain IPv4, IPv6 in its canonical form.
 */
export interface ProxyHeader {
  /** 1 for the text form, 2 for the binary form. */
  version: 1 | 2;
  /**
   * `proxy` when the connection is relayed for a client; `local` for a v2
   * `LOCAL` header, a connection the proxy opened itself (a health check).
   */
  command: "proxy" | "local";
  /** The relayed connection's transport, when the header names one. */
  transport?: ProxyTransport;
  /** The client's address: the connection's real peer. */
  source?: ProxyAddr;
  /** The address the client connected to (on the proxy). */
  destination?: ProxyAddr;
  /** The v2 `PP2_TYPE_ALPN` TLV as text, when present. */
  alpn?: string;
  /** The v2 `PP2_TYPE_AUTHORITY` TLV (the TLS SNI, say), when present. */
  authority?: string;
}

/**
 * What {@linkcode parseProxyHeader} makes of the bytes received so far:
 * not enough yet (`needed` is how many more it takes at least), or a whole
 * header of `length` bytes.
 */
export type ProxyHeaderParse =
  | { done: false; needed: number }
  | { done: true; header: ProxyHeader; length: number };

/** Limits for {@linkcode parseProxyHeader}. */
export interface ParseProxyHeaderOptions {
  /**
   * The most bytes a v2 header may declare after its fixed 16 (its length
   * field); a header declaring more is rejected before it is read.
   *
   * @default {1024}
   */
  maxV2Length?: number;
}

/**
 * A connection that does not begin with a valid PROXY header: bytes that
 * are not one, a header over the limits, or the end of the stream before a
 * whole header came.
 */
export class ProxyHeaderError extends Error {
  /**
   * Makes the error.
   *
   * @param message What was wrong, in one line.
   */
  constructor(message: string) {
    super(message);
    this.name = "ProxyHeaderError";
  }
}
