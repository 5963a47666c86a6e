// Copyright the deno-echo authors. MIT license.

// Headless Chromium driven over the DevTools protocol (a WebSocket), to open
// a report as a browser does: load it, hear every console message and
// uncaught exception, measure the rendered SVG, and take screenshots in
// light and dark mode.

import { TextLineStream } from "@std/streams/text-line-stream";
import { within } from "../_helpers/util.ts";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed there. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** What the page said on its console, or threw, while it was open. */
export interface PageProblem {
  kind: "console" | "exception" | "log";
  level: string;
  text: string;
}

interface Message {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** One browser with one page, closed by `await using`. */
export class Browser implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #socket: WebSocket;
  readonly #profile: string;
  readonly #pending = new Map<number, PromiseWithResolvers<Message>>();
  /** Who waits for which event. */
  readonly #waiters: { method: string; resolve: () => void }[] = [];
  readonly #closed: Promise<void>;
  readonly #drained: Promise<void>;
  #nextId = 1;
  #session = "";
  /** Every console message of level warning or error, and every exception. */
  readonly problems: PageProblem[] = [];

  private constructor(
    child: Deno.ChildProcess,
    socket: WebSocket,
    profile: string,
    drained: Promise<void>,
  ) {
    this.#child = child;
    this.#drained = drained;
    this.#socket = socket;
    this.#profile = profile;
    this.#closed = new Promise((resolve) => {
      socket.addEventListener("close", () => resolve(), { once: true });
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
  }

  /** Starts Chromium and opens a blank page with its events on. */
  static async launch(): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "bench-chromium-" });
    const child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const { url, drained } = await within(
      devToolsUrl(child.stderr),
      30_000,
      "Chromium's DevTools address",
    );
    const socket = new WebSocket(url);
    await within(
      new Promise((resolve, reject) => {
        socket.addEventListener("open", resolve, { once: true });
        socket.addEventListener("error", reject, { once: true });
      }),
      10_000,
      "the DevTools connection",
    );
    const browser = new Browser(child, socket, profile, drained);
    await browser.#attach();
    return browser;
  }

  async #attach(): Promise<void> {
    const { targetId } = await this.send("Target.createTarget", {
      url: "about:blank",
    });
    const { sessionId } = await this.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    this.#session = sessionId as string;
    for (const domain of ["Page", "Runtime", "Log"]) {
      await this.send(`${domain}.enable`, {}, true);
    }
  }

  /** Sends a command (to the page, with `page`) and awaits its result. */
  async send(
    method: string,
    params: Record<string, unknown> = {},
    page = false,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const reply = Promise.withResolvers<Message>();
    this.#pending.set(id, reply);
    this.#socket.send(JSON.stringify({
      id,
      method,
      params,
      ...(page ? { sessionId: this.#session } : {}),
    }));
    const message = await within(reply.promise, 30_000, method);
    if (message.error) throw new Error(`${method}: ${message.error.message}`);
    return message.result ?? {};
  }

  #receive(data: unknown): void {
    const message = JSON.parse(String(data)) as Message;
    if (message.id !== undefined) {
      this.#pending.get(message.id)?.resolve(message);
      this.#pending.delete(message.id);
      return;
    }
    for (const [i, waiter] of [...this.#waiters.entries()].reverse()) {
      if (waiter.method === message.method) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
    const params = message.params ?? {};
    if (message.method === "Runtime.exceptionThrown") {
      const details = params.exceptionDetails as { text?: string };
      this.problems.push({
        kind: "exception",
        level: "error",
        text: JSON.stringify(details ?? params),
      });
    } else if (message.method === "Runtime.consoleAPICalled") {
      const type = String(params.type);
      if (type === "error" || type === "warning" || type === "assert") {
        this.problems.push({
          kind: "console",
          level: type,
          text: JSON.stringify(params.args),
        });
      }
    } else if (message.method === "Log.entryAdded") {
      const entry = params.entry as { level: string; text: string };
      if (entry.level === "error" || entry.level === "warning") {
        this.problems.push({
          kind: "log",
          level: entry.level,
          text: entry.text,
        });
      }
    }
  }

  /** Opens a page and waits for its load event. */
  async open(url: string, width: number, height: number): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    }, true);
    const loaded = Promise.withResolvers<void>();
    this.#waiters.push({
      method: "Page.loadEventFired",
      resolve: loaded.resolve,
    });
    await this.send("Page.navigate", { url }, true);
    await within(loaded.promise, 30_000, `the load event of ${url}`);
  }

  /** Light or dark, as `prefers-color-scheme` reports it to the page. */
  async colorScheme(scheme: "light" | "dark"): Promise<void> {
    await this.send("Emulation.setEmulatedMedia", {
      features: [{ name: "prefers-color-scheme", value: scheme }],
    }, true);
  }

  /** Evaluates an expression in the page; returns its value. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
    }, true) as {
      result: { value: T };
      exceptionDetails?: unknown;
    };
    if (exceptionDetails) {
      throw new Error(`Evaluating failed: ${JSON.stringify(exceptionDetails)}`);
    }
    return result.value;
  }

  /** A PNG of the whole page. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    }, true);
    return Uint8Array.from(atob(data as string), (c) => c.charCodeAt(0));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.send("Browser.close");
    } catch {
      this.#child.kill();
    }
    this.#socket.close();
    await this.#closed;
    await this.#child.status;
    await this.#drained;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/**
 * Reads Chromium's stderr up to its "DevTools listening on" line, then
 * keeps draining it (so the browser never blocks on a full pipe).
 */
async function devToolsUrl(
  stderr: ReadableStream<Uint8Array>,
): Promise<{ url: string; drained: Promise<void> }> {
  const lines = stderr
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream());
  const reader = lines.getReader();
  const seen: string[] = [];
  while (true) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(
        `Chromium exited without a DevTools address:\n${seen.join("\n")}`,
      );
    }
    const match = /DevTools listening on (ws:\/\/\S+)/.exec(value);
    if (match) {
      const drained = (async () => {
        while (!(await reader.read()).done) {
          // Drain.
        }
      })();
      return { url: match[1]!, drained };
    }
    seen.push(value);
  }
}
