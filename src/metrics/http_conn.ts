// Copyright the deno-echo authors. MIT license.

// The little of HTTP/1.1 the metrics server speaks: request heads read one
// at a time into a buffer of a fixed size, a body of a bounded length read
// and dropped, answers written with their length. Nothing here waits on a
// timer: the caller bounds every read and write by closing the connection.

/** The most bytes a request head (request line and headers) may take. */
export const MAX_HEAD_BYTES = 8192;

/** The most bytes of a request body read (and dropped); more is refused. */
export const MAX_BODY_BYTES = 65536;

/** A request, as its head describes it (its body has been read already). */
export interface HttpRequest {
  /** The method, as sent (`GET`). */
  readonly method: string;
  /** The path, dot segments resolved, without the query (`/metrics`). */
  readonly path: string;
  /** Whether the client keeps the connection (HTTP/1.1 unless `close`). */
  readonly keepAlive: boolean;
}

/** An answer to send: its body is sent whole, its length always given. */
export interface HttpAnswer {
  /** The status code. */
  readonly status: number;
  /** The body (sent only if the request was not HEAD). */
  readonly body: string;
  /** Headers besides `content-length` and `connection`. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * What reading a request gave: a request, the end of the connection, or a
 * request that cannot be served, with the answer that says why (after
 * which the connection is closed).
 */
export type ReadResult =
  | { readonly type: "request"; readonly request: HttpRequest }
  | { readonly type: "end" }
  | { readonly type: "refused"; readonly answer: HttpAnswer };

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  411: "Length Required",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  505: "HTTP Version Not Supported",
};

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) (\\S+) HTTP/(\\d)\\.(\\d)$`);
const HEADER_LINE = new RegExp(`^(${TOKEN}):[ \\t]*(.*?)[ \\t]*$`);
const LF = 10;
const CR = 13;

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/**
 * A plain-text answer, not to be cached.
 *
 * @param status The status code.
 * @param body The text.
 * @param headers More headers, or ones that replace the defaults.
 * @returns The answer.
 */
export function textAnswer(
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): HttpAnswer {
  return {
    status,
    body,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  };
}

/**
 * Reads the requests of one connection, one after the other.
 *
 * @example Read a request, answer it
 * ```ts
 * import { RequestReader, textAnswer, writeAnswer } from "./http_conn.ts";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using conn = await listener.accept();
 * await client.write(new TextEncoder().encode("GET /x?y HTTP/1.1\r\n\r\n"));
 * const got = await new RequestReader(conn).read();
 * assertEquals(got, {
 *   type: "request",
 *   request: { method: "GET", path: "/x", keepAlive: true },
 * });
 * await writeAnswer(conn, textAnswer(404, "not found\n"), {
 *   head: false,
 *   close: false,
 * });
 * const buffer = new Uint8Array(200);
 * const n = await client.read(buffer);
 * const text = new TextDecoder().decode(buffer.subarray(0, n!));
 * assertEquals(text.split("\r\n")[0], "HTTP/1.1 404 Not Found");
 * ```
 */
export class RequestReader {
  readonly #conn: Deno.Conn;
  readonly #buffer = new Uint8Array(MAX_HEAD_BYTES);
  #start = 0;
  #end = 0;

  /**
   * Reads from a connection (and from nothing else, until it is done).
   *
   * @param conn Where the requests come from.
   */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /**
   * Reads the next request head, and its body if it has one.
   *
   * @returns The request, the end, or the answer refusing it.
   * @throws What reading the connection throws (closed, reset).
   */
  async read(): Promise<ReadResult> {
    let head: number;
    while ((head = this.#headEnd()) < 0) {
      if (this.#end - this.#start === MAX_HEAD_BYTES) {
        return refused(431, "request head too large\n");
      }
      if (!await this.#fill()) return { type: "end" };
    }
    const text = latin1.decode(this.#buffer.subarray(this.#start, head));
    this.#start = head;
    const parsed = parseHead(text);
    if (parsed.type !== "head") return parsed;
    if (parsed.body === "unbounded") {
      return refused(411, "a body needs a content-length\n");
    }
    if (parsed.body > MAX_BODY_BYTES) return refused(413, "body too large\n");
    if (!await this.#skip(parsed.body)) return { type: "end" };
    return { type: "request", request: parsed.request };
  }

  /** Where the buffered head ends (after its empty line), or -1. */
  #headEnd(): number {
    // Empty lines before a request line are ignored (RFC 9112, 2.2).
    while (
      this.#start < this.#end &&
      (this.#buffer[this.#start] === CR || this.#buffer[this.#start] === LF)
    ) this.#start++;
    const buffer = this.#buffer;
    for (let i = this.#start; i < this.#end; i++) {
      if (buffer[i] !== LF) continue;
      if (buffer[i + 1] === LF && i + 1 < this.#end) return i + 2;
      if (buffer[i + 1] === CR && buffer[i + 2] === LF && i + 2 < this.#end) {
        return i + 3;
      }
    }
    return -1;
  }

  /** Reads more into the buffer, moved to its start; false at the end. */
  async #fill(): Promise<boolean> {
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(this.#buffer.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /** Reads and drops `length` bytes of body; false if the peer ended. */
  async #skip(length: number): Promise<boolean> {
    let left = length;
    const buffered = Math.min(left, this.#end - this.#start);
    this.#start += buffered;
    left -= buffered;
    while (left > 0) {
      this.#start = this.#end = 0;
      const n = await this.#conn.read(this.#buffer);
      if (n === null) return false;
      const used = Math.min(n, left);
      left -= used;
      this.#start = used;
      this.#end = n;
    }
    return true;
  }
}

type ParsedHead =
  | { type: "head"; request: HttpRequest; body: number | "unbounded" }
  | { type: "refused"; answer: HttpAnswer };

function refused(
  status: number,
  body: string,
): { type: "refused"; answer: HttpAnswer } {
  return { type: "refused", answer: textAnswer(status, body) };
}

/** Parses a request head: its request line and header lines. */
function parseHead(text: string): ParsedHead {
  const lines = text.split("\n").map((line) => line.replace(/\r$/, ""));
  const start = REQUEST_LINE.exec(lines[0]!);
  if (start === null) return refused(400, "bad request line\n");
  const [, method, target, major, minor] = start as unknown as string[];
  if (major !== "1") return refused(505, "HTTP/1.1 only\n");
  const path = pathOf(target!);
  if (path === undefined) return refused(400, "bad request target\n");
  let keepAlive = minor !== "0";
  let length: string | undefined;
  let chunked = false;
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const header = HEADER_LINE.exec(line);
    if (header === null) return refused(400, "bad header line\n");
    const name = header[1]!.toLowerCase();
    const value = header[2]!;
    if (name === "connection") {
      const tokens = value.toLowerCase().split(",").map((t) => t.trim());
      if (tokens.includes("close")) keepAlive = false;
      else if (tokens.includes("keep-alive")) keepAlive = true;
    } else if (name === "transfer-encoding") {
      chunked = true;
    } else if (name === "content-length") {
      // A list of one value repeated is one length (RFC 9110, 8.6).
      for (const item of value.split(",").map((v) => v.trim())) {
        if (!/^\d+$/.test(item) || (length !== undefined && item !== length)) {
          return refused(400, "bad content-length\n");
        }
        length = item;
      }
    }
  }
  if (chunked && length !== undefined) {
    return refused(400, "both content-length and transfer-encoding\n");
  }
  const request = { method: method!, path, keepAlive };
  return {
    type: "head",
    request,
    body: chunked ? "unbounded" : Number(length ?? "0"),
  };
}

/** The path of a request target, or undefined when it is not one. */
function pathOf(target: string): string | undefined {
  if (!target.startsWith("/") && !/^https?:\/\//i.test(target)) {
    // `*` (OPTIONS) and authority form (CONNECT): no path served.
    return target;
  }
  try {
    return new URL(target, "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

/**
 * Writes an answer: status line, headers, the length, and the body unless
 * the request was HEAD.
 *
 * @param conn Where to write.
 * @param answer What to send.
 * @param options Whether the body is left out, and whether the connection
 * is closed after it.
 */
export async function writeAnswer(
  conn: Deno.Conn,
  answer: HttpAnswer,
  options: { head: boolean; close: boolean },
): Promise<void> {
  const body = encoder.encode(answer.body);
  const lines = [
    `HTTP/1.1 ${answer.status} ${REASONS[answer.status] ?? "Unknown"}`,
    ...Object.entries(answer.headers).map(([name, value]) =>
      `${name}: ${value}`
    ),
    `content-length: ${body.length}`,
    ...(options.close ? ["connection: close"] : []),
    "",
    "",
  ];
  const head = encoder.encode(lines.join("\r\n"));
  const out = new Uint8Array(head.length + (options.head ? 0 : body.length));
  out.set(head);
  if (!options.head) out.set(body, head.length);
  for (let written = 0; written < out.length;) {
    written += await conn.write(out.subarray(written));
  }
}

/**
 * Closes the sending side, then reads and drops what the peer still sends
 * until it closes: closing with bytes unread would reset the connection,
 * and the peer could lose the answer. The caller bounds how long.
 *
 * @param conn The connection, answered.
 */
export async function linger(conn: Deno.Conn): Promise<void> {
  await conn.closeWrite();
  const scratch = new Uint8Array(4096);
  while (await conn.read(scratch) !== null) {
    // Dropped.
  }
}
