// CRC-32 against the published check value of CRC-32/ISO-HDLC: crc("123456789") = 0xcbf43926.
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc';

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('crc32', () => {
  it('matches the check value, unsigned', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('covers exactly the byte range asked for', () => {
    expect(crc32(ascii('xx123456789yy'), 2, 11)).toBe(0xcbf43926);
  });
});
