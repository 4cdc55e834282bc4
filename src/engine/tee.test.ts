// TEE-IO rules, each with an address on either side of the split computed by hand.
import { describe, expect, it } from 'vitest';
import { PrivacySplit, TEE_REASON } from './tee';

const hi = (a: bigint) => Number(a >> 32n);
const lo = (a: bigint) => Number(a & 0xffffffffn);

describe('PrivacySplit', () => {
  // vTOM-style boundary at 0x4000_0000_0000 (bit 46): below private, at or above shared
  const vtom = new PrivacySplit({ kind: 'boundary', boundary: 0x400000000000n });
  const below = 0x3fffffff_f000n;
  const at = 0x400000000000n;

  it('classifies by boundary', () => {
    expect(vtom.isPrivate(hi(below), lo(below))).toBe(true);
    expect(vtom.isPrivate(hi(at), lo(at))).toBe(false);
    expect(vtom.isPrivate(0, 0x1000)).toBe(true);
  });

  it('classifies by shared bit (TDX GPA.SHARED, bit 51 and a low bit)', () => {
    const tdx = new PrivacySplit({ kind: 'shared-bit', sharedBit: 51, sharedMask: 1n << 51n });
    const shared = (1n << 51n) | 0x1000n;
    expect(tdx.isPrivate(hi(shared), lo(shared))).toBe(false);
    expect(tdx.isPrivate(0, 0x1000)).toBe(true);
    const low = new PrivacySplit({ kind: 'shared-bit', sharedBit: 20, sharedMask: 1n << 20n });
    expect(low.isPrivate(0, 0x100000)).toBe(false);
    expect(low.isPrivate(0, 0x0ff000)).toBe(true);
  });

  it('applies the three T-bit rules', () => {
    expect(vtom.check(1, false, hi(below), lo(below))).toBe(TEE_REASON.T1_NOT_RUN);
    expect(vtom.check(1, true, hi(at), lo(at))).toBe(TEE_REASON.T1_SHARED);
    expect(vtom.check(0, false, hi(below), lo(below))).toBe(TEE_REASON.T0_PRIVATE);
    expect(vtom.check(1, true, hi(below), lo(below))).toBe(0);
    expect(vtom.check(0, false, hi(at), lo(at))).toBe(0);
  });

  it('without a split: only the RUN rule applies', () => {
    const none = new PrivacySplit(null);
    expect(none.check(1, false, 0, 0)).toBe(TEE_REASON.T1_NOT_RUN);
    expect(none.check(0, false, 0, 0)).toBe(0);
  });
});
