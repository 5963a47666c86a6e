// Copyright the deno-echo authors. MIT license.

// TLS fixtures for the transport tests, made at test time with `openssl`:
// a private CA and two leaf certificates it signs, one for localhost (and
// both loopback addresses) and one for a name no test dials. rustls refuses a
// self-signed CA used directly as a server certificate, hence the CA + leaf.

/** Where the fixtures are, and their PEM text. Disposing removes the files. */
export interface TlsFixtures extends AsyncDisposable {
  /** The temporary directory that holds every file. */
  readonly dir: string;
  /** The CA certificate (PEM) and its file. */
  readonly ca: string;
  readonly caFile: string;
  /** The localhost leaf: DNS:localhost, IP:127.0.0.1, IP:::1. */
  readonly cert: string;
  readonly certFile: string;
  /** The localhost leaf's private key. */
  readonly key: string;
  readonly keyFile: string;
  /** A leaf for `other.invalid` only (a name no client dials), and its key. */
  readonly otherCertFile: string;
  readonly otherKeyFile: string;
}

/** The host name in the second leaf: never the name a test dials. */
export const OTHER_NAME = "other.invalid";

const CONFIG = `[req]
distinguished_name = dn
prompt = no

[dn]
CN = deno-echo test

[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1

[other_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:${OTHER_NAME}
`;

/**
 * Whether a program can be run (`program ...args` exits 0).
 *
 * @returns false when it is not installed.
 */
export async function toolAvailable(
  program: string,
  args: readonly string[],
): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(program, {
      args: [...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Runs openssl in `dir`; fails with its stderr when it does. */
export async function openssl(
  dir: string,
  args: readonly string[],
): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args: [...args],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `openssl ${args.join(" ")} failed:\n${new TextDecoder().decode(stderr)}`,
    );
  }
}

/** A random positive serial number, as openssl's `-set_serial` takes it. */
function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0]! &= 0x7f;
  return `0x${
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/** openssl arguments for a new P-256 key. */
export const NEW_KEY = [
  "-newkey",
  "ec",
  "-pkeyopt",
  "ec_paramgen_curve:P-256",
];

/** Makes the self-signed CA: `ca.pem` and `ca-key.pem` in `dir`. */
async function makeCa(dir: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    ...NEW_KEY,
    "-nodes",
    "-keyout",
    "ca-key.pem",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=deno-echo test CA",
    "-config",
    "openssl.cnf",
    "-extensions",
    "ca_ext",
  ]);
}

/** What {@linkcode makeLeaf} makes. */
export interface LeafOptions {
  /** The certificate's subject, as openssl's `-subj` takes it. */
  subject: string;
  /** The section of `extfile` with the certificate's extensions. */
  extensions: string;
  /**
   * The signing CA's file name without `.pem`.
   *
   * @default {"ca"}
   */
  ca?: string;
  /**
   * The config file holding `extensions`.
   *
   * @default {"openssl.cnf"}
   */
  extfile?: string;
}

/**
 * Makes a certificate a CA signs: `NAME.pem` and `NAME-key.pem` in `dir`
 * (which holds the fixtures' `openssl.cnf`).
 */
export async function makeLeaf(
  dir: string,
  name: string,
  options: LeafOptions,
): Promise<void> {
  const { subject, extensions, ca = "ca", extfile = "openssl.cnf" } = options;
  await openssl(dir, [
    "req",
    "-new",
    ...NEW_KEY,
    "-nodes",
    "-keyout",
    `${name}-key.pem`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
    "-config",
    "openssl.cnf",
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}-key.pem`,
    "-set_serial",
    serial(),
    "-days",
    "2",
    "-out",
    `${name}.pem`,
    "-extfile",
    extfile,
    "-extensions",
    extensions,
  ]);
}

/** The fixtures made in `dir`, read back; `remove` deletes them. */
async function readFixtures(
  dir: string,
  remove: () => Promise<void>,
): Promise<TlsFixtures> {
  const caFile = `${dir}/ca.pem`;
  const certFile = `${dir}/localhost.pem`;
  const keyFile = `${dir}/localhost-key.pem`;
  return {
    dir,
    ca: await Deno.readTextFile(caFile),
    caFile,
    cert: await Deno.readTextFile(certFile),
    certFile,
    key: await Deno.readTextFile(keyFile),
    keyFile,
    otherCertFile: `${dir}/other.pem`,
    otherKeyFile: `${dir}/other-key.pem`,
    [Symbol.asyncDispose]: remove,
  };
}

/**
 * Makes a CA and two leaves it signs in a new temporary directory.
 * `await using` removes the directory.
 *
 * @returns The fixtures, or null when `openssl` is not installed.
 */
export async function createTlsFixtures(): Promise<TlsFixtures | null> {
  if (!await toolAvailable("openssl", ["version"])) return null;
  const dir = await Deno.makeTempDir({ prefix: "deno_echo_tls_" });
  const remove = (): Promise<void> => Deno.remove(dir, { recursive: true });
  try {
    await Deno.writeTextFile(`${dir}/openssl.cnf`, CONFIG);
    await makeCa(dir);
    await makeLeaf(dir, "localhost", {
      subject: "/CN=localhost",
      extensions: "leaf_ext",
    });
    await makeLeaf(dir, "other", {
      subject: `/CN=${OTHER_NAME}`,
      extensions: "other_ext",
    });
    return await readFixtures(dir, remove);
  } catch (error) {
    await remove();
    throw error;
  }
}
