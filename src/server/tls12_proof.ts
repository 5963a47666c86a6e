// Copyright the deno-echo authors. MIT license.

// The client's proof that it holds its certificate's key, checked here.
// Deno 2.9's `node:tls` takes a client certificate without checking the
// handshake's CertificateVerify: a peer that has only seen a certificate
// could present it. So with mutual TLS the server speaks TLS 1.2, whose
// handshake is in clear up to the ChangeCipherSpec, and this reads the
// handshake as it passes under TLS: every handshake message in order, the
// client's certificate, and its signature over the messages before it
// (RFC 5246, 7.4.8). The echo starts only once that signature checks out
// against the certificate's public key.

import { constants, createHash, verify, X509Certificate } from "node:crypto";
import { concat, equals } from "@std/bytes";

const CHANGE_CIPHER_SPEC = 20;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const CERTIFICATE = 11;
const NEW_SESSION_TICKET = 4;
const CERTIFICATE_VERIFY = 15;
const SESSION_TICKET_EXTENSION = 35;
const SUPPORTED_VERSIONS_EXTENSION = 43;
/** Handshake bytes kept, at most: certificate chains and a few messages. */
export const TRANSCRIPT_LIMIT = 256 * 1024;
/**
 * Sessions whose client proved its key, by ticket (or session ID where no
 * ticket was given), with the SHA-256 of its certificate: a client that
 * resumes one proves it holds that session's secret instead, and sends no
 * certificate. The oldest are forgotten first, past
 * {@linkcode PROVEN_LIMIT}: a client that resumes one of those is refused.
 */
const proven = new Map<string, string>();
/** Proven sessions remembered: about 150 bytes each. */
export const PROVEN_LIMIT = 65_536;

/** A record layer, one direction: bytes in, handshake messages out. */
class Direction {
  #records: Uint8Array = new Uint8Array(0);
  #messages: Uint8Array = new Uint8Array(0);
  /** The direction changed cipher: nothing after it is in clear. */
  changed = false;
  /** More than the limit waited to be parsed. */
  overflow = false;

  /** Feeds bytes; returns complete handshake messages, header included. */
  feed(bytes: Uint8Array, limit: number): Uint8Array[] {
    if (this.changed || this.overflow) return [];
    let buffer = append(this.#records, bytes);
    if (buffer.length > limit) {
      this.overflow = true;
      return [];
    }
    const out: Uint8Array[] = [];
    while (buffer.length >= 5 && !this.changed) {
      const length = (buffer[3]! << 8) | buffer[4]!;
      if (buffer.length < 5 + length) break;
      const type = buffer[0]!;
      const body = buffer.subarray(5, 5 + length);
      buffer = buffer.subarray(5 + length);
      if (type === CHANGE_CIPHER_SPEC) this.changed = true;
      else if (type === HANDSHAKE) {
        this.#messages = append(this.#messages, body);
        if (this.#messages.length > limit) {
          this.overflow = true;
          return out;
        }
        this.#split(out);
      }
    }
    this.#records = buffer.slice();
    return out;
  }

  #split(out: Uint8Array[]): void {
    let m = this.#messages;
    while (m.length >= 4) {
      const length = (m[1]! << 16) | (m[2]! << 8) | m[3]!;
      if (m.length < 4 + length) break;
      out.push(m.slice(0, 4 + length));
      m = m.subarray(4 + length);
    }
    this.#messages = m.slice();
  }
}

/**
 * Watches a TLS 1.2 handshake, both directions, and checks the client's
 * CertificateVerify. Feed it every byte in the order it passed; then call
 * {@linkcode ClientKeyProof.check}.
 */
export class ClientKeyProof {
  readonly #client = new Direction();
  readonly #server = new Direction();
  readonly #transcript: Uint8Array[] = [];
  #size = 0;
  #version = -1;
  /** The server sent its certificate: a full handshake, not a resumed one. */
  #serverCertificate = false;
  #clientSession = "";
  #serverSession = "";
  /** The session ticket the client offered, as a key ("" if none). */
  #offeredTicket = "";
  /** The session ticket the server gave, as a key ("" if none). */
  #issuedTicket = "";
  #certificate: Uint8Array | undefined;
  #signed: Uint8Array | undefined;
  #signature: Uint8Array | undefined;
  #problem: string | undefined;

  /** Whether there is nothing left to watch. */
  get done(): boolean {
    return this.#problem !== undefined ||
      (this.#client.changed && this.#server.changed);
  }

  /** Bytes the client sent, in the order they came. */
  fromClient(bytes: Uint8Array): void {
    this.#watch(this.#client, bytes, true);
  }

  /** Bytes the server sent, in the order they went. */
  fromServer(bytes: Uint8Array): void {
    this.#watch(this.#server, bytes, false);
  }

  /** Never throws: what cannot be read is a reason to refuse, later. */
  #watch(direction: Direction, bytes: Uint8Array, fromClient: boolean): void {
    if (this.done) return;
    try {
      this.#take(direction.feed(bytes, TRANSCRIPT_LIMIT), fromClient);
    } catch (error) {
      this.#problem = `its handshake could not be read (${
        (error as Error)?.message
      })`;
    }
  }

  #take(messages: Uint8Array[], fromClient: boolean): void {
    if (this.#client.overflow || this.#server.overflow) {
      this.#problem = "its handshake is too large";
    }
    for (const message of messages) {
      if (this.#problem !== undefined) return;
      const type = message[0]!;
      if (fromClient) this.#fromClient(type, message);
      else if (type === SERVER_HELLO && message.length >= 6) {
        // TLS 1.3 says so in an extension, its legacy version being 1.2's.
        this.#version = extension(message, SUPPORTED_VERSIONS_EXTENSION)
          ? 0x0304
          : (message[4]! << 8) | message[5]!;
        this.#serverSession = sessionId(message);
      } else if (type === CERTIFICATE) {
        this.#serverCertificate = true;
      } else if (type === NEW_SESSION_TICKET) {
        // lifetime(4) length(2) ticket
        this.#issuedTicket = ticketKey(message.subarray(10));
      }
      // What the client signs: every message before its CertificateVerify.
      if (this.#signature !== undefined) continue;
      this.#size += message.length;
      if (this.#size > TRANSCRIPT_LIMIT) {
        this.#problem = "its handshake is too large";
        return;
      }
      this.#transcript.push(message);
    }
  }

  #fromClient(type: number, message: Uint8Array): void {
    if (type === CLIENT_HELLO) {
      this.#clientSession = sessionId(message);
      this.#offeredTicket = ticketKey(
        extension(message, SESSION_TICKET_EXTENSION),
      );
    } else if (type === CERTIFICATE) {
      this.#certificate = firstCertificate(message);
    } else if (type === CERTIFICATE_VERIFY && this.#signature === undefined) {
      this.#signed = concat(this.#transcript);
      this.#signature = message.subarray(4);
      this.#transcript.length = 0;
    }
  }

  /**
   * Checks, once the handshake is done, that the client signed it with the
   * key of the certificate it sent, `der`.
   *
   * @param der The client certificate `node:tls` reports, DER.
   * @throws {Deno.errors.PermissionDenied} If it did not, or the handshake
   * could not be read.
   */
  check(der: Uint8Array): void {
    const refuse = (why: string): never => {
      throw new Deno.errors.PermissionDenied(
        `Client certificate refused: ${why}`,
      );
    };
    if (this.#problem !== undefined) refuse(this.#problem);
    if (this.#version !== 0x0303) {
      refuse("the handshake was not TLS 1.2, so its proof could not be read");
    }
    if (!this.#serverCertificate) {
      // Resumed: proven when the session was made, if it was made here.
      // By the ticket when one was offered (the session ID that comes with
      // it is the client's choice), else by the session ID.
      const session = this.#serverSession;
      const key = this.#offeredTicket !== ""
        ? `ticket:${this.#offeredTicket}`
        : session !== "" && session === this.#clientSession
        ? `id:${session}`
        : undefined;
      const known = key === undefined ? undefined : proven.get(key);
      if (known === undefined || known !== digest(der)) {
        refuse("it resumed a session this server did not check");
      }
      this.#remember(der, false);
      return;
    }
    const certificate = this.#certificate;
    const signed = this.#signed, signature = this.#signature;
    if (certificate === undefined || signed === undefined || !signature) {
      refuse("the client did not prove it holds the certificate's key");
    }
    if (!equals(certificate!, der)) {
      refuse("the certificate read from the handshake is another one");
    }
    if (!signatureValid(der, signed!, signature!)) {
      refuse(
        "the client's signature does not match the certificate's key (it does not hold that key)",
      );
    }
    this.#remember(der, true);
  }

  /**
   * Keeps the ticket the server gave as proven by `der`'s owner; after a
   * full handshake without one, the session ID the server chose.
   */
  #remember(der: Uint8Array, full: boolean): void {
    const key = this.#issuedTicket !== ""
      ? `ticket:${this.#issuedTicket}`
      : full && this.#serverSession !== ""
      ? `id:${this.#serverSession}`
      : undefined;
    if (key === undefined) return;
    proven.delete(key);
    proven.set(key, digest(der));
    if (proven.size > PROVEN_LIMIT) {
      proven.delete(proven.keys().next().value!);
    }
  }
}

/** A ticket's key in {@linkcode proven}: its SHA-256, hex ("" if none). */
function ticketKey(ticket: Uint8Array | undefined): string {
  if (ticket === undefined || ticket.length === 0) return "";
  return digest(ticket);
}

function digest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * An extension's data in a ClientHello or ServerHello, if it is there (the
 * session ticket of RFC 5077 in one, supported_versions in the other).
 */
function extension(hello: Uint8Array, wanted: number): Uint8Array | undefined {
  // type(1) length(3) version(2) random(32) session ID; then cipher suites
  // and compression methods (lists in a ClientHello, one of each in a
  // ServerHello); then the extensions.
  let at = 38;
  const skip = (lengthBytes: number, fixed = 0): boolean => {
    if (at + lengthBytes > hello.length) return false;
    let length = fixed;
    for (let i = 0; i < lengthBytes; i++) {
      length = (length << 8) | hello[at + i]!;
    }
    at += lengthBytes + length;
    return at <= hello.length;
  };
  const listed = hello[0] === CLIENT_HELLO
    ? skip(1) && skip(2) && skip(1)
    : skip(1) && skip(0, 3);
  if (!listed || at + 2 > hello.length) return undefined;
  const end = Math.min(
    hello.length,
    at + 2 + ((hello[at]! << 8) | hello[at + 1]!),
  );
  at += 2;
  while (at + 4 <= end) {
    const type = (hello[at]! << 8) | hello[at + 1]!;
    const length = (hello[at + 2]! << 8) | hello[at + 3]!;
    if (type === wanted) {
      return hello.subarray(at + 4, Math.min(end, at + 4 + length));
    }
    at += 4 + length;
  }
  return undefined;
}

/**
 * The session ID of a ClientHello or ServerHello, as hex ("" if none):
 * after type(1) length(3) version(2) random(32).
 */
function sessionId(message: Uint8Array): string {
  const length = message[38] ?? 0;
  if (length === 0 || length > 32 || message.length < 39 + length) return "";
  let hex = "";
  for (const byte of message.subarray(39, 39 + length)) {
    hex += byte.toString(16).padStart(2, "0");
  }
  return hex;
}

/** The first certificate of a Certificate message, or undefined. */
function firstCertificate(message: Uint8Array): Uint8Array | undefined {
  // type(1) length(3) list length(3) cert length(3) cert
  if (message.length < 10) return undefined;
  const length = (message[7]! << 16) | (message[8]! << 8) | message[9]!;
  if (length === 0 || message.length < 10 + length) return undefined;
  return message.slice(10, 10 + length);
}

/**
 * TLS 1.2 signature schemes: the hash, and whether RSA uses PSS. Others
 * (SHA-1, say) are refused.
 */
const SCHEMES: Record<number, { hash: string | null; pss?: boolean }> = {
  0x0401: { hash: "sha256" },
  0x0501: { hash: "sha384" },
  0x0601: { hash: "sha512" },
  0x0403: { hash: "sha256" },
  0x0503: { hash: "sha384" },
  0x0603: { hash: "sha512" },
  0x0804: { hash: "sha256", pss: true },
  0x0805: { hash: "sha384", pss: true },
  0x0806: { hash: "sha512", pss: true },
  0x0807: { hash: null },
};
const HASH_LENGTH: Record<string, number> = {
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

/** Checks a DigitallySigned struct over `signed` with the certificate's key. */
function signatureValid(
  der: Uint8Array,
  signed: Uint8Array,
  body: Uint8Array,
): boolean {
  if (body.length < 4) return false;
  const scheme = SCHEMES[(body[0]! << 8) | body[1]!];
  const length = (body[2]! << 8) | body[3]!;
  if (scheme === undefined || body.length !== 4 + length) return false;
  try {
    const key = new X509Certificate(der).publicKey;
    const options = scheme.pss
      ? {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: HASH_LENGTH[scheme.hash!]!,
      }
      : key;
    return verify(scheme.hash, signed, options, body.subarray(4));
  } catch {
    return false;
  }
}

/** `a` then `b`; `b` itself when `a` is empty (no copy). */
function append(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.length === 0 ? b : concat([a, b]);
}
