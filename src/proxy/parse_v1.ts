// Copyright the deno-echo authors. MIT license.

// The PROXY v1 text line: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or
// "PROXY UNKNOWN ...\r\n", at most 107 bytes. Every field is checked as soon
// as it is complete (and a partial one as far as it goes), so a line that
// cannot become valid is refused without waiting for more.

import { formatIpUnmapped, parseIPv4, parseIPv6 } from "./ip_bytes.ts";
import { latin1, showBytes, showText } from "./show_bytes.ts";
import {
  PROXY_V1_MAX_LENGTH,
  ProxyHeaderError,
  type ProxyHeaderParse,
} from "./types.ts";

const PREFIX = "PROXY ";
const CR = 0x0d;
const LF = 0x0a;
/** The shortest line of each protocol ("PROXY UNKNOWN\r\n" for one). */
const MIN_LINE: Record<string, number> = { TCP4: 32, TCP6: 22, UNKNOWN: 15 };
const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

interface Family {
  name: "TCP4" | "TCP6";
  /** Whether a whole field is an address of this family. */
  parse(text: string): Uint8Array | undefined;
  /** What a partial address field may hold. */
  partial: RegExp;
  /** The shortest address. */
  min: number;
}

const FAMILIES: Record<"TCP4" | "TCP6", Family> = {
  TCP4: { name: "TCP4", parse: parseIPv4, partial: /^[0-9.]{0,15}$/, min: 7 },
  TCP6: {
    name: "TCP6",
    parse: parseIPv6,
    partial: /^[0-9A-Fa-f:.]{0,45}$/,
    min: 2,
  },
};

function invalid(reason: string): ProxyHeaderError {
  return new ProxyHeaderError(`Invalid PROXY v1 header: ${reason}`);
}

/**
 * Parses a PROXY v1 line from the bytes received so far.
 *
 * @param data The connection's first bytes.
 * @returns The header and its length, or how many more bytes it needs.
 * @throws {ProxyHeaderError} As soon as the bytes cannot be a valid line.
 */
export function parseProxyV1(data: Uint8Array): ProxyHeaderParse {
  const result = parseLine(data);
  const n = Math.min(data.length, PROXY_V1_MAX_LENGTH);
  if (!result.done && n + result.needed > PROXY_V1_MAX_LENGTH) {
    throw invalid(`line would be longer than ${PROXY_V1_MAX_LENGTH} bytes`);
  }
  return result;
}

function parseLine(data: Uint8Array): ProxyHeaderParse {
  const n = Math.min(data.length, PROXY_V1_MAX_LENGTH);
  for (let i = 0; i < Math.min(n, PREFIX.length); i++) {
    if (data[i] !== PREFIX.charCodeAt(i)) {
      throw invalid(`expected "PROXY ", got ${showBytes(data.subarray(0, n))}`);
    }
  }
  if (n < PREFIX.length) {
    return { done: false, needed: MIN_LINE.UNKNOWN! - n };
  }
  const end = findLineEnd(data, n);
  // A CR ends the line: the next byte is LF or the line is refused.
  const trailingCR = end < 0 && data[n - 1] === CR;
  if (end < 0 && n >= PROXY_V1_MAX_LENGTH) {
    throw invalid(
      `no CRLF within the first ${PROXY_V1_MAX_LENGTH} bytes`,
    );
  }
  const line = latin1(data.subarray(0, end >= 0 ? end : n - +trailingCR));
  const complete = end >= 0 || trailingCR;
  const fields = line.split(" ");
  const protocol = fields[1]!;
  if (fields.length === 2 && !complete) {
    const candidates = Object.keys(MIN_LINE).filter((name) =>
      name.startsWith(protocol)
    );
    if (candidates.length === 0) {
      throw invalid(`unknown protocol ${showText(protocol)}`);
    }
    const min = Math.min(...candidates.map((name) => MIN_LINE[name]!));
    return { done: false, needed: Math.max(1, min - n) };
  }
  if (protocol === "UNKNOWN") {
    // The receiver ignores whatever comes after UNKNOWN on the line.
    if (end < 0) return { done: false, needed: trailingCR ? 1 : 2 };
    return {
      done: true,
      header: { version: 1, command: "proxy" },
      length: end + 2,
    };
  }
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    throw invalid(`unknown protocol ${showText(protocol)}`);
  }
  return parseAddresses(FAMILIES[protocol], fields, complete, end);
}

/**
 * Where the CRLF is (the index of its CR), or -1 if not yet seen; a CR
 * without LF or an LF without CR is refused.
 */
function findLineEnd(data: Uint8Array, n: number): number {
  for (let i = PREFIX.length; i < n; i++) {
    if (data[i] === LF) throw invalid("LF without CR");
    if (data[i] === CR) {
      if (i + 1 >= n) return -1;
      if (data[i + 1] !== LF) throw invalid("CR without LF");
      return i;
    }
  }
  return -1;
}

function parseAddresses(
  family: Family,
  fields: string[],
  complete: boolean,
  end: number,
): ProxyHeaderParse {
  if (fields.length > 6) {
    throw invalid(`more than 6 fields in ${showText(fields.join(" "))}`);
  }
  for (let k = 2; k < fields.length; k++) {
    checkField(family, k, fields[k]!, k < fields.length - 1 || complete);
  }
  if (complete && fields.length < 6) {
    throw invalid(
      `expected ${family.name} SOURCE DESTINATION SOURCE_PORT DESTINATION_PORT, got ${
        showText(fields.join(" "))
      }`,
    );
  }
  if (end >= 0) {
    // Field k is an address, field k + 2 its port.
    const address = (k: number): Deno.NetAddr => ({
      transport: "tcp",
      hostname: formatIpUnmapped(family.parse(fields[k]!)!),
      port: Number(fields[k + 2]),
    });
    const header = { source: address(2), destination: address(3) };
    return {
      done: true,
      header: { version: 1, command: "proxy", transport: "tcp", ...header },
      length: end + 2,
    };
  }
  // The least the rest of the line takes: what the field being written
  // still lacks, the fields after it with their spaces, and the CRLF (only
  // its LF once the CR has come).
  const mins = [0, 0, family.min, family.min, 1, 1];
  const current = fields.length - 1;
  let needed = Math.max(0, mins[current]! - fields[current]!.length) +
    (complete ? 1 : 2);
  for (let k = current + 1; k < 6; k++) needed += 1 + mins[k]!;
  return { done: false, needed: Math.max(1, needed) };
}

function checkField(
  family: Family,
  index: number,
  text: string,
  whole: boolean,
): void {
  const what = ["", "", "source address", "destination address"][index] ??
    (index === 4 ? "source port" : "destination port");
  if (text === "") {
    if (!whole) return;
    throw invalid(`empty ${what} (fields are separated by exactly one space)`);
  }
  if (index <= 3) {
    const ok = whole
      ? family.parse(text) !== undefined
      : family.partial.test(text);
    if (!ok) {
      throw invalid(
        `${what} ${showText(text)} is not an ${
          family.name === "TCP4" ? "IPv4" : "IPv6"
        } address`,
      );
    }
    return;
  }
  if (!PORT.test(text) || Number(text) > 65535) {
    throw invalid(
      `${what} ${showText(text)} is not a port (0 to 65535, no leading zeros)`,
    );
  }
}
