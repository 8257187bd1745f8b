import { describe, expect, it } from 'vitest';
import { StandardServicesSim, decodeBatteryLevel, decodeInfoString, decodeStandardRead, writeTypeFor } from '../../../protocols/standard';

describe('standard services', () => {
  it('decodes battery level, rejecting reserved values and bad lengths', () => {
    expect(decodeBatteryLevel(Uint8Array.of(57))).toBe(57);
    expect(decodeBatteryLevel(Uint8Array.of(101))).toBeUndefined();
    expect(decodeBatteryLevel(new Uint8Array())).toBeUndefined();
    expect(decodeBatteryLevel(Uint8Array.of(1, 2))).toBeUndefined();
  });

  it('decodes Device Information strings, NUL padding and bad UTF-8 included, without throwing', () => {
    expect(decodeInfoString(new TextEncoder().encode('1.2.3\0\0'))).toBe('1.2.3');
    expect(decodeInfoString(new Uint8Array())).toBeUndefined();
    expect(decodeInfoString(Uint8Array.of(0xff, 0x41))).toBe('\ufffdA');
    expect(decodeStandardRead('180a', '2a26', new TextEncoder().encode('4.1'))).toEqual({ status: { firmware: '4.1' } });
    expect(decodeStandardRead('180a', '2a24', new TextEncoder().encode('Pro'))).toEqual({ status: {}, model: 'Pro' });
    expect(decodeStandardRead('180a', '2a29', new TextEncoder().encode('Maker'))).toEqual({ status: {}, manufacturer: 'Maker' });
    expect(decodeStandardRead('180f', '2a19', Uint8Array.of(40))).toEqual({ status: { batteryPercent: 40 } });
    expect(decodeStandardRead('ffe0', 'ffe1', Uint8Array.of(40))).toBeUndefined();
  });

  it('simulator helper adds the services it has values for and answers reads', () => {
    const std = new StandardServicesSim({ batteryPercent: 64, firmware: '1.0' });
    expect(std.services().map((s) => s.uuid)).toEqual(['180f', '180a']);
    expect(std.read('180f', '2a19')).toEqual(Uint8Array.of(64));
    expect(new TextDecoder().decode(std.read('180a', '2a26'))).toBe('1.0');
    expect(std.read('180a', '2a24')).toBeUndefined();
    std.setBattery(150);
    expect(std.read('180f', '2a19')).toEqual(Uint8Array.of(100));
    expect(new StandardServicesSim({}).services()).toEqual([]);
  });

  it('picks the write type from declared properties', () => {
    expect(writeTypeFor({ uuid: 'x', properties: ['write', 'writeWithoutResponse'] }, false)).toBe(true);
    expect(writeTypeFor({ uuid: 'x', properties: ['writeWithoutResponse'] }, true)).toBe(false);
    expect(writeTypeFor({ uuid: 'x', properties: [] }, true)).toBe(true);
  });
});
