// CRC-32 against the published check value of CRC-32/ISO-HDLC: crc("123456789") = 0xcbf43926.
import { describe, expect, it } from 'vitest';
import { crc32, useCrc32 } from './crc';

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

describe('useCrc32', () => {
  it('takes an implementation of the same CRC and refuses another', () => {
    const calls: number[] = [];
    const slow = (b: Uint8Array): number => {
      calls.push(b.length);
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    try {
      useCrc32(slow);
      expect(crc32(ascii('xx123456789yy'), 2, 11)).toBe(0xcbf43926);
      expect(calls.at(-1)).toBe(9);
      expect(() => useCrc32(() => 0)).toThrow('not the IEEE CRC-32');
    } finally {
      useCrc32(null);
    }
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
  });
});
