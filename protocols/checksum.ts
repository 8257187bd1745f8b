/**
 * Checksums used by the protocols in this folder (DESIGN §3). All functions are
 * pure, never throw, and treat their input as unsigned bytes.
 */

/**
 * Sum of `bytes[start..end)` modulo 256 (an 8-bit additive checksum).
 * `start` defaults to 0 and `end` to the length; out-of-range bounds are clamped.
 * Used by the Theragun frames (byte 1 = sum of bytes 2..end).
 */
export function sum8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const from = Math.max(0, start);
  const to = Math.min(bytes.length, end);
  let sum = 0;
  for (let i = from; i < to; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  return sum;
}

/**
 * The RongTai chair checksum: the bitwise complement of the byte sum, kept to 7 bits
 * (`(~sum) & 0x7F`), so it never collides with the `F0`/`F1` frame markers.
 * Command frames checksum `type + key`; status frames checksum bytes 1..14.
 * Source: dallanwagz/hass-infinity-chair `custom_components/infinity_chair/protocol.py`
 * (command frames); the status-frame use was worked out from the captures in
 * `protocols/vectors/rongtai-status.json`.
 */
export function rongtaiChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const from = Math.max(0, start);
  const to = Math.min(bytes.length, end);
  let sum = 0;
  for (let i = from; i < to; i++) sum += bytes[i] ?? 0;
  return ~sum & 0x7f;
}

/** Lookup table for CRC-16/XMODEM, built once. */
const XMODEM_TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[n] = crc;
  }
  return table;
})();

/**
 * CRC-16/XMODEM: polynomial 0x1021, initial value 0x0000, input and output not
 * reflected, no final XOR. Check value: `"123456789"` → `0x31C3`.
 * Beware: many libraries call the 0xFFFF-seeded variant "CRC-16/CCITT"; it gives
 * different bytes. Returns a number 0..0xFFFF over `bytes[start..end)`.
 * Used by the JieLi "hy" EMS frames (lan-feng/massager, `Crc16Ccitt.kt`, seed 0, not reflected).
 */
export function crc16Xmodem(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const from = Math.max(0, start);
  const to = Math.min(bytes.length, end);
  let crc = 0;
  for (let i = from; i < to; i++) {
    crc = ((crc << 8) & 0xffff) ^ (XMODEM_TABLE[((crc >> 8) ^ (bytes[i] ?? 0)) & 0xff] ?? 0);
  }
  return crc;
}

/** `(sum of bytes[start..end)) & 0xFF) ^ 0xFF`: the complement of the 8-bit sum. Bounds are clamped. */
export function sumXorFf(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return sum8(bytes, start, end) ^ 0xff;
}

/** XOR of `bytes[start..end)` (0 for an empty range). Bounds are clamped. */
export function xor8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const from = Math.max(0, start);
  const to = Math.min(bytes.length, end);
  let x = 0;
  for (let i = from; i < to; i++) x ^= bytes[i] ?? 0;
  return x;
}

/**
 * CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), initial value 0xFFFF, input and
 * output reflected, no final XOR. Check value: `"123456789"` → `0x4B37`. Returns 0..0xFFFF
 * over `bytes[start..end)`; Modbus itself sends it low byte first.
 */
export function crc16Modbus(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const from = Math.max(0, start);
  const to = Math.min(bytes.length, end);
  let crc = 0xffff;
  for (let i = from; i < to; i++) {
    crc ^= bytes[i] ?? 0;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
