// Copyright the deno-echo authors. MIT license.

// The WebAssembly quit scan against the JavaScript one, on seeded random
// streams over an alphabet rich in the word's bytes, whitespace, \r and \n,
// in random chunkings, with the chunks in the WebAssembly memory and not.

import { assert, assertEquals } from "@std/assert";
import {
  KNOWN_SCAN_MIN,
  QuitWordScanner,
  scanKnowing,
  scansInWasm,
  WASM_SCAN_MIN,
} from "../../src/echo/quit_word.ts";
import {
  isInWasmMemory,
  MAX_WASM_WORD,
  returnWasmBuffer,
  takeWasmBuffer,
  WASM_BUFFER_SIZE,
} from "../../src/echo/wasm_buffers.ts";
import { bytes, KiB, mulberry32, randInt } from "../_helpers/util.ts";
import { JsOnlyScanner, WasmOnlyScanner } from "./_scans.ts";

/** A random stream of `size` bytes, mostly from the word's line pieces. */
function randomStream(
  rand: () => number,
  word: Uint8Array,
  size: number,
): Uint8Array {
  const pieces = [
    word,
    word,
    word.subarray(0, Math.max(1, word.length - 1)),
    word.subarray(1),
    bytes(" "),
    bytes("\t"),
    bytes("\v"),
    bytes("\f"),
    bytes("\r"),
    bytes("\n"),
    bytes("\n"),
    bytes("\r\n"),
    bytes("x"),
  ];
  const data = new Uint8Array(size);
  for (let off = 0; off < size;) {
    if (rand() < 0.15) {
      // A run of arbitrary bytes, long enough to cross 64-byte blocks.
      const end = Math.min(size, off + randInt(rand, 1, 300));
      for (; off < end; off++) data[off] = randInt(rand, 0, 255);
    } else {
      const piece = pieces[randInt(rand, 0, pieces.length - 1)]!;
      const n = Math.min(piece.length, size - off);
      data.set(piece.subarray(0, n), off);
      off += n;
    }
  }
  return data;
}

/** Splits `data` into chunks of random sizes, mostly up to `max` bytes. */
function randomSplit(
  rand: () => number,
  data: Uint8Array,
  max: number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < data.length;) {
    const size = rand() < 0.05 ? 0 : randInt(rand, 1, max);
    chunks.push(data.subarray(off, off + size));
    off += Math.min(size, data.length - off);
  }
  return chunks;
}

/**
 * Feeds `chunks` to `scanner` as a stream, each through `place` (which may
 * move it elsewhere), rescanning the rest of a chunk after each match.
 * Returns the stream offsets just past every quit line found.
 */
function findAll(
  scanner: QuitWordScanner,
  chunks: readonly Uint8Array[],
  place: (chunk: Uint8Array) => Uint8Array = (chunk) => chunk,
  scan = (chunk: Uint8Array): number => scanner.scan(chunk),
): number[] {
  const found: number[] = [];
  let base = 0;
  for (const original of chunks) {
    const chunk = place(original);
    for (let pos = 0; pos <= chunk.length;) {
      const cut = scan(chunk.subarray(pos));
      if (cut < 0) break;
      found.push(base + pos + cut);
      pos += cut;
    }
    base += chunk.length;
  }
  return found;
}

// One- and two-byte words take the LF skip, longer ones the word search;
// "EEE" has the same two pairs, "B".repeat(300) matches its own shifts.
const WORDS = ["BYE", "q", "BB", "quit!", "ciao👋", "EEE", "B".repeat(300)];

Deno.test("the WebAssembly scan agrees with the JavaScript scan on random streams in random chunkings", async (t) => {
  for (const [index, word] of WORDS.entries()) {
    await t.step(JSON.stringify(word.slice(0, 8)), () => {
      const seed = 0x5ca1_0100 + index;
      const rand = mulberry32(seed);
      const encoded = bytes(word);
      let matches = 0;
      for (let round = 0; round < 150; round++) {
        const size = round % 10 === 9
          ? randInt(rand, 64 * KiB, 200 * KiB)
          : randInt(rand, 0, 3000);
        const data = randomStream(rand, encoded, size);
        const chunks = randomSplit(rand, data, round % 2 ? 8 : 700);
        const want = findAll(new JsOnlyScanner(word), chunks);
        matches += want.length;
        assertEquals(
          findAll(new WasmOnlyScanner(word), chunks),
          want,
          `seed ${seed}, round ${round}`,
        );
      }
      assert(matches > 100, `only ${matches} quit lines generated`);
    });
  }
});

Deno.test("QuitWordScanner gives the same answers for chunks in WebAssembly memory, copied there and short ones in JavaScript", async (t) => {
  const buffer = takeWasmBuffer();
  assert(buffer !== undefined, "a WebAssembly buffer is free");
  try {
    for (
      const [index, word, knowing] of WORDS.flatMap((word, i) =>
        [false, true].map((knowing) => [i, word, knowing] as const)
      )
    ) {
      // Told where each chunk lies (scanKnowing), or finding out (scan).
      const name = (knowing ? "told where, " : "") +
        JSON.stringify(word.slice(0, 8));
      const min = knowing ? KNOWN_SCAN_MIN : WASM_SCAN_MIN;
      const where = (chunk: Uint8Array): boolean | undefined =>
        knowing ? isInWasmMemory(chunk) : undefined;
      await t.step(name, () => {
        const seed = 0x5ca1_0200 + index;
        const rand = mulberry32(seed);
        const encoded = bytes(word);
        let inWasm = 0;
        let copied = 0;
        let inJs = 0;
        let scanner = new QuitWordScanner(word);
        /** Copies a chunk to a random place in the buffer, or leaves it. */
        const place = (chunk: Uint8Array): Uint8Array => {
          if (rand() < 0.3 || chunk.length > WASM_BUFFER_SIZE) {
            const wasm = scansInWasm(scanner, chunk, where(chunk));
            assertEquals(wasm, chunk.length >= min);
            if (wasm) copied++;
            else inJs++;
            return chunk;
          }
          const at = randInt(rand, 0, WASM_BUFFER_SIZE - chunk.length);
          const view = buffer.subarray(at, at + chunk.length);
          view.set(chunk);
          assert(isInWasmMemory(view));
          const wasm = scansInWasm(scanner, view, where(view));
          assertEquals(wasm, chunk.length >= min);
          if (wasm) inWasm++;
          else inJs++;
          return view;
        };
        for (let round = 0; round < 150; round++) {
          const size = round % 10 === 9
            ? randInt(rand, 64 * KiB, 200 * KiB)
            : randInt(rand, 0, 3000);
          const data = randomStream(rand, encoded, size);
          // Sizes on both sides of WASM_SCAN_MIN: one stream, both paths.
          const chunks = randomSplit(rand, data, 3 * WASM_SCAN_MIN);
          const want = findAll(new JsOnlyScanner(word), chunks);
          scanner = new QuitWordScanner(word);
          const scan = (chunk: Uint8Array): number =>
            knowing
              ? scanKnowing(scanner, chunk, isInWasmMemory(chunk))
              : scanner.scan(chunk);
          assertEquals(
            findAll(scanner, chunks, place, scan),
            want,
            `seed ${seed}, round ${round}`,
          );
        }
        assert(
          inWasm > 100 && copied > 100 && inJs > 100,
          `${inWasm} in wasm, ${copied} copied there, ${inJs} in JS`,
        );
      });
    }
  } finally {
    returnWasmBuffer(buffer);
  }
});

Deno.test("QuitWordScanner scans chunks that end at the end of the WebAssembly memory", () => {
  // A copied chunk of 64 KiB fills the scratch buffer, the memory's last.
  const text = "x".repeat(200) + "\nBYE\r\n";
  const whole = new Uint8Array(WASM_BUFFER_SIZE).fill(0x78);
  whole.set(bytes(text), whole.length - text.length);
  const copied = new QuitWordScanner();
  assert(!isInWasmMemory(whole) && scansInWasm(copied, whole));
  assertEquals(copied.scan(whole), whole.length);
  // The pool's last buffer ends where the scratch buffer begins.
  const taken: Uint8Array[] = [];
  try {
    for (let b = takeWasmBuffer(); b !== undefined; b = takeWasmBuffer()) {
      taken.push(b);
    }
    const last = taken.reduce((a, b) => a.byteOffset > b.byteOffset ? a : b);
    const chunk = last.subarray(last.length - text.length);
    chunk.set(bytes(text));
    const scanner = new QuitWordScanner();
    assert(scansInWasm(scanner, chunk));
    assertEquals(scanner.scan(chunk), text.length);
    assertEquals(scanner.scan(chunk.subarray(0, 201 + 3)), -1);
    assertEquals(scanner.scan(chunk.subarray(201 + 3)), 2);
  } finally {
    for (const b of taken) returnWasmBuffer(b);
  }
});

Deno.test("QuitWordScanner copies a chunk longer than the scratch buffer in pieces, a quit line across them", () => {
  for (
    const split of [
      WASM_BUFFER_SIZE - 3,
      WASM_BUFFER_SIZE,
      WASM_BUFFER_SIZE + 2,
    ]
  ) {
    // The quit line ends at `split + 2`: inside the first piece, with its
    // "BYE" across the two pieces, and in the second after an LF that ends
    // the first.
    const chunk = new Uint8Array(3 * WASM_BUFFER_SIZE).fill(0x78);
    chunk.set(bytes("\nBYE\n"), split - 3);
    const scanner = new QuitWordScanner();
    assertEquals(scanner.scan(chunk), split + 2, `split ${split}`);
    assertEquals(findAll(new JsOnlyScanner(), [chunk]), [split + 2]);
  }
  // No quit line: the state carries over the pieces, and out.
  const scanner = new QuitWordScanner();
  const long = new Uint8Array(2 * WASM_BUFFER_SIZE + 5).fill(0x78);
  long.set(bytes("\nBY"), long.length - 3);
  assertEquals(scanner.scan(long), -1);
  assertEquals(scanner.scan(bytes("E\n")), 2);
});

Deno.test("QuitWordScanner scans a word too long for WebAssembly in JavaScript", () => {
  const word = "w".repeat(MAX_WASM_WORD + 1);
  const buffer = takeWasmBuffer();
  assert(buffer !== undefined, "a WebAssembly buffer is free");
  try {
    const scanner = new QuitWordScanner(word);
    const head = bytes("x\n" + word.slice(0, 4000));
    const chunk = buffer.subarray(0, head.length);
    chunk.set(head);
    assert(!scansInWasm(scanner, chunk));
    assertEquals(scanner.scan(chunk), -1);
    const rest = bytes(word.slice(4000) + " \n");
    assertEquals(scanner.scan(rest), rest.length);
  } finally {
    returnWasmBuffer(buffer);
  }
});

Deno.test("QuitWordScanner in WebAssembly starts a fresh line after an LF that ends the chunk", () => {
  const buffer = takeWasmBuffer();
  assert(buffer !== undefined, "a WebAssembly buffer is free");
  try {
    for (const size of [128, 129, 191, 192, 193, 255, 256, 4 * KiB]) {
      for (const failed of [true, false]) {
        // The chunk is a failed (or an empty) line and an LF; in memory a
        // byte that cannot start the word follows it.
        buffer.fill(0x78, 0, size + 1);
        if (!failed) buffer.fill(0x0a, 0, size);
        buffer[size - 1] = 0x0a;
        const scanner = new QuitWordScanner();
        const chunk = buffer.subarray(0, size);
        assert(scansInWasm(scanner, chunk));
        assertEquals(scanner.scan(chunk), -1, `${size} bytes`);
        assertEquals(scanner.scan(bytes("BYE\n")), 4, `after ${size} bytes`);
      }
    }
  } finally {
    returnWasmBuffer(buffer);
  }
});

Deno.test("QuitWordScanner in WebAssembly never reads before the chunk", async (t) => {
  const buffer = takeWasmBuffer();
  assert(buffer !== undefined, "a WebAssembly buffer is free");
  try {
    for (const word of ["BYE", "q"]) {
      await t.step(word, () => {
        // In memory, an LF and spaces lie just before the chunk; in the
        // stream, the line began with a byte that failed it.
        const line = bytes(`${word}\n${"z".repeat(200)}`);
        buffer.set(bytes("\n  "), 0);
        buffer.set(line, 3);
        const chunk = buffer.subarray(3, 3 + line.length);
        const scanner = new QuitWordScanner(word);
        assertEquals(scanner.scan(bytes("x")), -1);
        assert(scansInWasm(scanner, chunk));
        assertEquals(scanner.scan(chunk), -1);
        assertEquals(scanner.scan(bytes(`\n${word}\n`)), word.length + 2);
      });
    }
  } finally {
    returnWasmBuffer(buffer);
  }
});
