// Copyright the deno-echo authors. MIT license.

// Random and mutated input, fed to the parser one prefix at a time. Whatever
// the bytes, the parser answers "need more", "done" or a ProxyHeaderError,
// never asks for more than its limits, never takes back an answer when more
// bytes come, and its "needed" is a true lower bound (more bytes may still
// be refused early, but not accepted early).

import { assert, assertEquals, fail } from "@std/assert";
import { concat } from "@std/bytes";
import { buildProxyHeader } from "../../src/proxy/build.ts";
import { parseProxyHeader } from "../../src/proxy/parse.ts";
import {
  ProxyHeaderError,
  type ProxyHeaderParse,
} from "../../src/proxy/types.ts";
import { bytes, mulberry32, randInt, randomBytes } from "../_helpers/util.ts";
import { SIGNATURE } from "./v2_bytes.ts";

const CAP = 16 + 1024;
const ALPHABET = bytes(
  "PROXY TCP4 TCP6 UNKNOWN 0123456789abcdefABCDEF:.\r\n\t\0",
);

type Outcome = ProxyHeaderParse | "error";

function outcome(data: Uint8Array): Outcome {
  try {
    return parseProxyHeader(data);
  } catch (error) {
    if (error instanceof ProxyHeaderError) return "error";
    throw error;
  }
}

function pick(rand: () => number, from: Uint8Array): number {
  return from[randInt(rand, 0, from.length - 1)]!;
}

const addr = (hostname: string, port: number): Deno.NetAddr => ({
  transport: "tcp",
  hostname,
  port,
});

const VALID = [
  buildProxyHeader(1, {
    source: addr("203.0.113.7", 51234),
    destination: addr("192.0.2.1", 2000),
  }),
  buildProxyHeader(1, {
    source: addr("2001:db8::7", 1),
    destination: addr("::1", 65535),
  }),
  buildProxyHeader(1),
  buildProxyHeader(2, {
    source: addr("203.0.113.7", 51234),
    destination: addr("192.0.2.1", 2000),
  }),
  buildProxyHeader(2, {
    source: addr("2001:db8::7", 1),
    destination: addr("::1", 2),
    alpn: "h2",
    authority: "a.example",
  }),
  buildProxyHeader(2),
];

/** One random input of one of four kinds. */
function input(rand: () => number): Uint8Array {
  switch (randInt(rand, 0, 3)) {
    case 0:
      return randomBytes(rand, randInt(rand, 0, 200));
    case 1: {
      const line = Array.from(
        { length: randInt(rand, 0, 120) },
        () => pick(rand, ALPHABET),
      );
      return concat([bytes("PROXY "), Uint8Array.from(line)]);
    }
    case 2: {
      const fixed = [
        rand() < 0.8 ? 0x20 | randInt(rand, 0, 2) : randInt(rand, 0, 255),
        rand() < 0.8
          ? [0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32][randInt(rand, 0, 6)]!
          : randInt(rand, 0, 255),
      ];
      const length = rand() < 0.8
        ? randInt(rand, 0, 300)
        : randInt(rand, 0, 65535);
      const body = randomBytes(
        rand,
        randInt(rand, 0, Math.min(length + 8, 400)),
      );
      return Uint8Array.from([
        ...SIGNATURE,
        ...fixed,
        length >> 8,
        length & 0xff,
        ...body,
      ]);
    }
    default: {
      const data = Array.from(VALID[randInt(rand, 0, VALID.length - 1)]!);
      for (let k = randInt(rand, 0, 3); k > 0; k--) {
        const at = randInt(rand, 0, data.length);
        const byte = rand() < 0.5
          ? pick(rand, ALPHABET)
          : randInt(rand, 0, 255);
        const edit = randInt(rand, 0, 2);
        if (edit === 0) data.splice(at, 1);
        else if (edit === 1) data.splice(at, 0, byte);
        else data[Math.min(at, data.length - 1)] = byte;
      }
      return concat([
        Uint8Array.from(data),
        randomBytes(rand, randInt(rand, 0, 40)),
      ]);
    }
  }
}

Deno.test("parseProxyHeader() on random bytes: need, done or its own error, within its limits", () => {
  const seed = 0x5eed0f;
  const rand = mulberry32(seed);
  const counts = { done: 0, error: 0, need: 0 };
  for (let round = 0; round < 1500; round++) {
    const data = input(rand);
    const where = (n: number): string =>
      `seed ${seed}, round ${round}, ${n} of ${data.length} bytes`;
    let settled: Outcome | undefined;
    let waitUntil = 0;
    for (let n = 0; n <= data.length; n++) {
      const result = outcome(data.subarray(0, n));
      if (settled !== undefined) {
        // An answer stands whatever comes after it.
        assertEquals(result, settled, where(n));
        continue;
      }
      if (result === "error") {
        settled = result;
        continue;
      }
      if (result.done) {
        // "needed" was a true lower bound: not done before it was met.
        assert(n >= waitUntil, `done before the bytes it needed: ${where(n)}`);
        assert(result.length <= n && result.length <= CAP, where(n));
        settled = result;
        continue;
      }
      assert(
        result.needed >= 1 && n + result.needed <= CAP,
        `needed ${result.needed}: ${where(n)}`,
      );
      waitUntil = Math.max(waitUntil, n + result.needed);
    }
    const last = settled ?? "need";
    counts[last === "error" ? "error" : last === "need" ? "need" : "done"]++;
  }
  // The inputs reach every outcome, so the properties were tried on each.
  for (const [name, count] of Object.entries(counts)) {
    if (count === 0) fail(`no input ended as ${name}`);
  }
});
