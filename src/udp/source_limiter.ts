// Copyright the deno-echo authors. MIT license.

/** Options for {@linkcode SourceLimiter}. */
export interface SourceLimiterOptions {
  /** Datagrams per second each source may send in the long run; above 0. */
  rate: number;
  /** Datagrams a source may send at once after a quiet spell; 1 or more. */
  burst: number;
  /** How many sources are remembered; 1 or more. */
  maxSources: number;
}

interface Bucket {
  tokens: number;
  /** `performance.now()` when `tokens` was last brought up to date. */
  at: number;
}

/**
 * A token bucket per source address, in a map of bounded size: when it is
 * full, the source heard from least recently is forgotten. Memory therefore
 * stays bounded whatever the number of (possibly spoofed) sources; the price
 * is that a forgotten source starts again with a full bucket.
 *
 * @example Allow a burst, then refuse
 * ```ts
 * import { SourceLimiter } from "./source_limiter.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const limiter = new SourceLimiter({ rate: 1, burst: 2, maxSources: 100 });
 * const now = 0;
 * assertEquals([1, 2, 3].map(() => limiter.allow("192.0.2.1", now)), [true, true, false]);
 * assertEquals(limiter.allow("192.0.2.1", now + 1000), true);
 * ```
 */
export class SourceLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxSources: number;
  /** In order of last use, least recent first. */
  readonly #buckets = new Map<string, Bucket>();

  /**
   * Makes a limiter with no source remembered.
   *
   * @param options The rate, the burst and how many sources to remember.
   */
  constructor(options: SourceLimiterOptions) {
    this.#rate = options.rate / 1000;
    this.#burst = options.burst;
    this.#maxSources = options.maxSources;
  }

  /** How many sources are remembered right now. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes a token from a source's bucket.
   *
   * @param source The source address.
   * @param now The time, from `performance.now()`.
   * @returns Whether the source may be answered.
   */
  allow(source: string, now: number = performance.now()): boolean {
    const buckets = this.#buckets;
    let bucket = buckets.get(source);
    if (bucket === undefined) {
      if (buckets.size >= this.#maxSources) {
        // The least recently used: the first in insertion order.
        buckets.delete(buckets.keys().next().value!);
      }
      bucket = { tokens: this.#burst, at: now };
    } else {
      // Move it to the end: it is now the most recently used.
      buckets.delete(source);
      bucket.tokens = Math.min(
        this.#burst,
        bucket.tokens + Math.max(0, now - bucket.at) * this.#rate,
      );
      bucket.at = now;
    }
    buckets.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }
}
