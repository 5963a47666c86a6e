// Copyright the deno-echo authors. MIT license.

// Checking a client certificate against the CAs of `tls.clientCa`. Deno
// 2.9's `node:tls` asks for a certificate (`requestCert`) and fails the
// handshake of a client that sends none, but it does not check the
// certificate against `ca`: one signed by any CA gets through, and
// `authorized` stays false even for a good one. So the chain is checked
// here, once the handshake is done and before a byte is echoed. (Nor does
// it check that the client holds the certificate's key: tls12_proof.ts
// does.)

import { X509Certificate } from "node:crypto";

/** The CAs a client certificate must be signed by. */
export class ClientCa {
  readonly #cas: X509Certificate[];

  /**
   * @param pem One or more CA certificates, PEM.
   * @throws {TypeError} If there is no certificate in it, or one is not a
   * CA certificate.
   */
  constructor(pem: string) {
    const blocks = pem.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    ) ?? [];
    if (blocks.length === 0) {
      throw new TypeError("No certificate found in the client CA file");
    }
    this.#cas = blocks.map((block) => new X509Certificate(block));
    const notCa = this.#cas.find((ca) => !ca.ca);
    if (notCa !== undefined) {
      throw new TypeError(
        `Not a CA certificate in the client CA file: "${notCa.subject}"`,
      );
    }
  }

  /**
   * Checks a client's certificate: signed directly by one of the CAs, and
   * valid now. (Intermediate CAs are trusted only when they are in the
   * file themselves.)
   *
   * @param der The client's certificate, DER.
   * @param now The time to check validity at.
   * @returns The certificate's subject, one line (`CN=alice, O=Example`).
   * @throws {Deno.errors.PermissionDenied} If the certificate is refused,
   * saying why.
   */
  verify(der: Uint8Array, now: Date = new Date()): string {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      throw new Deno.errors.PermissionDenied(
        "Client certificate refused: it cannot be parsed",
      );
    }
    const subject = oneLine(cert.subject);
    const signer = this.#cas.find((ca) =>
      cert.checkIssued(ca) && cert.verify(ca.publicKey)
    );
    if (signer === undefined) {
      throw new Deno.errors.PermissionDenied(
        `Client certificate refused: "${subject}" is not signed by a trusted CA (issuer "${
          oneLine(cert.issuer)
        }")`,
      );
    }
    if (now < cert.validFromDate || now > cert.validToDate) {
      throw new Deno.errors.PermissionDenied(
        `Client certificate refused: "${subject}" is valid only from ${cert.validFromDate.toISOString()} to ${cert.validToDate.toISOString()}`,
      );
    }
    return subject;
  }
}

/** A distinguished name as `node:crypto` gives it (one line per part). */
function oneLine(name: string): string {
  return name.split("\n").join(", ");
}
