// Copyright the deno-echo authors. MIT license.

/**
 * What went wrong at a proxy: `"connect"`, the proxy itself could not be
 * reached (the `cause` says why); `"auth"`, it wants credentials or refused
 * the ones given; `"denied"`, it refused the request (a rule, a forbidden
 * port); `"target"`, it could not reach the target; `"protocol"`, its reply
 * made no sense.
 */
export type ProxyFailure =
  | "connect"
  | "auth"
  | "denied"
  | "target"
  | "protocol";

/**
 * Raised when a connection through a proxy fails at the proxy.
 *
 * @example Tell a proxy that wants credentials from other failures
 * ```ts
 * import { ProxyError } from "./proxy_errors.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new ProxyError("auth", "http://127.0.0.1:3128", "it wants credentials (407 Proxy Authentication Required)");
 * assertEquals(error.failure, "auth");
 * assertEquals(error.message, "Proxy http://127.0.0.1:3128: it wants credentials (407 Proxy Authentication Required)");
 * ```
 */
export class ProxyError extends Error {
  /** Which kind of failure. */
  readonly failure: ProxyFailure;
  /** The proxy, as `describeProxy` shows it (no password). */
  readonly proxy: string;
  /** The HTTP status or SOCKS5 reply code, when the proxy sent one. */
  readonly code: number | undefined;

  /**
   * Makes the error.
   *
   * @param failure Which kind of failure.
   * @param proxy The proxy, without its password.
   * @param detail What happened, in a few words.
   * @param options The HTTP status or SOCKS5 reply code, and the cause.
   */
  constructor(
    failure: ProxyFailure,
    proxy: string,
    detail: string,
    options: ErrorOptions & { code?: number } = {},
  ) {
    super(`Proxy ${proxy}: ${detail}`, options);
    this.name = "ProxyError";
    this.failure = failure;
    this.proxy = proxy;
    this.code = options.code;
  }
}
