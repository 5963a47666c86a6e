// Copyright the deno-echo authors. MIT license.

/** Sub-buckets per power of two are `2 ** SUB_BITS`. */
const SUB_BITS = 6;
/** 64 sub-buckets per power of two: a bucket is at most 1/64 of its values. */
const HALF = 1 << SUB_BITS;
/** Values below this (0 to 127) have a bucket each, so they are exact. */
const LINEAR = HALF * 2;
/** The largest power of two kept apart; larger values share the last bucket. */
const MAX_EXPONENT = 52;
const BUCKETS = (MAX_EXPONENT - SUB_BITS + 2) * HALF;
const TWO_32 = 2 ** 32;

/**
 * A log-linear histogram of non-negative numbers (latencies, in whatever
 * unit the caller records), in the manner of HdrHistogram: every power of
 * two is split into 64 equal buckets, so any value is kept to within 1/64
 * (1.6 %) of itself, and a percentile read from the buckets is within half a
 * bucket (0.8 %) of the exact one. Memory is fixed (about 24 KiB) whatever is
 * recorded; recording is a few arithmetic operations and never allocates.
 *
 * Values are floored to whole units first, so pick a unit fine enough
 * (nanoseconds for loopback round trips). Values of `2 ** 53` and more share
 * the last bucket; the exact maximum is kept apart.
 *
 * @example Record latencies and read percentiles
 * ```ts
 * import { Histogram } from "@deno-echo/echo/client";
 * import { assert } from "@std/assert";
 *
 * const histogram = new Histogram();
 * for (let us = 1; us <= 1000; us++) histogram.record(us);
 * const p99 = histogram.percentile(99);
 * assert(Math.abs(p99 - 990) <= 990 * Histogram.RELATIVE_ERROR);
 * assert(histogram.count === 1000 && histogram.max === 1000);
 * ```
 */
export class Histogram {
  /**
   * The most a percentile can differ from the exact value, relative to it
   * (values under 128 are exact, apart from flooring).
   */
  static readonly RELATIVE_ERROR: number = 1 / (2 * HALF);

  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  /** How many values were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The smallest value recorded (`NaN` when empty). */
  get min(): number {
    return this.#count === 0 ? NaN : this.#min;
  }

  /** The largest value recorded, exactly (`NaN` when empty). */
  get max(): number {
    return this.#count === 0 ? NaN : this.#max;
  }

  /** The mean of the values recorded, exactly (`NaN` when empty). */
  get mean(): number {
    return this.#count === 0 ? NaN : this.#sum / this.#count;
  }

  /**
   * Records a value.
   *
   * @param value A number, 0 or more (negative values count as 0).
   * @param times How many times to record it.
   */
  record(value: number, times = 1): void {
    const v = value > 0 ? value : 0;
    this.#counts[bucketOf(v)]! += times;
    this.#count += times;
    this.#sum += v * times;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /**
   * The value below which `p` percent of the recorded values fall (nearest
   * rank): the middle of the bucket holding that value, kept within the
   * recorded minimum and maximum.
   *
   * @param p A percentage, 0 to 100.
   * @returns The value, or `NaN` when nothing was recorded.
   * @throws {RangeError} If `p` is not between 0 and 100.
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) {
      throw new RangeError(`Invalid percentile ${p}: expected 0 to 100`);
    }
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    if (rank >= this.#count) return this.#max;
    const counts = this.#counts;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += counts[i]!;
      if (seen >= rank) {
        const middle = (lowestOf(i) + lowestOf(i + 1) - 1) / 2;
        return Math.min(this.#max, Math.max(this.#min, middle));
      }
    }
    return this.#max;
  }

  /**
   * The non-empty buckets, smallest values first.
   *
   * @returns `[low, high, count]` for each: the bucket holds values from
   * `low` up to (not including) `high`.
   */
  *buckets(): Generator<[low: number, high: number, count: number]> {
    const counts = this.#counts;
    for (let i = 0; i < BUCKETS; i++) {
      const count = counts[i]!;
      if (count > 0) yield [lowestOf(i), lowestOf(i + 1), count];
    }
  }

  /**
   * Adds another histogram's values to this one.
   *
   * @param other The histogram to add; not changed.
   */
  add(other: Histogram): void {
    const counts = this.#counts;
    const theirs = other.#counts;
    for (let i = 0; i < BUCKETS; i++) counts[i]! += theirs[i]!;
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
  }

  /** Forgets every value. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
  }
}

/**
 * The bucket of a value: values under LINEAR have their own; a value in
 * [2^k, 2^(k+1)) falls in one of HALF buckets of width 2^(k - SUB_BITS).
 */
function bucketOf(value: number): number {
  if (value < LINEAR) return Math.floor(value);
  if (value < TWO_32) {
    const shift = 31 - Math.clz32(value) - SUB_BITS;
    return shift * HALF + (value >>> shift);
  }
  let exponent = Math.floor(Math.log2(value));
  // log2 may round up just below a power of two.
  if (2 ** exponent > value) exponent--;
  if (exponent > MAX_EXPONENT) return BUCKETS - 1;
  const shift = exponent - SUB_BITS;
  return shift * HALF + Math.floor(value / 2 ** shift);
}

/** The smallest value of a bucket (the inverse of bucketOf). */
function lowestOf(index: number): number {
  if (index < LINEAR) return index;
  const shift = Math.floor(index / HALF) - 1;
  return (index - shift * HALF) * 2 ** shift;
}
