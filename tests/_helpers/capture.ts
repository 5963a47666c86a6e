// Copyright the deno-echo authors. MIT license.

// The text a running program has printed so far on one stream, and waits for
// that text to match. The stream is read while the program runs, and every
// chunk is checked against the waits (bounded in time), so it is read by hand
// here rather than collected at the end with @std/streams' toText.

/** What a wait looks for: a substring, a pattern, or a test of the text. */
export type TextTest = string | RegExp | ((text: string) => boolean);

/** Makes the error a failed wait rejects with (the program's output added). */
export type FailureReport = (why: string) => Error;

interface Waiter {
  check(): boolean;
  fail(error: Error): void;
}

function matcher(test: TextTest): (text: string) => boolean {
  if (typeof test === "string") return (text) => text.includes(test);
  if (test instanceof RegExp) return (text) => test.test(text);
  return test;
}

/** Everything one stream of a program has printed so far, as text. */
export class Capture {
  /** The stream's name in failure messages ("stdout", "stderr"). */
  readonly name: string;
  /** The text so far. */
  text = "";
  /** Whether the stream has ended. */
  ended = false;
  readonly #report: FailureReport;
  readonly #waiters = new Set<Waiter>();

  constructor(name: string, report: FailureReport) {
    this.name = name;
    this.#report = report;
  }

  /**
   * Reads `stream` to its end, decoding it as UTF-8 and checking the waits
   * after every chunk. Waits still unmatched when it ends are rejected.
   */
  async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this.text += chunk;
        for (const waiter of this.#waiters) waiter.check();
      }
    } finally {
      this.ended = true;
      for (const waiter of this.#waiters) {
        if (!waiter.check()) {
          waiter.fail(this.#report(`${this.name} ended without a match`));
        }
      }
    }
  }

  /**
   * Waits until the text satisfies `test`; resolves with the text.
   *
   * @throws {Error} From the failure report, after `timeout` ms or once the
   * stream ended without a match.
   */
  waitFor(test: TextTest, timeout: number): Promise<string> {
    const matches = matcher(test);
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    const done = (): void => {
      clearTimeout(timer);
      this.#waiters.delete(waiter);
    };
    const waiter: Waiter = {
      check: () => {
        if (!matches(this.text)) return false;
        done();
        resolve(this.text);
        return true;
      },
      fail: (error) => {
        done();
        reject(error);
      },
    };
    const timer = setTimeout(() =>
      waiter.fail(
        this.#report(
          `Timed out after ${timeout} ms waiting for ${this.name} to match ${
            String(test)
          }`,
        ),
      ), timeout);
    this.#waiters.add(waiter);
    if (!waiter.check() && this.ended) {
      waiter.fail(
        this.#report(`${this.name} ended without matching ${String(test)}`),
      );
    }
    return promise;
  }
}
