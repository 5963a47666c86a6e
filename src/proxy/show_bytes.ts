// Copyright the deno-echo authors. MIT license.

// Untrusted bytes in error messages: quoted, printable ASCII as is, the rest
// as \xNN, and cut short, so that a message stays one readable line whatever
// a peer sent.

const SHOWN = 48;

/**
 * Shows text made of byte values (one char per byte) as a quoted string.
 *
 * @param text The text, each char a byte 0-255.
 * @returns The quoted, escaped text, at most 48 chars of it.
 */
export function showText(text: string): string {
  let shown = "";
  for (const char of text.slice(0, SHOWN)) {
    const code = char.charCodeAt(0);
    shown += code >= 0x20 && code < 0x7f && char !== '"' && char !== "\\"
      ? char
      : `\\x${code.toString(16).padStart(2, "0")}`;
  }
  return `"${shown}${text.length > SHOWN ? "..." : ""}"`;
}

/**
 * Shows bytes as a quoted string (see {@linkcode showText}).
 *
 * @param bytes The bytes.
 * @returns The quoted, escaped text.
 */
export function showBytes(bytes: Uint8Array): string {
  return showText(latin1(bytes.subarray(0, SHOWN + 1)));
}

/**
 * Bytes as text, one char per byte (no decoding, nothing replaced).
 *
 * @param bytes The bytes.
 * @returns The text.
 */
export function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}
