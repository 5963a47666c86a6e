// Copyright the deno-echo authors. MIT license.

/** What one source had echoed, as the UDP server reports it now and then. */
export interface UdpActivityInfo {
  /**
   * The source: its address, and the port it last sent from. IPv4-mapped
   * IPv6 addresses are shown as IPv4.
   */
  remoteAddr: Deno.NetAddr;
  /** The server address its last datagram reached. */
  localAddr: Deno.NetAddr;
  /** Datagrams echoed to it since the last report. */
  datagrams: number;
  /** Their payload bytes. */
  bytes: number;
  /** From the first of them to the last, in ms: 0 for one datagram. */
  durationMs: number;
}

/** Options for {@linkcode UdpActivity}. */
export interface UdpActivityOptions {
  /** At most one report per source in this many ms. */
  interval: number;
  /** How many sources are tracked at once; more go unreported. */
  maxSources: number;
  /** Told what a source had echoed. */
  report: (info: UdpActivityInfo) => void;
}

/** The datagrams it is given: where from and to, and how large. */
export interface UdpEchoed {
  /** The sender. */
  remoteAddr: Deno.NetAddr;
  /** The server address it reached. */
  localAddr: Deno.NetAddr;
  /** The payload's size in bytes. */
  size: number;
}

interface Source {
  remoteAddr: Deno.NetAddr;
  localAddr: Deno.NetAddr;
  datagrams: number;
  bytes: number;
  /** When the first and the last datagram not yet reported came. */
  first: number;
  last: number;
  /** When it was last reported. */
  reportedAt: number;
}

/**
 * Echoes summed up per source address, so that someone checking whether a
 * firewall lets datagrams through sees them arrive, without a line per
 * datagram: a source's first datagram is reported at once, the ones after
 * it at most once per `interval`, together. A source quiet for a whole
 * interval after its last report is forgotten (its next datagram is reported
 * at once again). At most `maxSources` are tracked; while that many are, a
 * new one goes unreported, so a flood of spoofed sources costs bounded
 * memory. One timer, running only while sources are tracked, checks four
 * times per interval.
 *
 * @example Report the first datagram at once, the next ones together
 * ```ts
 * import { type UdpActivityInfo, UdpActivity } from "./udp_activity.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const reports: UdpActivityInfo[] = [];
 * const activity = new UdpActivity({
 *   interval: 10_000,
 *   maxSources: 100,
 *   report: (info) => reports.push(info),
 * });
 * const from = { transport: "udp", hostname: "192.0.2.7", port: 5000 } as const;
 * const to = { transport: "udp", hostname: "0.0.0.0", port: 2000 } as const;
 * activity.echoed({ remoteAddr: from, localAddr: to, size: 5 }, 0);
 * activity.echoed({ remoteAddr: from, localAddr: to, size: 5 }, 100);
 * activity.echoed({ remoteAddr: from, localAddr: to, size: 5 }, 300);
 * activity.close();
 * assertEquals(reports.map((r) => [r.datagrams, r.bytes, r.durationMs]), [[1, 5, 0], [2, 10, 200]]);
 * ```
 */
export class UdpActivity {
  readonly #options: UdpActivityOptions;
  /** By source address. */
  readonly #sources = new Map<string, Source>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * Makes a tracker with no source known.
   *
   * @param options The interval, the table's size and where reports go.
   */
  constructor(options: UdpActivityOptions) {
    this.#options = options;
  }

  /** How many sources are tracked right now. */
  get size(): number {
    return this.#sources.size;
  }

  /**
   * Counts one echoed datagram, and reports its source if it is due.
   *
   * @param datagram Where it came from and went to, and its size.
   * @param now The time, from `performance.now()`.
   */
  echoed(datagram: UdpEchoed, now: number = performance.now()): void {
    const key = datagram.remoteAddr.hostname;
    let source = this.#sources.get(key);
    if (source === undefined) {
      if (this.#sources.size >= this.#options.maxSources) return;
      source = {
        ...datagram,
        datagrams: 0,
        bytes: 0,
        first: now,
        last: now,
        reportedAt: -Infinity,
      };
      this.#sources.set(key, source);
      this.#timer ??= setInterval(
        () => this.sweep(),
        this.#options.interval / 4,
      );
    }
    if (source.datagrams === 0) source.first = now;
    source.datagrams++;
    source.bytes += datagram.size;
    source.last = now;
    source.remoteAddr = datagram.remoteAddr;
    source.localAddr = datagram.localAddr;
    if (now - source.reportedAt >= this.#options.interval) {
      this.#report(source, now);
    }
  }

  /** Reports what is left unreported, forgets every source, stops. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const source of this.#sources.values()) {
      if (source.datagrams > 0) this.#report(source, source.last);
    }
    this.#sources.clear();
  }

  /**
   * Reports the sources that are due and forgets those quiet for an
   * interval; the timer calls it four times per interval.
   *
   * @param now The time, from `performance.now()`.
   */
  sweep(now: number = performance.now()): void {
    for (const [key, source] of this.#sources) {
      if (now - source.reportedAt < this.#options.interval) continue;
      if (source.datagrams > 0) this.#report(source, now);
      else this.#sources.delete(key);
    }
    if (this.#sources.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #report(source: Source, now: number): void {
    const { remoteAddr, localAddr, datagrams, bytes } = source;
    const durationMs = source.last - source.first;
    source.datagrams = 0;
    source.bytes = 0;
    source.reportedAt = now;
    this.#options.report({
      remoteAddr,
      localAddr,
      datagrams,
      bytes,
      durationMs,
    });
  }
}
