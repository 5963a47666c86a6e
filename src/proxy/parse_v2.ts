// Copyright the deno-echo authors. MIT license.

// The PROXY v2 binary header: a 12-byte signature, version and command,
// family and transport, a 16-bit length, then the address block and TLVs.
// Each fixed byte is checked as soon as it arrives, the length against the
// limit before anything after it is awaited, and the TLVs strictly (a TLV
// that runs past the header is refused, as HAProxy does).

import { crc32c } from "./crc32c.ts";
import { formatIpUnmapped } from "./ip_bytes.ts";
import { showBytes } from "./show_bytes.ts";
import {
  PROXY_V2_FIXED_LENGTH,
  PROXY_V2_SIGNATURE,
  type ProxyAddr,
  type ProxyHeader,
  ProxyHeaderError,
  type ProxyHeaderParse,
  type ProxyTransport,
} from "./types.ts";

const LOCAL = 0x0;
const PROXY = 0x1;
/** Address block bytes per family: INET, INET6, UNIX. */
const ADDRESS_LENGTH: Record<number, number> = { 1: 12, 2: 36, 3: 216 };
const FAMILY_NAME: Record<number, string> = { 1: "IPv4", 2: "IPv6", 3: "Unix" };
const UNIX_PATH = 108;

const PP2_TYPE_ALPN = 0x01;
const PP2_TYPE_AUTHORITY = 0x02;
const PP2_TYPE_CRC32C = 0x03;

const decoder = new TextDecoder();

function invalid(reason: string): ProxyHeaderError {
  return new ProxyHeaderError(`Invalid PROXY v2 header: ${reason}`);
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * Parses a PROXY v2 header from the bytes received so far.
 *
 * @param data The connection's first bytes.
 * @param maxLength The most bytes the header may declare after its fixed 16.
 * @returns The header and its length, or how many more bytes it needs.
 * @throws {ProxyHeaderError} As soon as the bytes cannot be a valid header.
 */
export function parseProxyV2(
  data: Uint8Array,
  maxLength: number,
): ProxyHeaderParse {
  const n = data.length;
  const signed = Math.min(n, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < signed; i++) {
    if (data[i] !== PROXY_V2_SIGNATURE[i]) {
      throw invalid(
        `expected the v2 signature, got ${showBytes(data.subarray(0, signed))}`,
      );
    }
  }
  const command = n > 12 ? checkVersionCommand(data[12]!) : undefined;
  if (n > 13 && command === PROXY) checkFamily(data[13]!);
  if (n < PROXY_V2_FIXED_LENGTH) {
    return { done: false, needed: PROXY_V2_FIXED_LENGTH - n };
  }
  const length = (data[14]! << 8) | data[15]!;
  if (length > maxLength) {
    throw invalid(
      `length ${length} is over the limit of ${maxLength} bytes`,
    );
  }
  const family = data[13]! >> 4;
  const addresses = command === PROXY && (data[13]! & 0xf) !== 0
    ? ADDRESS_LENGTH[family] ?? 0
    : 0;
  if (length < addresses) {
    throw invalid(
      `length ${length} is too short for the ${
        FAMILY_NAME[family]
      } address block (${addresses} bytes)`,
    );
  }
  const total = PROXY_V2_FIXED_LENGTH + length;
  if (n < total) return { done: false, needed: total - n };
  const bytes = data.subarray(0, total);
  const header: ProxyHeader = command === LOCAL
    ? { version: 2, command: "local" }
    : { version: 2, command: "proxy" };
  if (addresses > 0) {
    Object.assign(header, readAddresses(bytes), readTlvs(bytes, addresses));
  }
  return { done: true, header, length: total };
}

function checkVersionCommand(byte: number): number {
  if (byte >> 4 !== 2) {
    throw invalid(`version ${byte >> 4} is not 2 (byte 13 is ${hex(byte)})`);
  }
  const command = byte & 0xf;
  if (command !== LOCAL && command !== PROXY) {
    throw invalid(`unknown command ${command} (byte 13 is ${hex(byte)})`);
  }
  return command;
}

function checkFamily(byte: number): void {
  if (byte >> 4 > 3) {
    throw invalid(
      `unknown address family ${byte >> 4} (byte 14 is ${hex(byte)})`,
    );
  }
  if ((byte & 0xf) > 2) {
    throw invalid(`unknown transport ${byte & 0xf} (byte 14 is ${hex(byte)})`);
  }
}

/** The transport and both addresses of a PROXY command's address block. */
function readAddresses(
  bytes: Uint8Array,
): Pick<ProxyHeader, "transport" | "source" | "destination"> {
  const family = bytes[13]! >> 4;
  const stream = (bytes[13]! & 0xf) === 1;
  const at = PROXY_V2_FIXED_LENGTH;
  if (family === 3) {
    const transport: ProxyTransport = stream ? "unix" : "unixpacket";
    return {
      transport,
      source: { transport, path: unixPath(bytes.subarray(at, at + UNIX_PATH)) },
      destination: {
        transport,
        path: unixPath(bytes.subarray(at + UNIX_PATH, at + 2 * UNIX_PATH)),
      },
    };
  }
  const transport = stream ? "tcp" : "udp";
  const size = family === 1 ? 4 : 16;
  const ports = new DataView(bytes.buffer, bytes.byteOffset + at + 2 * size);
  const address = (offset: number, port: number): ProxyAddr => ({
    transport,
    hostname: formatIpUnmapped(bytes.subarray(at + offset, at + offset + size)),
    port,
  });
  return {
    transport,
    source: address(0, ports.getUint16(0)),
    destination: address(size, ports.getUint16(2)),
  };
}

/**
 * A `sun_path`: up to the first NUL; an abstract name (a leading NUL) is
 * shown as `@name`, as `ss` does.
 */
function unixPath(bytes: Uint8Array): string {
  if (bytes[0] === 0) {
    let end = bytes.length;
    while (end > 1 && bytes[end - 1] === 0) end--;
    return end > 1 ? `@${decoder.decode(bytes.subarray(1, end))}` : "";
  }
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/**
 * Walks the TLVs after the address block: keeps ALPN and authority, checks
 * a CRC32C, skips the rest.
 */
function readTlvs(
  bytes: Uint8Array,
  addresses: number,
): Pick<ProxyHeader, "alpn" | "authority"> {
  const found: Pick<ProxyHeader, "alpn" | "authority"> = {};
  let at = PROXY_V2_FIXED_LENGTH + addresses;
  while (at < bytes.length) {
    if (at + 3 > bytes.length) {
      throw invalid(
        `TLV header cut short at byte ${at + 1} of ${bytes.length}`,
      );
    }
    const type = bytes[at]!;
    const length = (bytes[at + 1]! << 8) | bytes[at + 2]!;
    const value = bytes.subarray(at + 3, at + 3 + length);
    if (value.length < length) {
      throw invalid(
        `TLV ${hex(type)} of ${length} bytes runs past the end of the header`,
      );
    }
    if (type === PP2_TYPE_ALPN) found.alpn ??= decoder.decode(value);
    if (type === PP2_TYPE_AUTHORITY) found.authority ??= decoder.decode(value);
    if (type === PP2_TYPE_CRC32C) checkCrc(bytes, at + 3, length);
    at += 3 + length;
  }
  return found;
}

function checkCrc(bytes: Uint8Array, at: number, length: number): void {
  if (length !== 4) {
    throw invalid(`CRC32C TLV of ${length} bytes (expected 4)`);
  }
  const sent = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(
    0,
  );
  const copy = bytes.slice();
  copy.fill(0, at, at + 4);
  const computed = crc32c(copy);
  if (computed !== sent) {
    throw invalid(
      `CRC32C ${hex32(sent)} does not match the header's ${hex32(computed)}`,
    );
  }
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
