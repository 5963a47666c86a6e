// Copyright the deno-echo authors. MIT license.

import { parseProxyV1 } from "./parse_v1.ts";
import { parseProxyV2 } from "./parse_v2.ts";
import { showBytes } from "./show_bytes.ts";
import {
  DEFAULT_MAX_V2_LENGTH,
  type ParseProxyHeaderOptions,
  PROXY_V2_SIGNATURE,
  ProxyHeaderError,
  type ProxyHeaderParse,
} from "./types.ts";

/**
 * Parses the PROXY header (v1 text or v2 binary) at the start of a
 * connection from the bytes received so far. Call it again with more bytes
 * until it is done; it never guesses: bytes that cannot begin a valid
 * header are refused as soon as they disagree, whether or not more could
 * follow. It reads no byte past the header (`length`), and never asks for
 * more than 107 bytes (v1) or 16 plus `maxV2Length` (v2) in all.
 *
 * @example Parse a v1 header followed by data
 * ```ts
 * import { parseProxyHeader } from "./parse.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new TextEncoder().encode(
 *   "PROXY TCP4 203.0.113.7 192.0.2.1 51234 2000\r\nhello",
 * );
 * assertEquals(parseProxyHeader(bytes.subarray(0, 10)), { done: false, needed: 22 });
 * const result = parseProxyHeader(bytes);
 * assertEquals(result.done && result.length, 45);
 * assertEquals(result.done && result.header.source, {
 *   transport: "tcp",
 *   hostname: "203.0.113.7",
 *   port: 51234,
 * });
 * ```
 *
 * @example Refuse a connection that does not start with a header
 * ```ts
 * import { parseProxyHeader } from "./parse.ts";
 * import { ProxyHeaderError } from "./types.ts";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(
 *   () => parseProxyHeader(new TextEncoder().encode("G")),
 *   ProxyHeaderError,
 *   "expected \"PROXY \" or the v2 signature",
 * );
 * ```
 *
 * @param data The connection's first bytes (more than the header is fine).
 * @param options The v2 length limit.
 * @returns `{ done: true, header, length }` once a whole header is there,
 * else `{ done: false, needed }` with the least number of bytes still to
 * come (at least 1).
 * @throws {ProxyHeaderError} If the bytes are not, or cannot become, a
 * valid header within the limits.
 * @throws {RangeError} If `maxV2Length` is not a whole number from 0 to
 * 65535.
 */
export function parseProxyHeader(
  data: Uint8Array,
  options: ParseProxyHeaderOptions = {},
): ProxyHeaderParse {
  const maxLength = checkMaxV2Length(options.maxV2Length);
  if (data.length === 0) return { done: false, needed: 1 };
  if (data[0] === 0x50) return parseProxyV1(data);
  if (data[0] === PROXY_V2_SIGNATURE[0]) return parseProxyV2(data, maxLength);
  throw new ProxyHeaderError(
    `Invalid PROXY header: expected "PROXY " or the v2 signature, got ${
      showBytes(data)
    }`,
  );
}

/**
 * Checks a `maxV2Length` option.
 *
 * @param value The option as given.
 * @returns The limit to apply.
 * @throws {RangeError} If it is not a whole number from 0 to 65535.
 */
export function checkMaxV2Length(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_V2_LENGTH;
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(
      `Invalid maxV2Length "${value}": expected a whole number from 0 to 65535`,
    );
  }
  return value;
}
