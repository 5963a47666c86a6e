// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import {
  DEFAULT_QUIT_WORD,
  QuitWordScanner,
  validateQuitWord,
} from "../../src/echo/quit_word.ts";
import { bytes, mulberry32, randInt, randomChunks } from "../_helpers/util.ts";
import { type MakeScanner, SCANS } from "./_scans.ts";

/**
 * Feeds `chunks` to a fresh scanner, rescanning the rest of a chunk after each
 * match, and returns the stream offsets just past every quit line found.
 */
function scanAll(
  make: MakeScanner,
  word: string,
  chunks: readonly Uint8Array[],
): number[] {
  const scanner = make(word);
  const found: number[] = [];
  let base = 0;
  for (const chunk of chunks) {
    let pos = 0;
    // Each match consumes at least one byte, so this ends.
    while (pos <= chunk.length) {
      const cut = scanner.scan(chunk.subarray(pos));
      if (cut < 0) break;
      found.push(base + pos + cut);
      pos += cut;
    }
    base += chunk.length;
  }
  return found;
}

/**
 * The reference: offsets just past every `\n`-terminated line that, trimmed
 * of ASCII whitespace, is exactly the word. ASCII input only.
 */
function expectedQuitEnds(word: string, text: string): number[] {
  const ends: number[] = [];
  let start = 0;
  for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
    const line = text.slice(start, nl).replace(
      /^[ \t\v\f\r]+|[ \t\v\f\r]+$/g,
      "",
    );
    if (line === word) ends.push(nl + 1);
    start = nl + 1;
  }
  return ends;
}

/** Splits `data` at the given sorted offsets. */
function splitAt(data: Uint8Array, points: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(data.subarray(prev, p));
    prev = p;
  }
  chunks.push(data.subarray(prev));
  return chunks;
}

for (const [scan, make] of SCANS) {
  Deno.test(`QuitWordScanner finds the quit line however the stream is split (${scan} scan)`, async (t) => {
    const text = "hello\nBYE\r\nafter";
    const data = bytes(text);
    const expected = [11]; // just past "BYE\r\n"
    assertEquals(text.indexOf("after"), 11);

    await t.step("in one chunk", () => {
      assertEquals(scanAll(make, "BYE", [data]), expected);
    });

    await t.step("split in two at every point", () => {
      for (let i = 0; i <= data.length; i++) {
        assertEquals(
          scanAll(make, "BYE", splitAt(data, [i])),
          expected,
          `split at ${i}`,
        );
      }
    });

    await t.step("split in three at every pair of points", () => {
      for (let i = 0; i <= data.length; i++) {
        for (let j = i; j <= data.length; j++) {
          assertEquals(
            scanAll(make, "BYE", splitAt(data, [i, j])),
            expected,
            `split at ${i}, ${j}`,
          );
        }
      }
    });

    await t.step("one byte at a time", () => {
      const points = Array.from({ length: data.length - 1 }, (_, i) => i + 1);
      assertEquals(scanAll(make, "BYE", splitAt(data, points)), expected);
    });

    await t.step("the documented B / YE\\r / \\n split", () => {
      const scanner = make("BYE");
      assertEquals(scanner.scan(bytes("hello\nB")), -1);
      assertEquals(scanner.scan(bytes("YE\r")), -1);
      assertEquals(scanner.scan(bytes("\nafter")), 1);
    });

    await t.step("random streams in random chunkings match a reference", () => {
      const seed = 0x5eed_0001;
      const rand = mulberry32(seed);
      const tokens = [
        "BYE",
        "BYE",
        "B",
        "Y",
        "E",
        "BY",
        "YE",
        "bye",
        "x",
        " ",
        "\t",
        "\r",
        "\v",
        "\f",
        "\n",
        "\n",
        "\r\n",
      ];
      let matches = 0;
      for (let round = 0; round < 400; round++) {
        const parts: string[] = [];
        const count = randInt(rand, 0, 60);
        for (let k = 0; k < count; k++) {
          parts.push(tokens[randInt(rand, 0, tokens.length - 1)]!);
        }
        const streamText = parts.join("");
        const streamData = bytes(streamText);
        const want = expectedQuitEnds("BYE", streamText);
        matches += want.length;
        assertEquals(
          scanAll(make, "BYE", randomChunks(rand, streamData, 1, 8)),
          want,
          `seed ${seed}, round ${round}: ${JSON.stringify(streamText)}`,
        );
      }
      // The generator must actually produce quit lines for this to mean much.
      assertEquals(matches > 50, true, `only ${matches} quit lines generated`);
    });
  });

  Deno.test(`QuitWordScanner allows whitespace around the word (${scan} scan)`, async (t) => {
    for (
      const line of [
        "BYE\n",
        "BYE\r\n",
        "  BYE\n",
        "BYE  \n",
        "\tBYE\t\n",
        " \t BYE \t\r\n",
        "\r\rBYE\r\r\n",
        "\vBYE\f\n",
      ]
    ) {
      await t.step(JSON.stringify(line), () => {
        const scanner = make();
        assertEquals(scanner.scan(bytes(line)), line.length);
        // And preceded by another line.
        scanner.reset();
        assertEquals(
          scanner.scan(bytes("x\n" + line + "rest")),
          2 + line.length,
        );
      });
    }
  });

  Deno.test(`QuitWordScanner does not match the word inside a longer line (${scan} scan)`, async (t) => {
    for (
      const line of [
        "BYEBYE",
        "B YE",
        "BY E",
        "xBYE",
        "BYE x",
        "BYEx",
        "x BYE",
        "BY",
        "YE",
        "",
        "   ",
        "\r",
        "BYE\u00a0", // a non-ASCII space is not whitespace to the scanner
      ]
    ) {
      await t.step(JSON.stringify(line), () => {
        const scanner = make();
        assertEquals(scanner.scan(bytes(line + "\n")), -1);
        // The failed line does not leak into the next one.
        assertEquals(scanner.scan(bytes("BYE\n")), 4);
      });
    }
  });

  Deno.test(`QuitWordScanner is case-sensitive (${scan} scan)`, () => {
    const scanner = make();
    assertEquals(scanner.word, DEFAULT_QUIT_WORD);
    assertEquals(scanner.scan(bytes("bye\nBye\nbYE\n")), -1);
    assertEquals(scanner.scan(bytes("BYE\n")), 4);
  });

  Deno.test(`QuitWordScanner needs the line to end with a newline (${scan} scan)`, () => {
    const scanner = make();
    assertEquals(scanner.scan(bytes("BYE")), -1);
    assertEquals(scanner.scan(bytes("\r")), -1);
    assertEquals(scanner.scan(bytes("\n")), 1);
  });

  Deno.test(`QuitWordScanner uses a custom word (${scan} scan)`, async (t) => {
    await t.step("an ASCII word", () => {
      const scanner = make("quit");
      assertEquals(scanner.word, "quit");
      assertEquals(scanner.scan(bytes("BYE\nQUIT\nqui\nquitquit\n")), -1);
      assertEquals(scanner.scan(bytes(" quit \r\n")), 8);
    });

    await t.step("a one-byte word", () => {
      const scanner = make("q");
      assertEquals(scanner.scan(bytes("qq\nq q\n")), -1);
      assertEquals(scanner.scan(bytes("q\n")), 2);
    });

    await t.step("a multi-byte UTF-8 word, split inside a character", () => {
      const scanner = make("ciao👋");
      const data = bytes("ciao\nciao👋\n");
      assertEquals(data.length, 14);
      // Split inside the 4-byte emoji.
      assertEquals(scanner.scan(data.subarray(0, 11)), -1);
      assertEquals(scanner.scan(data.subarray(11)), 3);
    });
  });

  Deno.test(`QuitWordScanner finds the quit line after a huge line with the right index (${scan} scan)`, async (t) => {
    const size = 8 * 1024 * 1024;
    const data = new Uint8Array(size + 5);
    data.fill(0x61, 0, size); // 'a'
    data.set(bytes("\nBYE\n"), size);

    await t.step("in one chunk", () => {
      const scanner = make();
      assertEquals(scanner.scan(data), size + 5);
    });

    await t.step("in 64 KiB chunks", () => {
      const points: number[] = [];
      for (let p = 65536; p < data.length; p += 65536) points.push(p);
      assertEquals(scanAll(make, "BYE", splitAt(data, points)), [size + 5]);
    });

    await t.step(
      "a huge line that ends in the word is not the quit line",
      () => {
        const scanner = make();
        const tail = bytes("BYE\n");
        const line = new Uint8Array(size + tail.length);
        line.fill(0x61, 0, size);
        line.set(tail, size);
        assertEquals(scanner.scan(line), -1);
      },
    );
  });

  Deno.test(`QuitWordScanner starts over on the line after a match (${scan} scan)`, async (t) => {
    await t.step("two quit lines in one chunk", () => {
      const scanner = make();
      const data = bytes("BYE\nBYE\n");
      const first = scanner.scan(data);
      assertEquals(first, 4);
      assertEquals(scanner.scan(data.subarray(first)), 4);
    });

    await t.step(
      "a partial line after the match is tracked into the next chunk",
      () => {
        const scanner = make();
        const data = bytes("x\nBYE\nBY");
        assertEquals(scanner.scan(data), 6);
        assertEquals(scanner.scan(data.subarray(6)), -1);
        assertEquals(scanner.scan(bytes("E\n")), 2);
      },
    );

    await t.step("a failed line before the match does not carry over", () => {
      const scanner = make();
      assertEquals(scanner.scan(bytes("junk")), -1);
      assertEquals(scanner.scan(bytes("\nBYE\n")), 5);
      assertEquals(scanner.scan(bytes("BYE\n")), 4);
    });

    await t.step("the rest of the chunk after a match has no quit line", () => {
      const scanner = make();
      const data = bytes("BYE\nBYEx\nbye\n");
      assertEquals(scanner.scan(data), 4);
      assertEquals(scanner.scan(data.subarray(4)), -1);
    });
  });

  Deno.test(`QuitWordScanner.reset() forgets a partial line (${scan} scan)`, async (t) => {
    await t.step("a failed line", () => {
      const scanner = make();
      assertEquals(scanner.scan(bytes("xx")), -1);
      scanner.reset();
      assertEquals(scanner.scan(bytes("BYE\n")), 4);
    });

    await t.step("without reset the same bytes are not a quit line", () => {
      const scanner = make();
      assertEquals(scanner.scan(bytes("xx")), -1);
      assertEquals(scanner.scan(bytes("BYE\n")), -1);
    });

    await t.step("a partly matched word", () => {
      const scanner = make();
      assertEquals(scanner.scan(bytes("BY")), -1);
      scanner.reset();
      assertEquals(scanner.scan(bytes("E\n")), -1);
      assertEquals(scanner.scan(bytes("BYE\n")), 4);
    });
  });

  Deno.test(`QuitWordScanner does not modify the chunk (${scan} scan)`, () => {
    const scanner = make();
    const data = bytes(" x\nBYE\r\nrest");
    const copy = data.slice();
    assertEquals(scanner.scan(data), 8);
    assertEquals(data, copy);
  });
}

Deno.test("validateQuitWord rejects empty words and words with whitespace", async (t) => {
  await t.step("valid words are returned unchanged", () => {
    for (const word of ["BYE", "q", "quit!", "ciao👋", "a-b_c"]) {
      assertEquals(validateQuitWord(word), word);
    }
  });

  for (
    const word of [
      "",
      " ",
      "B YE",
      " BYE",
      "BYE ",
      "BYE\n",
      "\tBYE",
      "BY\rE",
      "BYE\u00a0",
    ]
  ) {
    await t.step(`rejects ${JSON.stringify(word)}`, () => {
      assertThrows(() => validateQuitWord(word), TypeError);
      assertThrows(() => new QuitWordScanner(word), TypeError);
    });
  }
});
