import { describe, expect, it } from 'vitest';
import { PhysMem } from '../mem/phys-mem';
import { FlPageTable, isCanonical } from './fl-pagetable';
import { PageTableError } from './sl-pagetable';

// How the expected values are computed (by hand, from the x86 bit layout):
// - PhysMem's allocator starts at B = 0x1_0000_0000: root = B, new tables B+0x1000, B+0x2000, ...
// - IOVAs set bit 12 + 9·(L-1) for each level from the top down to the leaf level, so every index is 1
//   and each entry sits at table + 8 (L1 0x1000, L2 0x20_0000, L3 0x4000_0000, L4 0x80_0000_0000,
//   L5 0x1_0000_0000_0000).
// - Non-leaf = table | P 0x1 | R/W 0x2 | U/S 0x4 | A 0x20 = table | 0x27.
// - Leaf = pa | P 0x1 | R/W 0x2 (write) | U/S 0x4 (user) | A 0x20 | D 0x40 (write) | PS 0x80 (2M/1G),
//   plus XD bit 63 (0x8000_0000_0000_0000) when not executable.
const B = 0x1_0000_0000;
const SP = { mib2: true, gib1: true };
const USER_RWX = { write: true, user: true, execute: true };

function entries(mem: PhysMem, addrs: number[]): bigint[] {
  return addrs.map((a) => mem.read64(a));
}

describe('FlPageTable entries', () => {
  it('4-level 4 KiB user R/W page', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 4, superpages: SP });
    expect(pt.map(0x80_4020_1000n, 0x1234_5000n, 0x1000n, USER_RWX)).toMatchObject({ ok: true, pages4k: 1 });
    expect(entries(mem, [B + 0x8, B + 0x1008, B + 0x2008, B + 0x3008])).toEqual([
      0x1_0000_1027n, // B+0x1000 | 0x27
      0x1_0000_2027n,
      0x1_0000_3027n,
      0x1234_5067n, // 0x12345000 | P|RW|US|A|D = 0x1+0x2+0x4+0x20+0x40 = 0x67
    ]);
    expect(pt.lookup(0x80_4020_1abcn)).toEqual({
      pa: 0x1234_5abcn,
      level: 1,
      write: true,
      user: true,
      execute: true,
      pteAddr: B + 0x3008,
      pte: 0x1234_5067n,
    });
  });

  it('4-level 2 MiB read-only, non-executable page', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 4, superpages: SP });
    pt.map(0x80_4020_0000n, 0x7fe0_0000n, 0x20_0000n, { write: false, user: true, execute: false });
    expect(entries(mem, [B + 0x8, B + 0x1008, B + 0x2008])).toEqual([
      0x1_0000_1027n,
      0x1_0000_2027n,
      // 0x7fe00000 | P 0x1 | US 0x4 | A 0x20 | PS 0x80 = 0xa5, with XD bit 63.
      0x8000_0000_7fe0_00a5n,
    ]);
    expect(pt.lookup(0x80_4020_0000n)).toMatchObject({ level: 2, write: false, user: true, execute: false });
  });

  it('4-level 1 GiB supervisor page', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 4, superpages: SP });
    pt.map(0x80_4000_0000n, 0x1_c000_0000n, 0x4000_0000n, { write: true, user: false, execute: true });
    expect(entries(mem, [B + 0x8, B + 0x1008])).toEqual([
      0x1_0000_1027n,
      0x1_c000_00e3n, // 0x1c0000000 | P 0x1 | RW 0x2 | A 0x20 | D 0x40 | PS 0x80 = 0xe3 (no US)
    ]);
    // U/S clear at the leaf: the AND over the walk is false.
    expect(pt.lookup(0x80_7fff_ffffn)).toMatchObject({
      pa: 0x1_ffff_ffffn,
      level: 3,
      user: false,
      write: true,
    });
  });

  it('5-level 4 KiB page', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 5, superpages: SP });
    pt.map(0x1_0080_4020_1000n, 0x1234_5000n, 0x1000n, USER_RWX);
    expect(entries(mem, [B + 0x8, B + 0x1008, B + 0x2008, B + 0x3008, B + 0x4008])).toEqual([
      0x1_0000_1027n,
      0x1_0000_2027n,
      0x1_0000_3027n,
      0x1_0000_4027n,
      0x1234_5067n,
    ]);
    expect(pt.walk(0x1_0080_4020_1000n).map((s) => s.level)).toEqual([5, 4, 3, 2, 1]);
  });

  it('leaves A and D clear when accessedDirty is false', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 4, superpages: SP, accessedDirty: false });
    pt.map(0x20_0000n, 0x60_0000n, 0x20_0000n, USER_RWX);
    // Non-leaf = table | P|RW|US = 0x7; 2 MiB leaf = 0x600000 | 0x7 | PS 0x80 = 0x600087.
    expect(entries(mem, [B, B + 0x1000, B + 0x2008])).toEqual([0x1_0000_1007n, 0x1_0000_2007n, 0x60_0087n]);
  });
});

describe('FlPageTable canonical addresses', () => {
  it('classifies canonical addresses', () => {
    expect(isCanonical(0x7fff_ffff_f000n, 48)).toBe(true); // top of the low half (bit 47 clear)
    expect(isCanonical(0x8000_0000_0000n, 48)).toBe(false); // bit 47 set, bits 63:48 clear
    expect(isCanonical(0xffff_8000_0000_0000n, 48)).toBe(true); // bits 63:47 all set
    expect(isCanonical(0xff00_0000_0000_0000n, 57)).toBe(true); // bits 63:56 all set
    expect(isCanonical(0x0100_0000_0000_0000n, 57)).toBe(false); // bit 56 set alone
  });

  it('maps the high half through the upper root entries', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 4, superpages: SP });
    // 0xffff_8000_0000_0000 & (2^48 - 1) = 0x8000_0000_0000 → L4 index = bits 47:39 = 0x100 = 256.
    pt.map(0xffff_8000_0000_0000n, 0x5000n, 0x1000n, USER_RWX);
    expect(mem.read64(B + 256 * 8)).toBe(0x1_0000_1027n);
    expect(pt.lookup(0xffff_8000_0000_0008n)).toMatchObject({ pa: 0x5008n });
    // The last page of the address space: every index is 511.
    pt.map(0xffff_ffff_ffff_f000n, 0x6000n, 0x1000n, USER_RWX);
    expect(pt.walk(0xffff_ffff_ffff_f000n).map((s) => s.index)).toEqual([511, 511, 511, 511]);
    // 5 levels: 0xff00_0000_0000_0000 & (2^57 - 1) = 2^56 → L5 index = bits 56:48 = 256.
    const mem5 = new PhysMem();
    const pt5 = new FlPageTable(mem5, { levels: 5, superpages: SP });
    pt5.map(0xff00_0000_0000_0000n, 0x5000n, 0x1000n, USER_RWX);
    expect(mem5.read64(B + 256 * 8)).toBe(0x1_0000_1027n);
  });

  it('rejects non-canonical addresses and ranges over the hole', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 4, superpages: SP });
    expect(pt.map(0x8000_0000_0000n, 0n, 0x1000n, USER_RWX)).toMatchObject({ ok: false, error: 'EINVAL' });
    expect(pt.map(0x7fff_ffff_f000n, 0n, 0x2000n, USER_RWX)).toMatchObject({ ok: false, error: 'EINVAL' });
    expect(pt.map(0x7fff_ffff_f000n, 0n, 0x1000n, USER_RWX)).toMatchObject({ ok: true });
    expect(pt.lookup(0x8000_0000_0000n)).toBeNull();
    expect(() => pt.unmap(0xffff_7fff_ffff_f000n, 0x1000n)).toThrow(/not canonical/);
  });
});

describe('FlPageTable map/unmap', () => {
  it('refuses overlaps, unmaps exactly and frees wholly covered tables', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 4, superpages: SP });
    pt.map(0x1000n, 0x11000n, 0x2000n, USER_RWX); // root + L3 + L2 + L1 = 4 frames
    expect(pt.map(0n, 0n, 0x2000n, USER_RWX)).toMatchObject({ ok: false, error: 'EEXIST' });
    expect(mem.framesInUse).toBe(4);
    expect(pt.unmap(0x2000n, 0x1000n)).toBe(0x1000n);
    expect(entries(mem, [B + 0x3008, B + 0x3010])).toEqual([0x1_1067n, 0n]);
    // 0..2 MiB covers the whole L1 table: freed, and its L2 entry cleared.
    expect(pt.unmap(0n, 0x20_0000n)).toBe(0x1000n);
    expect(mem.framesInUse).toBe(3);
    expect(mem.read64(B + 0x2000)).toBe(0n);
  });

  it('uses 2 MiB pages where 1 GiB is not allowed and rejects partial superpage unmaps', () => {
    const mem = new PhysMem();
    const pt = new FlPageTable(mem, { levels: 4, superpages: { mib2: true, gib1: false } });
    expect(pt.map(0x4000_0000n, 0x4000_0000n, 0x4000_0000n, USER_RWX)).toMatchObject({
      pages2m: 512,
      pages1g: 0,
    });
    expect(() => pt.unmap(0x4000_0000n, 0x1000n)).toThrow(PageTableError);
    expect(pt.unmap(0x4000_0000n, 0x4000_0000n)).toBe(0x4000_0000n);
    pt.destroy();
    expect(mem.framesInUse).toBe(0);
  });
});
