import { describe, expect, it } from 'vitest';
import { formatBdf, formatBusDevFn, parseBdf, rid, ridToBdf } from './bdf';

describe('bdf', () => {
  it('parses with and without segment', () => {
    expect(parseBdf('0000:00:14.0')).toEqual({ segment: 0, bus: 0, dev: 0x14, fn: 0 });
    expect(parseBdf('3a:00.1')).toEqual({ segment: 0, bus: 0x3a, dev: 0, fn: 1 });
    expect(parseBdf('0001:c1:1f.7')).toEqual({ segment: 1, bus: 0xc1, dev: 0x1f, fn: 7 });
  });
  it('rejects malformed and out-of-range text', () => {
    for (const bad of ['', '00:14', '00:20.0', '00:14.8', 'zz:00.0', '00000:00:00.0', '0:0:0.0.0']) {
      expect(parseBdf(bad), bad).toBeNull();
    }
  });
  it('packs the requester ID as bus<<8 | dev<<3 | fn (PCIe RID layout)', () => {
    // 00:14.0 → devfn 0xa0; 06:00.0 → 0x0600; ff:1f.7 → 0xffff
    expect(rid(parseBdf('00:14.0')!)).toBe(0x00a0);
    expect(rid(parseBdf('06:00.0')!)).toBe(0x0600);
    expect(rid(parseBdf('ff:1f.7')!)).toBe(0xffff);
    expect(formatBdf(ridToBdf(0, 0x00a0))).toBe('0000:00:14.0');
    expect(formatBusDevFn(ridToBdf(0, 0x0602))).toBe('06:00.2');
  });
});
