// Copyright the deno-echo authors. MIT license.

import { countNewlines, LF } from "./line_input.ts";
import { EchoMismatchError } from "./session_errors.ts";

/** Bytes of context shown on each side of a difference. */
const CONTEXT = 16;

/**
 * Checks an echo against what was sent, holding only the bytes in flight
 * (sent and not yet echoed) and a few bytes of the current line, to say
 * where a difference is: line, column, and the text around it.
 */
export class EchoVerifier {
  /** Chunks sent and not yet fully echoed, oldest first. */
  readonly #inFlight: Uint8Array[] = [];
  /** How much of the oldest chunk has been echoed. */
  #offset = 0;
  /** The line of the next echoed byte, from 1. */
  #line = 1;
  /** The column (characters) of the next echoed byte, from 1. */
  #column = 1;
  /** The last bytes of the current line echoed so far (at most CONTEXT). */
  #recent: Uint8Array = new Uint8Array(0);

  /**
   * Records bytes about to be sent (their echo may come before the write
   * returns).
   *
   * @param data The bytes; kept, not copied.
   */
  expect(data: Uint8Array): void {
    this.#inFlight.push(data);
  }

  /**
   * Compares echoed bytes with the oldest bytes in flight.
   *
   * @param echoed Bytes just echoed.
   * @param streamOffset Where they start in the echo stream, from 0.
   * @returns The first difference, or `undefined` when they match.
   */
  check(
    echoed: Uint8Array,
    streamOffset: number,
  ): EchoMismatchError | undefined {
    for (let i = 0; i < echoed.length;) {
      const head = this.#inFlight[0];
      if (head === undefined) {
        // More echoed than sent: compare against nothing.
        return this.#mismatch(echoed, i, streamOffset, undefined);
      }
      const n = Math.min(head.length - this.#offset, echoed.length - i);
      for (let k = 0; k < n; k++) {
        if (head[this.#offset + k] !== echoed[i + k]) {
          this.#offset += k;
          return this.#mismatch(
            echoed,
            i + k,
            streamOffset,
            head[this.#offset]!,
          );
        }
      }
      i += n;
      this.#offset += n;
      if (this.#offset === head.length) {
        this.#inFlight.shift();
        this.#offset = 0;
      }
    }
    this.#advance(echoed);
    return undefined;
  }

  /** Moves the line, column and recent bytes past matched bytes. */
  #advance(matched: Uint8Array): void {
    const lf = matched.lastIndexOf(LF);
    if (lf >= 0) {
      this.#line += countNewlines(matched);
      this.#column = 1;
      this.#recent = new Uint8Array(0);
    }
    const rest = matched.subarray(lf + 1);
    this.#column += characters(rest);
    const keep = Math.min(CONTEXT, this.#recent.length + rest.length);
    const recent = new Uint8Array(keep);
    const fromRest = Math.min(keep, rest.length);
    recent.set(this.#recent.subarray(this.#recent.length - (keep - fromRest)));
    recent.set(rest.subarray(rest.length - fromRest), keep - fromRest);
    this.#recent = recent;
  }

  /** The error for a difference at `echoed[at]`; `#offset` points at it. */
  #mismatch(
    echoed: Uint8Array,
    at: number,
    streamOffset: number,
    expected: number | undefined,
  ): EchoMismatchError {
    this.#advance(echoed.subarray(0, at));
    // A cut-off character at the start of the context is left out.
    let from = 0;
    while (
      from < this.#recent.length && (this.#recent[from]! & 0xc0) === 0x80
    ) {
      from++;
    }
    return new EchoMismatchError(streamOffset + at, expected, echoed[at]!, {
      line: this.#line,
      column: this.#column,
      before: this.#recent.slice(from),
      sent: this.#sentExcerpt(),
      got: excerpt([echoed.subarray(at)]),
    });
  }

  /** What was sent from the difference on, as far as it is in flight. */
  #sentExcerpt(): Uint8Array {
    const [head, ...rest] = this.#inFlight;
    if (head === undefined) return new Uint8Array(0);
    return excerpt([head.subarray(this.#offset), ...rest]);
  }
}

/** Up to CONTEXT bytes from the start of `parts`, ending after a newline. */
function excerpt(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(CONTEXT);
  let n = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length && n < CONTEXT; i++) {
      out[n++] = part[i]!;
      if (part[i] === LF) return out.subarray(0, n);
    }
    if (n === CONTEXT) break;
  }
  return out.subarray(0, n);
}

/** How many UTF-8 characters start in `bytes` (continuation bytes skipped). */
function characters(bytes: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i]! & 0xc0) !== 0x80) count++;
  }
  return count;
}
