// Copyright the deno-echo authors. MIT license.

/** Why a connection was closed as soon as it was accepted. */
export type RejectReason =
  /** `maxConnections` were open. */
  | "max-connections"
  /** `maxPerIp` connections from the same address were open. */
  | "max-per-ip";

/**
 * Connection ids and the connection limits of one server. A server in one
 * isolate keeps them in plain counters ({@linkcode LocalAdmission}); servers
 * in several isolates sharing a port keep them in shared memory
 * ({@linkcode SharedAdmission}), so the limits hold for all of them together.
 */
export interface Admission {
  /** Connections admitted and not yet released. */
  readonly open: number;
  /** A new connection id, unique across everything sharing this admission. */
  nextId(): number;
  /**
   * Admits a connection from `client` (its address, or any key that should
   * be counted as one client), or says which limit it would break.
   */
  admit(client: string): RejectReason | undefined;
  /** Releases what `admit()` counted for `client`. */
  release(client: string): void;
}

/** Connection limits: 0 means no limit. */
export interface Limits {
  /** Connections open at once. */
  readonly maxConnections: number;
  /** Connections open at once from one client. */
  readonly maxPerIp: number;
}

/** Ids and limits for one isolate: exact counts, per client in a map. */
export class LocalAdmission implements Admission {
  #open = 0;
  #lastId = 0;
  readonly #limits: Limits;
  /** Open connections per client, kept only with `maxPerIp`. */
  readonly #perClient = new Map<string, number>();

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  get open(): number {
    return this.#open;
  }

  nextId(): number {
    return ++this.#lastId;
  }

  admit(client: string): RejectReason | undefined {
    const { maxConnections, maxPerIp } = this.#limits;
    if (maxConnections > 0 && this.#open >= maxConnections) {
      return "max-connections";
    }
    if (maxPerIp > 0) {
      const from = this.#perClient.get(client) ?? 0;
      if (from >= maxPerIp) return "max-per-ip";
      this.#perClient.set(client, from + 1);
    }
    this.#open++;
    return undefined;
  }

  release(client: string): void {
    this.#open--;
    if (this.#limits.maxPerIp > 0) {
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(client, left);
      else this.#perClient.delete(client);
    }
  }
}

/** Counters per row of the per-client table: a power of two. */
const SKETCH_WIDTH = 8192;
const OPEN = 0;
const LAST_ID = 1;
const ROW_A = 2;
const ROW_B = ROW_A + SKETCH_WIDTH;
const SLOTS = ROW_B + SKETCH_WIDTH;

/**
 * Ids and limits shared by servers in several isolates (workers), in a
 * `SharedArrayBuffer` updated with `Atomics`.
 *
 * Per-client counts live in a fixed table (two rows of 8192 counters, each
 * client hashed to one counter per row with different hashes; its count is
 * the smaller of the two), so memory stays at 64 KiB whatever the number of
 * clients. Clients that share a counter in both rows are counted together:
 * that can refuse a client early, but never admits one past `maxPerIp`.
 * Admission adds first and takes back on refusal, so racing isolates can
 * only refuse, never overshoot a limit.
 */
export class SharedAdmission implements Admission {
  readonly #slots: Int32Array;
  readonly #limits: Limits;

  /**
   * @param buffer From {@linkcode SharedAdmission.createBuffer}, the same
   * one in every isolate.
   * @param limits The limits, the same in every isolate.
   */
  constructor(buffer: SharedArrayBuffer, limits: Limits) {
    if (buffer.byteLength !== SLOTS * Int32Array.BYTES_PER_ELEMENT) {
      throw new RangeError("Not a buffer made by SharedAdmission");
    }
    this.#slots = new Int32Array(buffer);
    this.#limits = limits;
  }

  /** @returns A zeroed buffer for isolates to share. */
  static createBuffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT);
  }

  get open(): number {
    return Atomics.load(this.#slots, OPEN);
  }

  nextId(): number {
    return Atomics.add(this.#slots, LAST_ID, 1) + 1;
  }

  admit(client: string): RejectReason | undefined {
    const slots = this.#slots;
    const { maxConnections, maxPerIp } = this.#limits;
    const open = Atomics.add(slots, OPEN, 1);
    if (maxConnections > 0 && open >= maxConnections) {
      Atomics.sub(slots, OPEN, 1);
      return "max-connections";
    }
    if (maxPerIp > 0) {
      const [a, b] = counters(client);
      const fromA = Atomics.add(slots, a, 1);
      const fromB = Atomics.add(slots, b, 1);
      if (Math.min(fromA, fromB) >= maxPerIp) {
        Atomics.sub(slots, a, 1);
        Atomics.sub(slots, b, 1);
        Atomics.sub(slots, OPEN, 1);
        return "max-per-ip";
      }
    }
    return undefined;
  }

  release(client: string): void {
    const slots = this.#slots;
    Atomics.sub(slots, OPEN, 1);
    if (this.#limits.maxPerIp > 0) {
      const [a, b] = counters(client);
      Atomics.sub(slots, a, 1);
      Atomics.sub(slots, b, 1);
    }
  }
}

/**
 * The client's counter in each row: a 32-bit FNV-1a hash of the key, mixed
 * two ways (murmur3's finalizer, with and without a salt), so two clients
 * share both counters only if their 32-bit hashes are equal.
 */
function counters(client: string): [number, number] {
  let hash = 0x811c9dc5;
  for (let i = 0; i < client.length; i++) {
    hash = Math.imul(hash ^ client.charCodeAt(i), 0x01000193);
  }
  return [
    ROW_A + (mix(hash) & (SKETCH_WIDTH - 1)),
    ROW_B + (mix(hash ^ 0x9e3779b9) & (SKETCH_WIDTH - 1)),
  ];
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
