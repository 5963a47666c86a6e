// Copyright the deno-echo authors. MIT license.

// The `"lines"` input of a client session: line endings normalized and the
// input ended right after its quit line, in constant memory. (Not
// `TextLineStream`: that decodes text, so it is not byte-exact, and it holds
// a whole line however long.) A filter applied to each chunk as the session
// reads it, not a stream piped in front: the session's input is read only
// when the session asks (at a prompt, only once the last line is echoed).

import { QuitWordScanner } from "../echo/quit_word.ts";

/** The newline byte. */
export const LF = 0x0a;
const CR = 0x0d;
/** A newline, as bytes. */
export const NEWLINE: Uint8Array = new Uint8Array([LF]);
const EMPTY = new Uint8Array(0);

/**
 * The `"lines"` input filter: `\r\n` to `\n`, a final newline added when
 * missing, and nothing after the quit line. Constant memory: a `\r` at the
 * end of a chunk is the only byte held back.
 */
export class LineFilter {
  readonly #scanner: QuitWordScanner | null;
  #heldCR = false;
  #last = LF;
  #quit = false;

  /**
   * Makes a filter for one input.
   *
   * @param quitWord The quit word, or `null` to pass every line.
   */
  constructor(quitWord: string | null) {
    this.#scanner = quitWord === null ? null : new QuitWordScanner(quitWord);
  }

  /** Whether the quit line has gone through: nothing more will. */
  get quit(): boolean {
    return this.#quit;
  }

  /**
   * Filters the next chunk of input.
   *
   * @param chunk Bytes as read.
   * @returns What to send: maybe `chunk` itself, maybe empty.
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#quit) return EMPTY;
    const cut = this.#scanner?.scan(chunk) ?? -1;
    const part = cut < 0 ? chunk : chunk.subarray(0, cut);
    if (cut >= 0) this.#quit = true;
    if (part.length === 0) return EMPTY;
    const out = stripCRs(part, this.#heldCR);
    this.#heldCR = part[part.length - 1] === CR;
    const body = this.#heldCR ? out.subarray(0, out.length - 1) : out;
    if (body.length > 0) this.#last = body[body.length - 1]!;
    return body;
  }

  /**
   * Ends the input.
   *
   * @returns The newline that ends a last line without one (a lone `\r` at
   * the very end is that line's ending), or nothing.
   */
  end(): Uint8Array {
    if (this.#quit) return EMPTY;
    const tail = this.#heldCR || this.#last !== LF ? NEWLINE : EMPTY;
    this.#heldCR = false;
    this.#last = LF;
    return tail;
  }
}

/**
 * Copies a chunk without each `\r` that comes right before a `\n`; a `\r`
 * held back from the previous chunk is put back unless a `\n` follows.
 */
function stripCRs(chunk: Uint8Array, heldCR: boolean): Uint8Array {
  const restoreCR = heldCR && chunk[0] !== LF;
  if (!restoreCR && chunk.indexOf(CR) < 0) return chunk;
  const out = new Uint8Array(chunk.length + 1);
  let n = 0;
  if (restoreCR) out[n++] = CR;
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i]!;
    if (byte === CR && chunk[i + 1] === LF) continue;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

/**
 * Counts the newlines in a chunk.
 *
 * @param chunk Any bytes.
 * @returns How many `\n` bytes it holds.
 */
export function countNewlines(chunk: Uint8Array): number {
  let count = 0;
  for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
    count++;
  }
  return count;
}
