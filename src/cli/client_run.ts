// Copyright the deno-echo authors. MIT license.

// One `echo-client` run on the terminal or pipes it was given: open the
// connection, say where it went (interactive only), stream standard input
// through it.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { describeProxy } from "../client/proxy_url.ts";
import { formatAddress } from "../net/address.ts";
import {
  dial,
  type DialOptions,
  dialTls,
  type DialTlsOptions,
  dialUnix,
} from "../client/dial.ts";
import { runSession } from "../client/session.ts";
import { runUdpSession } from "../client/udp_session.ts";
import type { ClientArgs, ClientTlsFiles } from "./client_args.ts";
import {
  clientOutput,
  type EditorInput,
  editorInput,
  escapesOutput,
  usesLineEditor,
} from "./client_terminal.ts";
import { errorText, guardOutput, UsageError, writeText } from "./cli.ts";
import { type KeyInput, LineEditor } from "./line_editor.ts";

/** What a run sent, and how many lines got no echo (UDP only). */
export interface ClientRunResult {
  /** Lines sent. */
  sent: number;
  /** Lines whose echo never came back; always 0 on stream transports. */
  lost: number;
  /**
   * Set when the server closed the connection while the session waited at
   * its prompt, nothing lost: how many bytes had been echoed.
   */
  closedByServer?: { echoed: number };
}

/**
 * Runs one session with standard input and output.
 *
 * @param options The parsed command line.
 * @returns What was sent and lost.
 * @throws Whatever connecting or the session throws (see `failure`),
 * {@linkcode UsageError} if a certificate file cannot be read, or
 * `OutputError` if standard output failed other than by a closed pipe.
 */
export async function runClient(options: ClientArgs): Promise<ClientRunResult> {
  // A closed pipe ends the session quietly; a full disk is a failure.
  const stdout = guardOutput(Deno.stdout.writable, "the echo");
  const output = clientOutput(
    stdout.writable,
    escapesOutput(options.raw, Deno.stdout.isTerminal()),
  );
  let result: ClientRunResult;
  try {
    result = options.transport === "udp"
      ? await runUdp(options, output.writable)
      : await runStream(options, output.writable);
  } finally {
    await output.end();
  }
  if (stdout.error !== undefined) throw stdout.error;
  return result;
}

/** TCP, TLS or Unix: the session over one connection. */
async function runStream(
  options: ClientArgs,
  output: WritableStream<Uint8Array>,
): Promise<ClientRunResult> {
  const editing = !options.raw && usesLineEditor(
    options.interactive,
    Deno.stdin.isTerminal(),
    Deno.stdout.isTerminal(),
  );
  const editor = editing
    ? new LineEditor({ input: editorKeys, columns: terminalColumns })
    : undefined;
  // A signal that ends the client (Ctrl-C while no line is being edited:
  // connecting, waiting for an echo; or a kill): the answers the terminal
  // still owes the editor read, so that none is typed into the shell, the
  // terminal back to normal (it is in raw or cbreak mode all session), its
  // line ended, and an exit as the signal would have made.
  // A line being edited is ended unsent, its row ended by the editor.
  const stopping = new AbortController();
  const lines = editor === undefined
    ? undefined
    : editorInput(editor, PROMPT, stopping.signal);
  const onStop = STOP_SIGNALS.map(([signal, code]) =>
    [signal, async (): Promise<void> => {
      if (stopping.signal.aborted) return;
      const inLine = lines?.reading === true;
      stopping.abort();
      // The line's end written, the answers owed read.
      await lines?.settled().catch(() => {});
      // The terminal shows ^C itself, but not in cbreak mode (no echo).
      const shown = inLine
        ? ""
        : signal === "SIGINT" && inCbreak
        ? "^C\n"
        : "\n";
      restoreTerminal();
      writeText(Deno.stderr, shown);
      Deno.exit(code);
    }] as const
  );
  if (editor !== undefined) {
    for (const [signal, stop] of onStop) Deno.addSignalListener(signal, stop);
  }
  try {
    return await converse(options, output, editor, lines);
  } finally {
    if (editor !== undefined) {
      for (const [signal, stop] of onStop) {
        Deno.removeSignalListener(signal, stop);
      }
      restoreTerminal();
    }
  }
}

const PROMPT = "> ";

/** Signals that end the client, and the exit code for each. */
const STOP_SIGNALS: readonly (readonly [Deno.Signal, number])[] = [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
  ["SIGQUIT", 131],
];

/**
 * The terminal's keys for the line editor. Between lines, while an echo is
 * awaited, the terminal is in cbreak mode rather than back to normal: keys
 * typed then wait, unshown, for the next prompt, a Ctrl-D among them (the
 * normal mode would drop it when raw mode comes back), and Ctrl-C still
 * interrupts. {@linkcode restoreTerminal} ends it.
 */
const editorKeys: KeyInput = {
  read: (p) => Deno.stdin.read(p),
  setRaw: (raw) => {
    Deno.stdin.setRaw(true, { cbreak: !raw });
    inCbreak = !raw;
  },
};
/** Whether the line editor left the terminal in cbreak mode. */
let inCbreak = false;

/** Puts the terminal back in its normal mode, after the line editor. */
function restoreTerminal(): void {
  inCbreak = false;
  try {
    Deno.stdin.setRaw(false);
  } catch {
    // Not a terminal any more (it went away).
  }
}

async function converse(
  options: ClientArgs,
  output: WritableStream<Uint8Array>,
  editor: LineEditor | undefined,
  lines: EditorInput | undefined,
): Promise<ClientRunResult> {
  using conn = await open(options);
  if (options.interactive && !options.quiet) {
    const quit = options.quitWord === null
      ? "Ctrl-D to end"
      : `type ${options.quitWord} to quit`;
    // Through a proxy, the connection's peer is the proxy: name the server.
    const where = options.proxy === undefined || options.transport === "unix"
      ? formatAddress(conn.remoteAddr)
      : `${
        formatAddress({ hostname: options.hostname, port: options.port })
      } via ${describeProxy(options.proxy)}`;
    writeText(Deno.stderr, `Connected to ${where} (${quit})\n`);
  }
  // A resized terminal gets the line redrawn at its new width at once.
  const onResize = (): void => void editor?.resize().catch(() => {});
  const resizing = editor !== undefined && watchSignal("SIGWINCH", onResize);
  let result;
  try {
    result = await runSession(
      conn,
      lines?.readable ?? Deno.stdin.readable,
      output,
      {
        mode: options.raw ? "raw" : "lines",
        interactive: options.interactive,
        // The editor shows the prompt itself.
        prompt: editor === undefined ? PROMPT : "",
        quitWord: options.quitWord,
        verify: options.verify,
        readTimeout: options.readTimeout,
      },
    );
  } finally {
    // Whatever is said next goes to a terminal out of raw mode, on a line
    // of its own.
    await lines?.settled();
    if (resizing) Deno.removeSignalListener("SIGWINCH", onResize);
  }
  return {
    sent: result.linesSent,
    lost: 0,
    ...(result.closedByServer
      ? { closedByServer: { echoed: result.echoed } }
      : {}),
  };
}

/** Listens for `signal` where the platform has it; whether it does. */
function watchSignal(signal: Deno.Signal, handler: () => void): boolean {
  try {
    Deno.addSignalListener(signal, handler);
    return true;
  } catch {
    return false;
  }
}

/** The longest a timer waits, in ms (about 24.8 days). */
const MAX_TIMER = 2 ** 31 - 1;

/** The terminal's width; 80 when it says 0 (a pty nobody sized). */
function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}

/** `udp://`: each line one datagram, echoed lines to stdout. */
async function runUdp(
  options: ClientArgs,
  output: WritableStream<Uint8Array>,
): Promise<ClientRunResult> {
  const { sent, lost } = await runUdpSession(
    {
      hostname: options.hostname,
      port: options.port,
      quitWord: options.quitWord,
      ...(options.family === undefined ? {} : { family: options.family }),
      ...(options.source === undefined ? {} : { source: options.source }),
      // 0: wait forever, as near as a timer goes.
      timeout: options.readTimeout > 0 ? options.readTimeout : MAX_TIMER,
    },
    Deno.stdin.readable,
    output,
  );
  return { sent, lost };
}

/** Opens the stream connection the options ask for: TCP, TLS or Unix. */
async function open(options: ClientArgs): Promise<Deno.Conn> {
  if (options.transport === "unix") return await dialUnix(options.path);
  const target = {
    hostname: options.hostname,
    port: options.port,
    timeout: options.timeout,
    ...(options.family === undefined ? {} : { family: options.family }),
  };
  const routed = options.proxy !== undefined ||
    options.source !== undefined || options.proxyHeader !== undefined;
  if (options.transport === "tcp" && !routed) return await dial(target);
  const tls = options.transport === "tls" ? await tlsDialOptions(options) : {};
  if (routed) {
    // Loaded only for --proxy, --source and --proxy-header.
    const { dialRoute } = await import("../client/proxy_dial.ts");
    const { conn } = await dialRoute({
      ...target,
      ...tls,
      tls: options.transport === "tls",
      ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
      ...(options.source === undefined ? {} : { source: options.source }),
      ...(options.proxyHeader === undefined
        ? {}
        : { proxyHeader: options.proxyHeader }),
    });
    return conn;
  }
  return await dialTls({ ...target, ...tls });
}

/**
 * What a TLS connection trusts and presents, from `--ca`, `--insecure`,
 * `--cert` and `--key` (warning about `--insecure` on stderr).
 *
 * @param options The TLS options as given.
 * @returns The options for `dialTls`.
 * @throws {UsageError} If a file cannot be read.
 */
export async function tlsDialOptions(
  options: ClientTlsFiles,
): Promise<Omit<DialTlsOptions, keyof DialOptions>> {
  const caCerts = await Promise.all(
    options.caFiles.map((file) =>
      readPem(file, "CA certificate", "CERTIFICATE")
    ),
  );
  if (options.insecure) {
    writeText(
      Deno.stderr,
      "echo-client: WARNING: --insecure: the server's name is not checked " +
        "against its certificate, so any server holding a certificate from a " +
        "trusted CA can pose as this one\n",
    );
  }
  return {
    ...(caCerts.length > 0 ? { caCerts } : {}),
    unsafelyDisableHostnameVerification: options.insecure,
    ...(options.certFile !== undefined && options.keyFile !== undefined
      ? { clientCert: await clientCert(options.certFile, options.keyFile) }
      : {}),
  };
}

/** `--cert` and `--key`, read and checked to be a pair. */
async function clientCert(
  certFile: string,
  keyFile: string,
): Promise<{ cert: string; key: string }> {
  const cert = await readPem(certFile, "client certificate", "CERTIFICATE");
  const key = await readPem(keyFile, "client key", "PRIVATE KEY");
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new UsageError(
      `Cannot use --cert ${certFile} with --key ${keyFile}: ${
        errorText(error)
      }`,
    );
  }
  if (!matches) {
    throw new UsageError(
      `--cert ${certFile} and --key ${keyFile} do not match: the key is not the certificate's. Give the key made with that certificate`,
    );
  }
  return { cert, key };
}

/** A PEM file's text; `block` is what its `-----BEGIN` line must name. */
async function readPem(
  file: string,
  what: string,
  block: string,
): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    // Deno's permissions: the failure says which flag to add.
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new UsageError(
      `Cannot read the ${what} ${file}: ${errorText(error)}`,
    );
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${block}-----`).test(text)) {
    throw new UsageError(
      `The ${what} ${file} holds no PEM "${block}" block (-----BEGIN ...${block}-----)`,
    );
  }
  return text;
}
