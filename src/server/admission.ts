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

/**
 * What `maxPerIp` counts a client by: its IPv4 address; for IPv6 the /64
 * network it is in (one host is usually given a whole /64, and can take any
 * address of it); one key for every Unix socket peer (Deno does not expose
 * the peer's credentials, and its socket name is its own to choose).
 *
 * @example Count a host's IPv6 addresses as one client
 * ```ts
 * import { clientKey } from "./admission.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const v6 = (hostname: string) => clientKey({ transport: "tcp", hostname, port: 1 });
 * assertEquals(v6("2001:db8:0:7::1"), v6("2001:DB8::7:ffff:1:2:3"));
 * assertEquals(v6("2001:db8:0:7::1"), "2001:db8:0:7::/64");
 * assertEquals(clientKey({ transport: "tcp", hostname: "192.0.2.1", port: 1 }), "192.0.2.1");
 * assertEquals(clientKey({ transport: "unix", path: "/tmp/client.sock" }), "unix");
 * ```
 *
 * @param addr The peer's address, IPv4-mapped addresses unmapped.
 * @returns The key.
 */
export function clientKey(addr: Deno.NetAddr | Deno.UnixAddr): string {
  if ("path" in addr) return "unix";
  const { hostname } = addr;
  if (!hostname.includes(":")) return hostname;
  const zone = hostname.indexOf("%");
  const address = (zone < 0 ? hostname : hostname.slice(0, zone))
    .toLowerCase();
  const [head = "", tail] = address.split("::");
  const groups = head === "" ? [] : head.split(":");
  if (tail !== undefined) {
    // Groups after "::" (an IPv4 tail, last, counts as two).
    const after = tail === "" ? [] : tail.split(":");
    const width = after.length + (after.at(-1)?.includes(".") ? 1 : 0);
    groups.push(...Array(Math.max(0, 8 - groups.length - width)).fill("0"));
    groups.push(...after);
  }
  const prefix = groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ""));
  return `${prefix.join(":")}::/64${zone < 0 ? "" : hostname.slice(zone)}`;
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

/** The most isolates one {@linkcode SharedAdmission} can serve. */
export const MAX_ISOLATES = 256;
/**
 * Table slots without `maxConnections`: 3/4 of them (49,152 client addresses)
 * can be in use at once.
 */
const UNLIMITED_SLOTS = 65_536;

// Layout of the shared buffer: a 64-bit id counter, then 32-bit words.
const OPEN = 2;
const LOCK = 3;
const CAPACITY = 4;
/** Table slots in use. */
const USED = 5;
/** Open connections of each isolate, so a dead one's can be taken back. */
const BY_ISOLATE = 6;
const TABLE = BY_ISOLATE + MAX_ISOLATES;
/** Words per table slot: two halves of a 64-bit key hash, then the count. */
const SLOT = 3;

/**
 * Ids and limits shared by servers in several isolates (workers), in a
 * `SharedArrayBuffer`.
 *
 * The open count and the ids are atomic counters. Per-client counts are kept
 * exactly, in a hash table (open addressing, linear probing) keyed by a
 * 64-bit hash of the client's address, under a lock held for one lookup: two
 * addresses are counted together only if their 64-bit hashes are equal
 * (about once in 10^11 pairs among 10,000 clients). The table has twice as
 * many slots as `maxConnections`, so it is at most half full; with no
 * `maxConnections` it tracks up to 49,152 addresses at once and refuses a new
 * one beyond that as `max-per-ip` (it never admits one uncounted).
 */
export class SharedAdmission implements Admission {
  readonly #words: Int32Array;
  readonly #id: BigInt64Array;
  readonly #limits: Limits;
  readonly #isolate: number;
  /** Slots in the table, a power of two. */
  readonly #capacity: number;

  /**
   * @param buffer From {@linkcode SharedAdmission.createBuffer}, the same
   * one in every isolate.
   * @param limits The limits it was made for, the same in every isolate.
   * @param isolate This isolate's number, 0 to 255.
   */
  constructor(buffer: SharedArrayBuffer, limits: Limits, isolate = 0) {
    const capacity = tableCapacity(limits);
    if (
      buffer.byteLength !== bufferSize(capacity) ||
      new Int32Array(buffer)[CAPACITY] !== capacity
    ) {
      throw new RangeError(
        "Not a buffer made by SharedAdmission.createBuffer for these limits",
      );
    }
    if (!Number.isInteger(isolate) || isolate < 0 || isolate >= MAX_ISOLATES) {
      throw new RangeError(`Invalid isolate ${isolate}`);
    }
    this.#words = new Int32Array(buffer);
    this.#id = new BigInt64Array(buffer, 0, 1);
    this.#limits = limits;
    this.#isolate = isolate;
    this.#capacity = capacity;
  }

  /**
   * @param limits The limits every isolate will use.
   * @returns A buffer for isolates to share, sized for the limits.
   */
  static createBuffer(limits: Limits): SharedArrayBuffer {
    const capacity = tableCapacity(limits);
    const buffer = new SharedArrayBuffer(bufferSize(capacity));
    new Int32Array(buffer)[CAPACITY] = capacity;
    return buffer;
  }

  get open(): number {
    return Atomics.load(this.#words, OPEN);
  }

  nextId(): number {
    return Number(Atomics.add(this.#id, 0, 1n) + 1n);
  }

  admit(client: string): RejectReason | undefined {
    const words = this.#words;
    const { maxConnections, maxPerIp } = this.#limits;
    // Added first, taken back on refusal: racing isolates can only refuse.
    const open = Atomics.add(words, OPEN, 1);
    if (maxConnections > 0 && open >= maxConnections) {
      Atomics.sub(words, OPEN, 1);
      return "max-connections";
    }
    if (maxPerIp > 0 && !this.#count(client, maxPerIp)) {
      Atomics.sub(words, OPEN, 1);
      return "max-per-ip";
    }
    Atomics.add(words, BY_ISOLATE + this.#isolate, 1);
    return undefined;
  }

  release(client: string): void {
    const words = this.#words;
    Atomics.sub(words, OPEN, 1);
    Atomics.sub(words, BY_ISOLATE + this.#isolate, 1);
    if (this.#limits.maxPerIp > 0) this.#uncount(client);
  }

  /**
   * Takes back the open connections of an isolate that died without
   * releasing them. (Their per-client counts stay: the table does not know
   * which isolate holds what.)
   *
   * @param isolate The dead isolate's number.
   * @returns How many connections it held.
   */
  releaseIsolate(isolate: number): number {
    const held = Atomics.exchange(this.#words, BY_ISOLATE + isolate, 0);
    Atomics.sub(this.#words, OPEN, held);
    return held;
  }

  /** Counts one more connection of `client`, unless it has `max` already. */
  #count(client: string, max: number): boolean {
    const [a, b] = keyOf(client);
    const words = this.#words;
    this.#lock();
    try {
      let at = this.#find(a, b);
      if (at < 0) {
        if (words[USED]! * 4 >= this.#capacity * 3) return false;
        at = -at - 1;
        words[at] = a;
        words[at + 1] = b;
        words[at + 2] = 0;
        words[USED]!++;
      }
      if (words[at + 2]! >= max) return false;
      words[at + 2]!++;
      return true;
    } finally {
      this.#unlock();
    }
  }

  /** Counts one connection of `client` fewer. */
  #uncount(client: string): void {
    const [a, b] = keyOf(client);
    const words = this.#words;
    this.#lock();
    try {
      const at = this.#find(a, b);
      if (at < 0 || --words[at + 2]! > 0) return;
      this.#remove(at);
      words[USED]!--;
    } finally {
      this.#unlock();
    }
  }

  /**
   * Where key (a, b) is: its slot's first word, or `-(first word of the
   * empty slot where it would go) - 1`.
   */
  #find(a: number, b: number): number {
    const words = this.#words;
    const mask = this.#capacity - 1;
    for (let i = homeOf(a, mask);; i = (i + 1) & mask) {
      const at = TABLE + i * SLOT;
      if (words[at] === 0 && words[at + 1] === 0) return -at - 1;
      if (words[at] === a && words[at + 1] === b) return at;
    }
  }

  /**
   * Empties a slot and moves later entries of its probe run back into the
   * hole, so that lookups never need markers for removed keys.
   */
  #remove(at: number): void {
    const words = this.#words;
    const mask = this.#capacity - 1;
    let hole = (at - TABLE) / SLOT;
    for (let i = (hole + 1) & mask;; i = (i + 1) & mask) {
      const from = TABLE + i * SLOT;
      if (words[from] === 0 && words[from + 1] === 0) break;
      const home = homeOf(words[from]!, mask);
      // Movable unless its home lies cyclically in (hole, i].
      const stays = hole <= i
        ? hole < home && home <= i
        : hole < home || home <= i;
      if (stays) continue;
      const to = TABLE + hole * SLOT;
      words[to] = words[from]!;
      words[to + 1] = words[from + 1]!;
      words[to + 2] = words[from + 2]!;
      hole = i;
    }
    const to = TABLE + hole * SLOT;
    words[to] = 0;
    words[to + 1] = 0;
    words[to + 2] = 0;
  }

  /**
   * Takes the table's lock. Held for one lookup, so waits are short: a
   * waiter sleeps in `Atomics.wait` until the holder lets go (Deno allows
   * that on the main thread too).
   */
  #lock(): void {
    const words = this.#words;
    while (Atomics.compareExchange(words, LOCK, 0, 1) !== 0) {
      Atomics.wait(words, LOCK, 1, 1);
    }
  }

  #unlock(): void {
    Atomics.store(this.#words, LOCK, 0);
    Atomics.notify(this.#words, LOCK, 1);
  }
}

/** Slots: twice `maxConnections` (a power of two), or a fixed 65,536. */
function tableCapacity({ maxConnections }: Limits): number {
  if (maxConnections === 0) return UNLIMITED_SLOTS;
  return 2 ** Math.ceil(Math.log2(Math.max(16, maxConnections * 2)));
}

function bufferSize(capacity: number): number {
  return (TABLE + capacity * SLOT) * Int32Array.BYTES_PER_ELEMENT;
}

function homeOf(a: number, mask: number): number {
  return (a >>> 0) & mask;
}

/**
 * A 64-bit hash of a client key, as two 32-bit halves, never both 0 (that
 * marks an empty slot): FNV-1a over the key, then murmur3's finalizer with
 * two different seeds.
 */
function keyOf(client: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < client.length; i++) {
    const c = client.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
  }
  a = mix(a);
  b = mix(b ^ a);
  return a === 0 && b === 0 ? [0, 1] : [a, b];
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
