// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  freeWasmBuffers,
  isInWasmMemory,
  MAX_WASM_WORD,
  placeWord,
  returnWasmBuffer,
  takeWasmBuffer,
  WASM_BUFFER_COUNT,
  WASM_BUFFER_SIZE,
} from "../../src/echo/wasm_buffers.ts";

/** Takes every free buffer of the pool. */
function takeAll(): Uint8Array[] {
  const taken: Uint8Array[] = [];
  for (let b = takeWasmBuffer(); b !== undefined; b = takeWasmBuffer()) {
    taken.push(b);
  }
  return taken;
}

Deno.test("takeWasmBuffer() hands out separate buffers in WebAssembly memory until the pool is empty", () => {
  const before = freeWasmBuffers();
  assert(before > 0 && before <= WASM_BUFFER_COUNT, `${before} free`);
  const taken = takeAll();
  try {
    assertEquals(taken.length, before);
    assertEquals(freeWasmBuffers(), 0);
    assertEquals(takeWasmBuffer(), undefined);
    const offsets = taken.map((b) => b.byteOffset).sort((a, b) => a - b);
    for (const [i, buffer] of taken.entries()) {
      assert(isInWasmMemory(buffer));
      assertEquals(buffer.length, WASM_BUFFER_SIZE);
      if (i > 0) {
        assert(offsets[i]! - offsets[i - 1]! >= WASM_BUFFER_SIZE, "overlap");
      }
    }
    // Writing one leaves the others as they were.
    for (const buffer of taken) buffer.fill(0);
    taken[0]!.fill(0xff);
    assert(taken.slice(1).every((b) => b.every((x) => x === 0)));
  } finally {
    for (const buffer of taken) returnWasmBuffer(buffer);
  }
  assertEquals(freeWasmBuffers(), before);
});

Deno.test("returnWasmBuffer() makes a buffer free for the next taker", () => {
  const before = freeWasmBuffers();
  const buffer = takeWasmBuffer();
  assert(buffer !== undefined);
  assertEquals(freeWasmBuffers(), before - 1);
  returnWasmBuffer(buffer);
  assertEquals(freeWasmBuffers(), before);
  const again = takeWasmBuffer();
  assert(again === buffer, "the buffer given back is taken next");
  returnWasmBuffer(again);
});

Deno.test("returnWasmBuffer() refuses a buffer not taken from the pool", async (t) => {
  await t.step("an ordinary buffer", () => {
    assertThrows(
      () => returnWasmBuffer(new Uint8Array(WASM_BUFFER_SIZE)),
      RangeError,
    );
  });

  await t.step("part of a pool's buffer", () => {
    const buffer = takeWasmBuffer()!;
    try {
      assertThrows(() => returnWasmBuffer(buffer.subarray(1)), RangeError);
      assertThrows(() => returnWasmBuffer(buffer.subarray(0, 10)), RangeError);
    } finally {
      returnWasmBuffer(buffer);
    }
  });

  await t.step("a buffer given back already", () => {
    const before = freeWasmBuffers();
    const buffer = takeWasmBuffer()!;
    returnWasmBuffer(buffer);
    assertThrows(() => returnWasmBuffer(buffer), RangeError, "in use");
    assertEquals(freeWasmBuffers(), before);
  });
});

Deno.test("placeWord() refuses an empty word and one longer than MAX_WASM_WORD", () => {
  assertEquals(placeWord(new Uint8Array(0)), -1);
  assertEquals(placeWord(new Uint8Array(MAX_WASM_WORD + 1).fill(0x77)), -1);
  const at = placeWord(new TextEncoder().encode("placed"));
  assert(at >= 0);
  assert(at + 6 <= 64 * 1024, "in the words' page");
});
