// Copyright the deno-echo authors. MIT license.

// Client certificates for the mutual TLS tests, made with `openssl` in the
// directory of a createTlsFixtures() set: one for "alice" signed by its CA,
// and one for "mallory" signed by a second CA the server does not trust.

import { makeLeaf, NEW_KEY, openssl, type TlsFixtures } from "./tls.ts";

/** The client certificates, their keys, and the untrusted CA. */
export interface ClientCerts {
  /** `CN=alice, O=Example`, signed by the fixtures' CA. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
  /** `CN=mallory`, signed by another CA. */
  readonly otherCertFile: string;
  readonly otherKeyFile: string;
  readonly otherCert: string;
  readonly otherKey: string;
}

/** The subject of the trusted client certificate, as the server logs it. */
export const CLIENT_SUBJECT = "CN=alice, O=Example";

const EXTENSIONS = `[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
`;

/**
 * Makes the client certificates in the fixtures' directory (removed with
 * it).
 *
 * @param fx From createTlsFixtures().
 * @returns The certificates.
 */
export async function createClientCerts(fx: TlsFixtures): Promise<ClientCerts> {
  const { dir } = fx;
  await Deno.writeTextFile(`${dir}/client.cnf`, EXTENSIONS);
  await makeLeaf(dir, "alice", {
    subject: "/CN=alice/O=Example",
    extensions: "client_ext",
    extfile: "client.cnf",
  });
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    ...NEW_KEY,
    "-nodes",
    "-keyout",
    "untrusted-ca-key.pem",
    "-out",
    "untrusted-ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=untrusted test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await makeLeaf(dir, "mallory", {
    subject: "/CN=mallory",
    extensions: "client_ext",
    extfile: "client.cnf",
    ca: "untrusted-ca",
  });
  const read = (name: string): Promise<string> =>
    Deno.readTextFile(`${dir}/${name}`);
  return {
    certFile: `${dir}/alice.pem`,
    keyFile: `${dir}/alice-key.pem`,
    cert: await read("alice.pem"),
    key: await read("alice-key.pem"),
    otherCertFile: `${dir}/mallory.pem`,
    otherKeyFile: `${dir}/mallory-key.pem`,
    otherCert: await read("mallory.pem"),
    otherKey: await read("mallory-key.pem"),
  };
}
