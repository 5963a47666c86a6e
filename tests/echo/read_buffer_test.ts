// Copyright the deno-echo authors. MIT license.

import { assert, assertEquals } from "@std/assert";
import {
  LARGE_BUFFER_BUDGET,
  LARGE_BUFFER_MIN,
  MAX_BUFFER_SIZE,
  MIN_BUFFER_SIZE,
  poolBuffer,
  ReadBuffer,
  takePooledBuffer,
  WASM_POOL_MIN,
} from "../../src/echo/read_buffer.ts";
import {
  freeWasmBuffers,
  isInWasmMemory,
  returnWasmBuffer,
  takeWasmBuffer,
  WASM_BUFFER_SIZE,
} from "../../src/echo/wasm_buffers.ts";

/** Pretends a read of `n` bytes into the current buffer. */
function read(buffer: ReadBuffer, n: number): void {
  buffer.afterRead(buffer.current.subarray(0, n));
}

Deno.test("ReadBuffer doubles after full reads up to MAX_BUFFER_SIZE", () => {
  const buffer = new ReadBuffer();
  assertEquals(buffer.current.length, MIN_BUFFER_SIZE);
  const sizes: number[] = [];
  for (let i = 0; i < 12; i++) {
    read(buffer, buffer.current.length);
    sizes.push(buffer.current.length);
  }
  assertEquals(
    sizes.slice(0, 11),
    [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 65536],
  );
  assert(sizes.every((s) => s <= MAX_BUFFER_SIZE));
  assertEquals(sizes.at(-1), MAX_BUFFER_SIZE);
});

Deno.test("ReadBuffer shrinks back after a run of small reads, not before", () => {
  const buffer = new ReadBuffer();
  for (let i = 0; i < 7; i++) read(buffer, buffer.current.length);
  const grown = buffer.current;
  assertEquals(grown.length, 8 * 1024);
  for (let i = 0; i < 7; i++) read(buffer, 10);
  assert(buffer.current === grown, "kept after 7 small reads");
  // A read of more than a quarter of the buffer breaks the run.
  read(buffer, grown.length / 4 + 1);
  for (let i = 0; i < 7; i++) read(buffer, 10);
  assert(buffer.current === grown, "kept: the run started over");
  // A quarter is small.
  read(buffer, grown.length / 4);
  assertEquals(buffer.current.length, MIN_BUFFER_SIZE);
});

Deno.test("ReadBuffer.filled hands out one view for reads of one length in a row", () => {
  const buffer = new ReadBuffer(new Uint8Array(MIN_BUFFER_SIZE));
  buffer.current.set([1, 2, 3, 4, 5]);
  const first = buffer.filled(3);
  assertEquals([...first], [1, 2, 3]);
  assert(first.buffer === buffer.current.buffer && first.byteOffset === 0);
  // The second read of that length makes the view that is kept.
  const second = buffer.filled(3);
  assert(second !== first);
  assert(buffer.filled(3) === second && buffer.filled(3) === second);
  // Another length: a new view; the kept one again once the length repeats.
  const other = buffer.filled(5);
  assertEquals([...other], [1, 2, 3, 4, 5]);
  assert(buffer.filled(5) !== second);
  const five = buffer.filled(5);
  assert(buffer.filled(5) === five);
  buffer.current.set([9], 0);
  assertEquals(five[0], 9, "a view of the buffer, not a copy");
});

Deno.test("ReadBuffer.filled makes a new view once the buffer changes, and keeps none after one read", () => {
  const buffer = new ReadBuffer();
  const once = buffer.filled(10);
  assert(buffer.filled(10) !== once, "one read of a length keeps no view");
  const kept = buffer.filled(10);
  // Full reads grow the buffer: the kept view is of the old one.
  read(buffer, buffer.current.length);
  const grown = buffer.current;
  const after = buffer.filled(10);
  assert(after !== kept && after.buffer === grown.buffer);
  assertEquals(after.length, 10);
  buffer.release();
  assertEquals(buffer.filled(0).length, 0);
});

Deno.test("ReadBuffer keeps using memory a BYOB read handed back", () => {
  const buffer = new ReadBuffer();
  const first = buffer.current;
  // A BYOB read transfers the buffer: the view comes back on new memory.
  const moved = new Uint8Array(
    (first.buffer as ArrayBuffer).transfer(),
    0,
    MIN_BUFFER_SIZE - 1,
  );
  buffer.afterRead(moved);
  assert(buffer.current.buffer === moved.buffer, "the moved memory is used");
  assertEquals(buffer.current.length, MIN_BUFFER_SIZE);
});

Deno.test("takePooledBuffer() hands out buffers given back of the first size only", () => {
  const given = new Uint8Array(MIN_BUFFER_SIZE);
  poolBuffer(new Uint8Array(MIN_BUFFER_SIZE * 2));
  poolBuffer(given);
  assert(takePooledBuffer() === given);
  const fresh = takePooledBuffer();
  assertEquals(fresh.length, MIN_BUFFER_SIZE);
});

/** Grows a buffer with full reads until it is `size` bytes. */
function growTo(buffer: ReadBuffer, size: number): void {
  while (buffer.current.length < size) read(buffer, buffer.current.length);
}

Deno.test("a pool's buffer holds the largest read buffer", () => {
  assert(MAX_BUFFER_SIZE <= WASM_BUFFER_SIZE);
});

Deno.test("ReadBuffer with wasm keeps a 1 KiB message's buffer in the pool", () => {
  const free = freeWasmBuffers();
  const buffer = new ReadBuffer(undefined, { wasm: true });
  try {
    // Ping-pong of 1 KiB messages: the buffer grows past them, then stays.
    for (let i = 0; i < 20; i++) {
      read(buffer, Math.min(1024, buffer.current.length));
    }
    assertEquals(buffer.current.length, 2048);
    assert(buffer.inWasm && isInWasmMemory(buffer.current));
    assertEquals(freeWasmBuffers(), free - 1);
  } finally {
    buffer.release();
  }
  assertEquals(freeWasmBuffers(), free);
});

Deno.test("the WebAssembly pool holds the buffers of 200 connections of 1 KiB messages", () => {
  const buffers: ReadBuffer[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const buffer = new ReadBuffer(undefined, { wasm: true });
      buffers.push(buffer);
      for (let j = 0; j < 20; j++) {
        read(buffer, Math.min(1024, buffer.current.length));
      }
    }
    assertEquals(buffers.filter((buffer) => buffer.inWasm).length, 200);
  } finally {
    for (const buffer of buffers) buffer.release();
  }
});

Deno.test("ReadBuffer with wasm reads into the WebAssembly pool from WASM_POOL_MIN up", () => {
  const free = freeWasmBuffers();
  const buffer = new ReadBuffer(undefined, { wasm: true });
  const sizes: number[] = [];
  while (buffer.current.length < WASM_POOL_MIN) {
    assert(!buffer.inWasm && !isInWasmMemory(buffer.current));
    read(buffer, buffer.current.length);
    sizes.push(buffer.current.length);
  }
  assert(buffer.inWasm && isInWasmMemory(buffer.current));
  assertEquals(freeWasmBuffers(), free - 1);
  // It grows as an ordinary one does, inside the same pool's buffer.
  growTo(buffer, MAX_BUFFER_SIZE);
  assertEquals(sizes, [128, 256, 512, 1024]);
  assertEquals(buffer.current.length, MAX_BUFFER_SIZE);
  assertEquals(freeWasmBuffers(), free - 1);
  read(buffer, MAX_BUFFER_SIZE);
  read(buffer, MAX_BUFFER_SIZE / 4);
  assertEquals(buffer.current.length, MAX_BUFFER_SIZE);
  // A run of small reads shrinks it back, out of the pool.
  for (let i = 0; i < 8; i++) read(buffer, 10);
  assertEquals(buffer.current.length, MIN_BUFFER_SIZE);
  assert(!buffer.inWasm && !isInWasmMemory(buffer.current));
  assertEquals(freeWasmBuffers(), free);
});

Deno.test("ReadBuffer.release() gives a pool's buffer back", () => {
  const free = freeWasmBuffers();
  const buffer = new ReadBuffer(undefined, { wasm: true });
  growTo(buffer, 8 * 1024);
  assertEquals(freeWasmBuffers(), free - 1);
  buffer.release();
  assertEquals(freeWasmBuffers(), free);
  assert(!buffer.inWasm);
  assertEquals(buffer.current.length, 0);
});

Deno.test("ReadBuffer.release() gives a small buffer to the idle buffers", () => {
  const buffer = new ReadBuffer(undefined, { wasm: true });
  const small = buffer.current;
  buffer.release();
  assert(takePooledBuffer() === small);
});

Deno.test("ReadBuffer with wasm falls back to an ordinary buffer while the pool is empty", () => {
  const taken: Uint8Array[] = [];
  for (let b = takeWasmBuffer(); b !== undefined; b = takeWasmBuffer()) {
    taken.push(b);
  }
  const buffer = new ReadBuffer(undefined, { wasm: true });
  try {
    growTo(buffer, MAX_BUFFER_SIZE);
    assert(!buffer.inWasm && !isInWasmMemory(buffer.current));
    const ordinary = buffer.current;
    read(buffer, 100);
    assert(buffer.current === ordinary, "kept while the pool is empty");
    read(buffer, MAX_BUFFER_SIZE);
    assert(buffer.current === ordinary, "kept while the pool is empty");
    // Once a buffer is free, the next full read moves into it.
    returnWasmBuffer(taken.pop()!);
    read(buffer, 100);
    assert(!buffer.inWasm, "a read that does not fill the buffer stays");
    read(buffer, MAX_BUFFER_SIZE);
    assert(buffer.inWasm && isInWasmMemory(buffer.current));
    assertEquals(buffer.current.length, MAX_BUFFER_SIZE);
    assertEquals(freeWasmBuffers(), 0);
  } finally {
    buffer.release();
    for (const b of taken) returnWasmBuffer(b);
  }
});

Deno.test("ReadBuffer without wasm, and a small one with it, take nothing from the pool", () => {
  const free = freeWasmBuffers();
  const plain = new ReadBuffer();
  growTo(plain, MAX_BUFFER_SIZE);
  assert(!plain.inWasm && !isInWasmMemory(plain.current));
  const small = new ReadBuffer(undefined, { wasm: true });
  growTo(small, WASM_POOL_MIN / 2);
  for (let i = 0; i < 100; i++) read(small, WASM_POOL_MIN / 2 - 1);
  assert(!small.inWasm);
  assertEquals(freeWasmBuffers(), free);
});

/** Full reads until the buffer stops growing; returns its size. */
function grow(buffer: ReadBuffer): number {
  for (let i = 0; i < 12; i++) read(buffer, buffer.current.length);
  return buffer.current.length;
}

Deno.test("ReadBuffer: grown ordinary buffers share LARGE_BUFFER_BUDGET; past it they stay at LARGE_BUFFER_MIN", () => {
  const most = LARGE_BUFFER_BUDGET / MAX_BUFFER_SIZE;
  const grown: ReadBuffer[] = [];
  let capped: ReadBuffer | undefined;
  // Buffers that grew in the tests above may hold part of the budget too.
  for (let i = 0; i <= most && capped === undefined; i++) {
    const buffer = new ReadBuffer();
    if (grow(buffer) === MAX_BUFFER_SIZE) grown.push(buffer);
    else capped = buffer;
  }
  try {
    assert(capped !== undefined, "one more than the budget holds is capped");
    assert(grown.length <= most);
    assertEquals(capped.current.length, LARGE_BUFFER_MIN);
    // Full reads in the capped buffer keep it at its size.
    assertEquals(grow(capped), LARGE_BUFFER_MIN);
    // A buffer that ends gives its share back: the capped one grows.
    grown.pop()!.release();
    assertEquals(grow(capped), MAX_BUFFER_SIZE);
    // So does one that shrinks after small reads.
    const shrinking = grown.pop()!;
    for (let i = 0; i < 8; i++) read(shrinking, 10);
    assertEquals(shrinking.current.length, MIN_BUFFER_SIZE);
    const next = new ReadBuffer();
    assertEquals(grow(next), MAX_BUFFER_SIZE);
    next.release();
    shrinking.release();
  } finally {
    capped?.release();
    for (const buffer of grown) buffer.release();
  }
});

Deno.test("ReadBuffer: a BYOB buffer at the budget's limit reuses the memory handed back", () => {
  const most = LARGE_BUFFER_BUDGET / MAX_BUFFER_SIZE;
  const grown: ReadBuffer[] = [];
  try {
    for (let i = 0; i < most; i++) {
      const buffer = new ReadBuffer();
      grow(buffer);
      grown.push(buffer);
    }
    const buffer = new ReadBuffer();
    assertEquals(grow(buffer), LARGE_BUFFER_MIN);
    // A BYOB read transfers the buffer: it comes back on new memory, kept.
    const back = (buffer.current.buffer as ArrayBuffer).transfer();
    buffer.afterRead(new Uint8Array(back));
    assert(buffer.current.buffer === back);
    assertEquals(buffer.current.length, LARGE_BUFFER_MIN);
    buffer.release();
  } finally {
    for (const buffer of grown) buffer.release();
  }
});
