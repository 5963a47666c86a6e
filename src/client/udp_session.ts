// Copyright the deno-echo authors. MIT license.

import { DEFAULT_QUIT_WORD, QuitWordScanner } from "../echo/quit_word.ts";
import { DEFAULT_HOSTNAME, DEFAULT_PORT } from "../net/defaults.ts";
import { resolveAll } from "../net/resolve.ts";
import {
  DatagramLostError,
  openUdpClient,
  type UdpClientOptions,
} from "../udp/udp_client.ts";
import {
  checkDatagramSize,
  DEFAULT_MAX_DATAGRAM_SIZE,
} from "../udp/udp_socket.ts";
import { loopbackPortUnbound } from "./udp_probe.ts";

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = new Uint8Array([LF]);

/** Options for {@linkcode runUdpSession}. */
export interface UdpSessionOptions extends UdpClientOptions {
  /**
   * Input stops after a line that says this word (it is sent first);
   * `null` sends every line.
   *
   * @default {"BYE"}
   */
  quitWord?: string | null;
  /** Called for each line whose echo never came back. */
  onLost?: (info: UdpLostLine) => void;
}

/** A line whose echo never came back. */
export interface UdpLostLine {
  /** The line's number in the input, from 1. */
  line: number;
  /** Its size in bytes, without the newline. */
  size: number;
  /** How many times it was sent. */
  attempts: number;
}

/** What a UDP session sent and got back. */
export interface UdpSessionResult {
  /** Lines sent, each as one datagram (resends not counted). */
  sent: number;
  /** Lines whose echo came back (and was written to the output). */
  echoed: number;
  /** Lines whose echo never came back after every try. */
  lost: number;
  /** Datagrams sent again after a timeout, over all lines. */
  retries: number;
  /** The output stopped taking data (for example a closed pipe). */
  outputClosed: boolean;
  /**
   * What the output's write threw when it stopped taking data (a closed
   * pipe, a full disk), for a caller to tell them apart. Absent otherwise.
   */
  outputError?: unknown;
}

/**
 * Runs a UDP client session: each input line is sent as one datagram
 * (without its newline) and its echo awaited, with timeout and retries;
 * echoed lines go to the output, each followed by `\n`. Lines follow the TCP
 * session's rules: `\r\n` counts as `\n`, a last line without a newline
 * counts, and input stops after the quit line. A lost line is counted (and
 * reported to `onLost`), and the session goes on. A server on this
 * machine's loopback that is not running is found before anything is sent
 * (on Linux): then no retry is waited out.
 *
 * @example Send lines through a server
 * ```ts
 * import { serveUdp } from "../udp/udp_server.ts";
 * import { runUdpSession } from "./udp_session.ts";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = await serveUdp({ hostname: "127.0.0.1", port: 0 });
 * let text = "";
 * const result = await runUdpSession(
 *   { hostname: "127.0.0.1", port: server.addrs[0]!.port },
 *   ReadableStream.from([new TextEncoder().encode("a\r\nb\nBYE\nnot sent\n")]),
 *   new WritableStream({ write: (c) => void (text += new TextDecoder().decode(c)) }),
 * );
 * assertEquals(text, "a\nb\nBYE\n");
 * assertEquals(result, { sent: 3, echoed: 3, lost: 0, retries: 0, outputClosed: false });
 * ```
 *
 * @param options Where the server is, timeout, retries, the quit word.
 * @param input The lines to send (standard input, say).
 * @param output Where the echoed lines go (standard output, say); not closed.
 * @returns What was sent and echoed.
 * @throws {RangeError} If a line is longer than `maxDatagramSize` (raised
 * before that line is sent), or an option is out of range.
 * @throws {UnknownHostError} If the name resolves to nothing usable.
 * @throws {Deno.errors.ConnectionRefused} If the server is on loopback and
 * nothing is bound to its port (known on Linux only; see above).
 */
export async function runUdpSession(
  options: UdpSessionOptions,
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
): Promise<UdpSessionResult> {
  const maxSize = checkDatagramSize(
    options.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE,
  );
  const quitWord = options.quitWord === undefined
    ? DEFAULT_QUIT_WORD
    : options.quitWord;
  const scanner = quitWord === null ? null : new QuitWordScanner(quitWord);
  const { signal, onLost } = options;
  const result: UdpSessionResult = {
    sent: 0,
    echoed: 0,
    lost: 0,
    retries: 0,
    outputClosed: false,
  };
  await checkNotRefused(options);
  await using client = await openUdpClient(options);
  const reader = input.getReader();
  const writer = output.getWriter();
  const onAbort = (): void => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let number = 0;
    for await (const line of readLines(reader, maxSize)) {
      number++;
      result.sent++;
      try {
        const reply = await client.echo(line);
        result.echoed++;
        result.retries += reply.attempts - 1;
        const out = new Uint8Array(line.length + 1);
        out.set(reply.data);
        out[line.length] = LF;
        try {
          await writer.write(out);
        } catch (error) {
          result.outputClosed = true;
          result.outputError = error;
          break;
        }
      } catch (error) {
        if (!(error instanceof DatagramLostError)) throw error;
        result.lost++;
        result.retries += error.attempts - 1;
        if (onLost !== undefined) {
          onLost({ line: number, size: line.length, attempts: error.attempts });
        }
      }
      if (scanner !== null) {
        scanner.scan(line);
        if (scanner.scan(NEWLINE) >= 0) break;
      }
    }
    signal?.throwIfAborted();
    return result;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Stopped early (quit line, error): the rest of the input is not wanted.
    await reader.cancel().catch(() => {});
    reader.releaseLock();
    writer.releaseLock();
  }
}

/** Throws ConnectionRefused when nothing is bound where the server is. */
async function checkNotRefused(options: UdpSessionOptions): Promise<void> {
  const { hostname = DEFAULT_HOSTNAME, port = DEFAULT_PORT, family } = options;
  const addresses = (await resolveAll(hostname, family)).map((r) => r.address);
  if (await loopbackPortUnbound(addresses, port)) {
    throw new Deno.errors.ConnectionRefused(
      `Nothing is bound to UDP port ${port} on ${addresses.join(" or ")}`,
    );
  }
}

/**
 * The input's lines, without their newlines: `\r\n` counts as `\n`, and a
 * last line without one (even a lone `\r`) counts. Memory is bounded by the
 * longest line allowed.
 */
async function* readLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxSize: number,
): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let size = 0;
  let number = 1;
  const add = (part: Uint8Array): void => {
    size += part.length;
    // One byte of slack for the `\r` of a `\r\n`.
    if (size > maxSize + 1) throw tooLong(number, maxSize);
    if (part.length > 0) parts.push(part);
  };
  const take = (): Uint8Array => {
    let line: Uint8Array;
    if (parts.length === 1) line = parts[0]!;
    else {
      line = new Uint8Array(size);
      let at = 0;
      for (const part of parts) {
        line.set(part, at);
        at += part.length;
      }
    }
    if (line[line.length - 1] === CR) line = line.subarray(0, -1);
    if (line.length > maxSize) throw tooLong(number, maxSize);
    parts = [];
    size = 0;
    number++;
    return line;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    let start = 0;
    for (
      let end = value.indexOf(LF);
      end >= 0;
      end = value.indexOf(LF, start)
    ) {
      add(value.subarray(start, end));
      start = end + 1;
      yield take();
    }
    if (start < value.length) add(value.slice(start));
  }
  if (size > 0) yield take();
}

function tooLong(line: number, maxSize: number): RangeError {
  return new RangeError(
    `Line ${line} is longer than maxDatagramSize (${maxSize} bytes)`,
  );
}
