// Copyright the deno-echo authors. MIT license.

// The quit-word scan in JavaScript against the WebAssembly one, in place and
// on a copy, over random bytes (an LF every ~256 bytes): 64 KiB, the size of
// a bulk read, and the small sizes that decide WASM_SCAN_MIN.

import {
  QuitWordScanner,
  scanInJavaScript,
  WASM_SCAN_MIN,
} from "../../src/echo/quit_word.ts";
import {
  placeWord,
  returnWasmBuffer,
  scanInWasm,
  takeWasmBuffer,
} from "../../src/echo/wasm_buffers.ts";
import { KiB, mulberry32, randomBytes } from "../_helpers/util.ts";

const slot = takeWasmBuffer();
if (slot === undefined) throw new RangeError("No WebAssembly buffer free");
const random = randomBytes(mulberry32(0x5ca1_0001), 64 * KiB);
slot.set(random);
const ordinary = random.slice();
const word = new TextEncoder().encode("BYE");
const wordAt = placeWord(word);

for (const size of [64 * KiB]) {
  const inWasm = slot.subarray(0, size);
  const outside = ordinary.subarray(0, size);
  const group = `${size / KiB} KiB`;
  Deno.bench(`QuitWordScanner.scan() of ${group}, JavaScript`, {
    group,
    baseline: true,
  }, () => {
    scanInJavaScript(new QuitWordScanner("BYE"), outside);
  });
  Deno.bench(
    `QuitWordScanner.scan() of ${group}, copied into WebAssembly`,
    { group },
    () => {
      new QuitWordScanner("BYE").scan(outside);
    },
  );
  Deno.bench(
    `QuitWordScanner.scan() of ${group}, WebAssembly`,
    { group },
    () => {
      new QuitWordScanner("BYE").scan(inWasm);
    },
  );
}

for (const size of [32, 64, 128, 192, 256, 384, 512, 1024, 4096]) {
  const inWasm = slot.subarray(0, size);
  const outside = ordinary.subarray(0, size);
  const scanner = new QuitWordScanner("BYE");
  const group = `${size} B`;
  Deno.bench(`scan ${group}, JavaScript`, { group, baseline: true }, () => {
    scanInJavaScript(scanner, outside);
  });
  Deno.bench(`scan ${group}, copied into WebAssembly`, { group }, () => {
    scanner.scan(outside);
  });
  Deno.bench(`scan ${group}, WebAssembly`, { group }, () => {
    scanInWasm(inWasm, wordAt, word.length, 0x10000);
  });
}

Deno.bench({
  name: `(WASM_SCAN_MIN is ${WASM_SCAN_MIN})`,
  fn: () => {},
});

globalThis.addEventListener("unload", () => returnWasmBuffer(slot));
