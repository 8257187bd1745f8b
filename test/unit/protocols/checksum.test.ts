import { describe, expect, it } from 'vitest';
import { crc16Xmodem, rongtaiChecksum, sum8 } from '../../../protocols/checksum';
import { fromHex, toHex } from '../../../protocols/bytes';

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('checksums', () => {
  it('CRC-16/XMODEM passes its check value', () => {
    expect(crc16Xmodem(ascii('123456789'))).toBe(0x31c3);
    expect(crc16Xmodem(new Uint8Array())).toBe(0);
  });

  it('CRC-16/XMODEM honours start/end', () => {
    const data = ascii('xx123456789yy');
    expect(crc16Xmodem(data, 2, 11)).toBe(0x31c3);
  });

  it('sum8 wraps at 256', () => {
    expect(sum8(fromHex('AA E3 01 03 06 D6 03'), 2)).toBe(0xe3);
    expect(sum8(fromHex('FF 02'))).toBe(0x01);
  });

  it('RongTai checksum matches the published command frames', () => {
    expect(rongtaiChecksum(fromHex('83 01'))).toBe(0x7b);
    expect(rongtaiChecksum(fromHex('83 20'))).toBe(0x5c);
    expect(rongtaiChecksum(fromHex('83 22'))).toBe(0x5a);
  });

  it('hex helpers round trip', () => {
    expect(toHex(fromHex('aa e3 01'))).toBe('AA E3 01');
    expect(() => fromHex('abc')).toThrow(RangeError);
    expect(() => fromHex('zz')).toThrow(RangeError);
  });
});
