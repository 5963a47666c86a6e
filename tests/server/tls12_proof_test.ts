// Copyright the deno-echo authors. MIT license.

// ClientKeyProof on handshakes made up here, message by message, signed
// with keys made here: what a full handshake must prove, what a resumed one
// may reuse (only what was proven: a ticket never proven is refused, even
// with a proven session ID beside it), TLS 1.3, and handshakes too large.

import { assertEquals, assertThrows } from "@std/assert";
import { concat as concatBytes } from "@std/bytes";
import {
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from "node:crypto";
import {
  ClientKeyProof,
  TRANSCRIPT_LIMIT,
} from "../../src/server/tls12_proof.ts";

const { privateKey: aliceKey } = generateKeyPairSync("ed25519");
const { privateKey: malloryKey } = generateKeyPairSync("ed25519");
/** alice's certificate, self-signed: only the key in it is read here. */
const ALICE = certificateFor(aliceKey);

/**
 * A minimal self-signed X.509 certificate (Ed25519) for a key, its DER
 * built here: `node:crypto` parses certificates but does not make them.
 */
function certificateFor(key: KeyObject): Uint8Array {
  const spki = new Uint8Array(
    createPublicKey(key).export({ type: "spki", format: "der" }),
  );
  const der = (tag: number, ...parts: Uint8Array[]): Uint8Array => {
    const body = concat(...parts);
    const length = body.length < 128
      ? [body.length]
      : body.length < 256
      ? [0x81, body.length]
      : [0x82, body.length >> 8, body.length & 0xff];
    return concat(new Uint8Array([tag, ...length]), body);
  };
  const ed25519 = der(0x30, new Uint8Array([0x06, 0x03, 0x2b, 0x65, 0x70]));
  const name = der(
    0x30,
    der(
      0x31,
      der(
        0x30,
        new Uint8Array([0x06, 0x03, 0x55, 0x04, 0x03]),
        der(0x0c, new TextEncoder().encode("alice")),
      ),
    ),
  );
  const time = (text: string) => der(0x17, new TextEncoder().encode(text));
  const tbs = der(
    0x30,
    der(0xa0, new Uint8Array([0x02, 0x01, 0x02])),
    new Uint8Array([0x02, 0x01, 0x07]),
    ed25519,
    name,
    der(0x30, time("250101000000Z"), time("350101000000Z")),
    name,
    spki,
  );
  return der(
    0x30,
    tbs,
    ed25519,
    der(0x03, new Uint8Array([0]), new Uint8Array(sign(null, tbs, key))),
  );
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

const u16 = (n: number) => [n >> 8, n & 0xff];
const u24 = (n: number) => [n >> 16, (n >> 8) & 0xff, n & 0xff];

function message(type: number, body: Uint8Array): Uint8Array {
  return concat(new Uint8Array([type, ...u24(body.length)]), body);
}

function record(type: number, ...bodies: Uint8Array[]): Uint8Array {
  const body = concat(...bodies);
  return concat(new Uint8Array([type, 3, 3, ...u16(body.length)]), body);
}

function extensions(list: [number, Uint8Array][]): Uint8Array {
  const body = concat(
    ...list.map(([type, data]) =>
      concat(new Uint8Array([...u16(type), ...u16(data.length)]), data)
    ),
  );
  return concat(new Uint8Array(u16(body.length)), body);
}

/**
 * A hello: version 1.2, a zero random, the session ID, then `suites` (the
 * cipher suites and compression methods) and the extensions.
 */
function hello(
  type: number,
  sid: Uint8Array,
  suites: number[],
  list: [number, Uint8Array][],
): Uint8Array {
  return message(
    type,
    concat(
      new Uint8Array([3, 3]),
      new Uint8Array(32),
      new Uint8Array([sid.length]),
      sid,
      new Uint8Array(suites),
      extensions(list),
    ),
  );
}

/** A ClientHello with a session ID and, if given, a session ticket. */
function clientHello(sid: Uint8Array, ticket?: Uint8Array): Uint8Array {
  return hello(
    1,
    sid,
    [0, 2, 0xc0, 0x2f, 1, 0],
    ticket === undefined ? [] : [[35, ticket]],
  );
}

/** A ServerHello with a session ID; `tls13` adds supported_versions. */
function serverHello(sid: Uint8Array, tls13 = false): Uint8Array {
  return hello(
    2,
    sid,
    [0xc0, 0x2f, 0],
    tls13 ? [[43, new Uint8Array([3, 4])]] : [],
  );
}

function certificateMessage(der: Uint8Array): Uint8Array {
  return message(
    11,
    concat(
      new Uint8Array(u24(der.length + 3)),
      new Uint8Array(u24(der.length)),
      der,
    ),
  );
}

function ticketMessage(ticket: Uint8Array): Uint8Array {
  return message(
    4,
    concat(new Uint8Array([0, 0, 0, 60, ...u16(ticket.length)]), ticket),
  );
}

const CCS = record(20, new Uint8Array([1]));
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

/** A full handshake in which the client signs with `key`. */
function full(
  key: KeyObject,
  sid: Uint8Array,
  ticket?: Uint8Array,
): ClientKeyProof {
  const proof = new ClientKeyProof();
  const hello = clientHello(new Uint8Array(0));
  const server = [
    serverHello(sid),
    certificateMessage(bytes(40, 9)),
    message(14, new Uint8Array(0)),
  ];
  const clientCert = certificateMessage(ALICE);
  const keyExchange = message(16, bytes(33, 5));
  const signed = concat(hello, ...server, clientCert, keyExchange);
  const signature = new Uint8Array(sign(null, signed, key));
  const verify = message(
    15,
    concat(new Uint8Array([8, 7, ...u16(signature.length)]), signature),
  );
  proof.fromClient(record(22, hello));
  proof.fromServer(record(22, ...server));
  // In pieces, as TCP may deliver them.
  const flight = concat(record(22, clientCert, keyExchange, verify), CCS);
  for (let i = 0; i < flight.length; i += 7) {
    proof.fromClient(flight.subarray(i, i + 7));
  }
  proof.fromServer(
    ticket === undefined ? CCS : concat(record(22, ticketMessage(ticket)), CCS),
  );
  return proof;
}

/** An abbreviated handshake: no certificates, no signature. */
function resumed(
  clientSid: Uint8Array,
  offered: Uint8Array | undefined,
  serverSid: Uint8Array,
): ClientKeyProof {
  const proof = new ClientKeyProof();
  proof.fromClient(record(22, clientHello(clientSid, offered)));
  proof.fromServer(concat(record(22, serverHello(serverSid)), CCS));
  proof.fromClient(CCS);
  return proof;
}

Deno.test("ClientKeyProof takes a full handshake signed with the certificate's key, and refuses one signed with another", () => {
  full(aliceKey, bytes(32, 1), bytes(48, 0xa1)).check(ALICE);
  assertThrows(
    () => full(malloryKey, bytes(32, 2), bytes(48, 0xa2)).check(ALICE),
    Deno.errors.PermissionDenied,
    "does not hold that key",
  );
});

Deno.test("ClientKeyProof lets a resumed session through only when the ticket or session ID it resumes was proven", () => {
  const aliceSid = bytes(32, 3);
  const aliceTicket = bytes(48, 0xb1);
  full(aliceKey, aliceSid, aliceTicket).check(ALICE);
  // mallory's handshake is refused, but TLS finished it: its ticket works.
  const malloryTicket = bytes(48, 0xb2);
  assertThrows(() =>
    full(malloryKey, bytes(32, 4), malloryTicket).check(ALICE)
  );
  // Resuming alice's ticket, with any session ID or none: served.
  resumed(bytes(32, 5), aliceTicket, bytes(32, 5)).check(ALICE);
  resumed(new Uint8Array(0), aliceTicket, new Uint8Array(0)).check(ALICE);
  // Her session ID stands for the session only where no ticket was given.
  assertThrows(() => resumed(aliceSid, undefined, aliceSid).check(ALICE));
  const untickedSid = bytes(32, 8);
  full(aliceKey, untickedSid).check(ALICE);
  resumed(untickedSid, undefined, untickedSid).check(ALICE);
  // mallory's own ticket, with alice's session ID beside it: refused.
  assertThrows(
    () => resumed(untickedSid, malloryTicket, untickedSid).check(ALICE),
    Deno.errors.PermissionDenied,
    "resumed a session this server did not check",
  );
  // A session ID never proven: refused.
  assertThrows(
    () => resumed(bytes(32, 6), undefined, bytes(32, 6)).check(ALICE),
    Deno.errors.PermissionDenied,
  );
});

Deno.test("ClientKeyProof refuses TLS 1.3 and handshakes larger than its limit", () => {
  const tls13 = new ClientKeyProof();
  tls13.fromClient(record(22, clientHello(bytes(32, 7))));
  tls13.fromServer(record(22, serverHello(bytes(32, 7), true)));
  assertThrows(
    () => tls13.check(ALICE),
    Deno.errors.PermissionDenied,
    "not TLS 1.2",
  );
  // A message that claims almost 16 MiB, sent in full records: refused once past
  // the limit, without keeping more.
  const huge = new ClientKeyProof();
  huge.fromClient(record(22, clientHello(new Uint8Array(0))));
  huge.fromClient(
    record(22, new Uint8Array([11, ...u24(0xffffff)]), bytes(16000, 0)),
  );
  for (let sent = 0; sent <= TRANSCRIPT_LIMIT; sent += 16 * 1024) {
    huge.fromClient(record(22, bytes(16 * 1024, 0)));
  }
  assertEquals(huge.done, true);
  assertThrows(
    () => huge.check(ALICE),
    Deno.errors.PermissionDenied,
    "too large",
  );
});
