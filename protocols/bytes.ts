/**
 * Small byte helpers shared by the protocol modules, their simulators and tests.
 * Pure TypeScript: no Node `Buffer`.
 */

/**
 * Formats bytes as upper-case hex pairs separated by single spaces, e.g. `AA E3 01`.
 * Never throws.
 */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}

/**
 * Formats bytes as lower-case hex without separators, e.g. `aae301` (the form the app's
 * views, the lab and the traffic log carry bytes in). Never throws.
 */
export function toPlainHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Parses hex text into bytes. Spaces, colons, dashes and a `0x` prefix per byte are
 * ignored, so `"AA E3 01"`, `"aae301"` and `"0xAA 0xE3"` all work.
 * @throws RangeError when the text has an odd number of digits or a non-hex character.
 */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s:-]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) {
    throw new RangeError(`not a hex byte string: ${JSON.stringify(text)}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Byte at `index`, or 0 when out of range (keeps decoders free of undefined checks). */
export function at(bytes: Uint8Array, index: number): number {
  return bytes[index] ?? 0;
}

/** True when two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
