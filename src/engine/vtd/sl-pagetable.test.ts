import { describe, expect, it } from 'vitest';
import { PhysMem } from '../mem/phys-mem';
import { PageTableError, SlPageTable, type SlLevels } from './sl-pagetable';

// How the expected values are computed (by hand, from the bit layout in iommu.h):
// - PhysMem's allocator starts at B = 0x1_0000_0000; the root is the first frame (B), and map()
//   allocates missing tables top-down, so the next tables are B+0x1000, B+0x2000, ...
// - Test IOVAs set bit (12 + 9·(L-1)) for each level L from the top down to the leaf level, so the index
//   is 1 at every level walked and each entry sits at table + 8.
//   Level bits: L1 2^12 = 0x1000, L2 2^21 = 0x20_0000, L3 2^30 = 0x4000_0000, L4 2^39 = 0x80_0000_0000,
//   L5 2^48 = 0x1_0000_0000_0000.
// - Non-leaf = next table | R(1) | W(2) = table | 0x3. 4 KiB leaf = pa | 0x3 for R+W.
//   Superpage leaf = pa | PS(0x80) | 0x3 = pa | 0x83.
const B = 0x1_0000_0000;
const RW = { read: true, write: true };
const SP = { mib2: true, gib1: true };

function entries(mem: PhysMem, addrs: number[]): bigint[] {
  return addrs.map((a) => mem.read64(a));
}

/** Every non-zero entry reachable from root, as [address, value]: a snapshot of the whole table. */
function dump(mem: PhysMem, table: number, level: number, out: [number, bigint][] = []): [number, bigint][] {
  for (let i = 0; i < 512; i++) {
    const v = mem.read64(table + i * 8);
    if (v === 0n) continue;
    out.push([table + i * 8, v]);
    if (level > 1 && (v & 0x80n) === 0n) dump(mem, Number(v & 0x000f_ffff_ffff_f000n), level - 1, out);
  }
  return out;
}

describe('SlPageTable entries, one page of each size in 3-, 4- and 5-level tables', () => {
  const cases: {
    name: string;
    levels: SlLevels;
    iova: bigint;
    pa: bigint;
    size: bigint;
    expected: [number, bigint][];
  }[] = [
    // 3 levels, 4 KiB: iova = L3+L2+L1 bits = 0x4020_1000.
    {
      name: '3-level 4 KiB',
      levels: 3,
      iova: 0x4020_1000n,
      pa: 0x1234_5000n,
      size: 0x1000n,
      expected: [
        [B + 0x8, 0x1_0000_1003n], // L3 → table B+0x1000 | 3
        [B + 0x1008, 0x1_0000_2003n], // L2 → table B+0x2000 | 3
        [B + 0x2008, 0x1234_5003n], // L1 leaf: 0x12345000 | 3
      ],
    },
    // 3 levels, 2 MiB: iova = L3+L2 bits = 0x4020_0000; pa 0x7fe0_0000 = 0x3ff × 2 MiB.
    {
      name: '3-level 2 MiB',
      levels: 3,
      iova: 0x4020_0000n,
      pa: 0x7fe0_0000n,
      size: 0x20_0000n,
      expected: [
        [B + 0x8, 0x1_0000_1003n],
        [B + 0x1008, 0x7fe0_0083n], // L2 leaf: 0x7fe00000 | 0x80 | 3
      ],
    },
    // 3 levels, 1 GiB: iova = L3 bit = 0x4000_0000; pa 0x1_c000_0000 = 7 × 1 GiB. Leaf in the root.
    {
      name: '3-level 1 GiB',
      levels: 3,
      iova: 0x4000_0000n,
      pa: 0x1_c000_0000n,
      size: 0x4000_0000n,
      expected: [[B + 0x8, 0x1_c000_0083n]],
    },
    // 4 levels: add the L4 bit 0x80_0000_0000.
    {
      name: '4-level 4 KiB',
      levels: 4,
      iova: 0x80_4020_1000n,
      pa: 0x1234_5000n,
      size: 0x1000n,
      expected: [
        [B + 0x8, 0x1_0000_1003n],
        [B + 0x1008, 0x1_0000_2003n],
        [B + 0x2008, 0x1_0000_3003n],
        [B + 0x3008, 0x1234_5003n],
      ],
    },
    {
      name: '4-level 2 MiB',
      levels: 4,
      iova: 0x80_4020_0000n,
      pa: 0x7fe0_0000n,
      size: 0x20_0000n,
      expected: [
        [B + 0x8, 0x1_0000_1003n],
        [B + 0x1008, 0x1_0000_2003n],
        [B + 0x2008, 0x7fe0_0083n],
      ],
    },
    {
      name: '4-level 1 GiB',
      levels: 4,
      iova: 0x80_4000_0000n,
      pa: 0x1_c000_0000n,
      size: 0x4000_0000n,
      expected: [
        [B + 0x8, 0x1_0000_1003n],
        [B + 0x1008, 0x1_c000_0083n],
      ],
    },
    // 5 levels: add the L5 bit 0x1_0000_0000_0000.
    {
      name: '5-level 4 KiB',
      levels: 5,
      iova: 0x1_0080_4020_1000n,
      pa: 0x1234_5000n,
      size: 0x1000n,
      expected: [
        [B + 0x8, 0x1_0000_1003n],
        [B + 0x1008, 0x1_0000_2003n],
        [B + 0x2008, 0x1_0000_3003n],
        [B + 0x3008, 0x1_0000_4003n],
        [B + 0x4008, 0x1234_5003n],
      ],
    },
    {
      name: '5-level 2 MiB',
      levels: 5,
      iova: 0x1_0080_4020_0000n,
      pa: 0x7fe0_0000n,
      size: 0x20_0000n,
      expected: [
        [B + 0x8, 0x1_0000_1003n],
        [B + 0x1008, 0x1_0000_2003n],
        [B + 0x2008, 0x1_0000_3003n],
        [B + 0x3008, 0x7fe0_0083n],
      ],
    },
    {
      name: '5-level 1 GiB',
      levels: 5,
      iova: 0x1_0080_4000_0000n,
      pa: 0x1_c000_0000n,
      size: 0x4000_0000n,
      expected: [
        [B + 0x8, 0x1_0000_1003n],
        [B + 0x1008, 0x1_0000_2003n],
        [B + 0x2008, 0x1_c000_0083n],
      ],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const mem = new PhysMem();
      const pt = new SlPageTable(mem, { levels: c.levels, superpages: SP });
      expect(pt.root).toBe(B);
      expect(pt.map(c.iova, c.pa, c.size, RW)).toMatchObject({ ok: true });
      // The whole table is exactly these entries, nothing else.
      expect(dump(mem, pt.root, c.levels)).toEqual(c.expected);
      // Tables: the root plus one per non-leaf entry written.
      expect(mem.framesInUse).toBe(c.expected.length);
      const leafLevel = c.levels - c.expected.length + 1;
      const [leafAddr, leafValue] = c.expected[c.expected.length - 1];
      expect(pt.lookup(c.iova + 0x18n)).toEqual({
        pa: c.pa + 0x18n,
        level: leafLevel,
        read: true,
        write: true,
        pteAddr: leafAddr,
        pte: leafValue,
      });
      const steps = pt.walk(c.iova);
      expect(steps.map((s) => [s.entryAddr, s.value])).toEqual(c.expected);
      expect(steps.map((s) => s.index)).toEqual(c.expected.map(() => 1));
      expect(steps[0]).toMatchObject({ level: c.levels, tableAddr: B });
    });
  }
});

describe('SlPageTable.map', () => {
  it('encodes read-only, write-only and snooped leaves; tables stay R|W', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 3, superpages: SP, snoop: true });
    // iova 0x1000 → L3 idx 0, L2 idx 0, L1 idx 1; 0x2000 → L1 idx 2. Tables B+0x1000 (L2), B+0x2000 (L1).
    pt.map(0x1000n, 0xa000n, 0x1000n, { read: true, write: false });
    pt.map(0x2000n, 0xb000n, 0x1000n, { read: false, write: true });
    expect(entries(mem, [B, B + 0x1000, B + 0x2008, B + 0x2010])).toEqual([
      0x1_0000_1003n, // non-leaf: table | R | W, no SNP (pfn_to_dma_pte)
      0x1_0000_2003n,
      0xa801n, // 0xa000 | SNP 0x800 | R 0x1
      0xb802n, // 0xb000 | SNP 0x800 | W 0x2
    ]);
    expect(pt.lookup(0x1000n)).toMatchObject({ read: true, write: false, pa: 0xa000n });
    expect(pt.lookup(0x2fffn)).toMatchObject({ read: false, write: true, pa: 0xbfffn });
  });

  it('rejects bad arguments with EINVAL or ERANGE', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 3, superpages: SP });
    const err = (r: ReturnType<SlPageTable['map']>) => (r.ok ? 'ok' : r.error);
    expect(err(pt.map(0x1000n, 0x1000n, 0n, RW))).toBe('EINVAL');
    expect(err(pt.map(0x1001n, 0x1000n, 0x1000n, RW))).toBe('EINVAL');
    expect(err(pt.map(0x1000n, 0x1800n, 0x1000n, RW))).toBe('EINVAL');
    expect(err(pt.map(0x1000n, 0x1000n, 0x1800n, RW))).toBe('EINVAL');
    expect(err(pt.map(0x1000n, 0x1000n, 0x1000n, { read: false, write: false }))).toBe('EINVAL');
    // PA field ends at bit 51: a page at 2^52 cannot be encoded.
    expect(err(pt.map(0x1000n, 1n << 52n, 0x1000n, RW))).toBe('ERANGE');
    expect(mem.framesInUse).toBe(1);
  });

  it('rejects IOVAs beyond the address width', () => {
    const mem = new PhysMem();
    const pt3 = new SlPageTable(mem, { levels: 3, superpages: SP });
    // 3 levels = 39 bits: the last page is 2^39 - 0x1000.
    const top = 1n << 39n;
    expect(pt3.map(top, 0x1000n, 0x1000n, RW)).toMatchObject({ ok: false, error: 'EINVAL' });
    expect(pt3.map(top - 0x1000n, 0x1000n, 0x2000n, RW)).toMatchObject({ ok: false, error: 'EINVAL' });
    expect(pt3.map(top - 0x1000n, 0x1000n, 0x1000n, RW)).toMatchObject({ ok: true, pages4k: 1 });
    expect(pt3.lookup(top)).toBeNull();
    expect(pt3.walk(top)).toEqual([]);
    // 5 levels = 57 bits: 2^57 - 0x1000 maps, 2^57 does not.
    const pt5 = new SlPageTable(mem, { levels: 5, superpages: SP });
    expect(pt5.map((1n << 57n) - 0x1000n, 0x1000n, 0x1000n, RW)).toMatchObject({ ok: true });
    expect(pt5.map(1n << 57n, 0x1000n, 0x1000n, RW)).toMatchObject({ ok: false, error: 'EINVAL' });
    // Last page of 57 bits: every index is 511, so the leaf is the last entry of its table.
    expect(pt5.lookup((1n << 57n) - 1n)).toMatchObject({ pa: 0x1fffn, level: 1 });
    expect(pt5.walk((1n << 57n) - 1n).map((s) => s.index)).toEqual([511, 511, 511, 511, 511]);
  });

  it('fails with EEXIST on any overlap and leaves the table unchanged', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 3, superpages: SP });
    pt.map(0x3000n, 0x5000n, 0x1000n, RW);
    pt.map(0x40_0000n, 0x8000_0000n, 0x20_0000n, RW); // a 2 MiB page at 4 MiB
    const before = dump(mem, pt.root, 3);
    const frames = mem.framesInUse;
    // Range 0..0x10000 would need new pages first and hits 0x3000 only at its 4th page.
    expect(pt.map(0n, 0x10_0000n, 0x10000n, RW)).toMatchObject({ ok: false, error: 'EEXIST' });
    // Inside the 2 MiB page (0x40_0000..0x5f_ffff).
    expect(pt.map(0x5f_f000n, 0x1000n, 0x1000n, RW)).toMatchObject({ ok: false, error: 'EEXIST' });
    // Starts at 0x3f_f000 (its L1 table does not exist yet) and ends inside the 2 MiB page: a
    // write-as-you-go map would have allocated that table and written the first page.
    expect(pt.map(0x3f_f000n, 0x2000n, 0x2000n, RW)).toMatchObject({ ok: false, error: 'EEXIST' });
    expect(dump(mem, pt.root, 3)).toEqual(before);
    expect(mem.framesInUse).toBe(frames);
  });

  it('does not allocate tables for a map that fails', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 4, superpages: SP });
    // 0x80_0000_0000 = L4 idx 1, all other indices 0: root + L3 + L2 + L1 tables = 4 frames.
    pt.map(0x80_0000_0000n, 0x10_0000n, 0x1000n, RW);
    expect(mem.framesInUse).toBe(4);
    // 0x7f_ffff_f000 is the last page under L4 idx 0, which has no tables yet; the range's second page
    // is the mapped one. Written page by page, this would allocate 3 tables before failing.
    expect(pt.map(0x7f_ffff_f000n, 0n, 0x2000n, RW)).toMatchObject({ ok: false, error: 'EEXIST' });
    expect(mem.framesInUse).toBe(4);
    expect(mem.read64(B)).toBe(0n);
  });

  it('picks page sizes like hardware_largepage_caps', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 4, superpages: SP });
    // 1 GiB + 2 MiB + 4 KiB, all aligned: 1 × 1 GiB, then 1 × 2 MiB, then 1 × 4 KiB.
    expect(pt.map(0x4000_0000n, 0x4000_0000n, 0x4020_1000n, RW)).toEqual({
      ok: true,
      pages4k: 1,
      pages2m: 1,
      pages1g: 1,
    });
    expect(pt.lookup(0x4000_0000n)?.level).toBe(3);
    expect(pt.lookup(0x8000_0000n)?.level).toBe(2);
    expect(pt.lookup(0x8020_0000n)?.level).toBe(1);
    // Starts 4 KiB below a 2 MiB boundary: 1 × 4 KiB at 0x1_ff000, then 2 MiB at 0x20_0000
    // (pa 0x7fdf_f000 + 0x1000 = 0x7fe0_0000, aligned too).
    expect(pt.map(0x1f_f000n, 0x7fdf_f000n, 0x20_1000n, RW)).toMatchObject({ pages4k: 1, pages2m: 1 });
    expect(pt.lookup(0x20_0000n)).toMatchObject({ level: 2, pa: 0x7fe0_0000n });
  });

  it('uses 4 KiB pages when superpages are disabled or the PA is misaligned', () => {
    const mem = new PhysMem();
    const off = new SlPageTable(mem, { levels: 3, superpages: { mib2: false, gib1: false } });
    expect(off.map(0x20_0000n, 0x20_0000n, 0x20_0000n, RW)).toMatchObject({ pages4k: 512, pages2m: 0 });
    // Tables: root B, L2 B+0x1000, L1 B+0x2000. iova 0x20_0000 → L2 idx 1 (table pointer), L1 idx 0..511.
    expect(entries(mem, [B + 0x1008, B + 0x2000, B + 0x2ff8])).toEqual([
      0x1_0000_2003n,
      0x20_0003n, // first page 0x200000 | 3
      0x3f_f003n, // last page 0x200000 + 511 × 0x1000 = 0x3ff000 | 3
    ]);
    const mem2 = new PhysMem();
    const on = new SlPageTable(mem2, { levels: 3, superpages: SP });
    // iova 2 MiB aligned but pa only 4 KiB aligned → no superpage.
    expect(on.map(0x20_0000n, 0x20_1000n, 0x20_0000n, RW)).toMatchObject({ pages4k: 512, pages2m: 0 });
    // 2 MiB allowed, 1 GiB not: a 1 GiB aligned GiB becomes 512 × 2 MiB.
    const mem3 = new PhysMem();
    const mib2Only = new SlPageTable(mem3, { levels: 3, superpages: { mib2: true, gib1: false } });
    expect(mib2Only.map(0x4000_0000n, 0x4000_0000n, 0x4000_0000n, RW)).toMatchObject({
      pages2m: 512,
      pages1g: 0,
    });
  });

  it('replaces a leftover empty table with a superpage (switch_to_super_page)', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 3, superpages: SP });
    pt.map(0x20_0000n, 0x1000n, 0x1000n, RW); // root B, L2 B+0x1000, L1 B+0x2000
    pt.unmap(0x20_0000n, 0x1000n); // L1 table not wholly covered: kept, empty
    expect(mem.framesInUse).toBe(3);
    expect(pt.map(0x20_0000n, 0x60_0000n, 0x20_0000n, RW)).toMatchObject({ pages2m: 1 });
    expect(mem.framesInUse).toBe(2); // the empty L1 table was freed
    expect(mem.read64(B + 0x1008)).toBe(0x60_0083n); // L2 idx 1 = 0x600000 | PS | R | W
  });
});

describe('SlPageTable.unmap', () => {
  it('clears exactly the PTEs in range and returns the mapped bytes', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 3, superpages: SP });
    pt.map(0x1000n, 0x11000n, 0x3000n, RW); // L1 idx 1, 2, 3 in table B+0x2000
    expect(pt.unmap(0x2000n, 0x1000n)).toBe(0x1000n);
    expect(entries(mem, [B + 0x2008, B + 0x2010, B + 0x2018])).toEqual([0x11003n, 0n, 0x13003n]);
    // Over a range with a hole: only the two remaining pages count.
    expect(pt.unmap(0n, 0x10000n)).toBe(0x2000n);
    expect(entries(mem, [B + 0x2008, B + 0x2018])).toEqual([0n, 0n]);
    expect(mem.framesInUse).toBe(3); // the range did not cover a whole table, so none is freed
    expect(pt.lookup(0x1000n)).toBeNull();
  });

  it('frees tables whose whole span is unmapped', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 3, superpages: SP });
    pt.map(0x1000n, 0x11000n, 0x1000n, RW);
    expect(mem.framesInUse).toBe(3);
    // 0..2 MiB is the whole span of the L1 table: it is freed and the L2 entry cleared.
    expect(pt.unmap(0n, 0x20_0000n)).toBe(0x1000n);
    expect(mem.framesInUse).toBe(2);
    expect(mem.read64(B + 0x1000)).toBe(0n);
    // 0..1 GiB is the whole span of the L2 table.
    expect(pt.unmap(0n, 0x4000_0000n)).toBe(0n);
    expect(mem.framesInUse).toBe(1);
    expect(mem.read64(B)).toBe(0n);
  });

  it('counts superpages and pages under freed tables', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 4, superpages: SP });
    pt.map(0x20_0000n, 0x20_0000n, 0x20_0000n, RW); // one 2 MiB leaf
    pt.map(0x40_0000n, 0x40_0000n, 0x5000n, RW); // five 4 KiB leaves
    // 2 MiB + 5 × 4 KiB = 0x200000 + 0x5000.
    expect(pt.unmap(0n, 1n << 39n)).toBe(0x20_5000n);
    expect(mem.framesInUse).toBe(1);
    pt.destroy();
    expect(mem.framesInUse).toBe(0);
  });

  it('rejects partial superpage unmaps and bad ranges, leaving the table unchanged', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 3, superpages: SP });
    pt.map(0x20_0000n, 0x20_0000n, 0x20_0000n, RW);
    pt.map(0x4000_0000n, 0x4000_0000n, 0x4000_0000n, RW);
    const before = dump(mem, pt.root, 3);
    expect(() => pt.unmap(0x20_0000n, 0x1000n)).toThrow(PageTableError);
    expect(() => pt.unmap(0x10_0000n, 0x20_0000n)).toThrow(/part of the 2 MiB page at 0x200000/);
    expect(() => pt.unmap(0n, 0x4000_1000n)).toThrow(/part of the 1 GiB page at 0x40000000/);
    expect(() => pt.unmap(0x1000n, 0n)).toThrow(/non-empty/);
    expect(() => pt.unmap(0x800n, 0x1000n)).toThrow(/aligned/);
    expect(() => pt.unmap(1n << 39n, 0x1000n)).toThrow(/39-bit/);
    expect(dump(mem, pt.root, 3)).toEqual(before);
    expect(pt.unmap(0x20_0000n, 0x20_0000n)).toBe(0x20_0000n);
    expect(mem.read64(B + 0x1008)).toBe(0n);
  });
});

describe('SlPageTable.walk', () => {
  it('stops at the first non-present entry', () => {
    const mem = new PhysMem();
    const pt = new SlPageTable(mem, { levels: 4, superpages: SP });
    pt.map(0x1000n, 0x9000n, 0x1000n, RW);
    // 0x20_0000: L4 idx 0, L3 idx 0 present; L2 idx 1 empty.
    expect(pt.walk(0x20_0000n)).toEqual([
      { level: 4, tableAddr: B, index: 0, entryAddr: B, value: 0x1_0000_1003n },
      { level: 3, tableAddr: B + 0x1000, index: 0, entryAddr: B + 0x1000, value: 0x1_0000_2003n },
      { level: 2, tableAddr: B + 0x2000, index: 1, entryAddr: B + 0x2008, value: 0n },
    ]);
    expect(pt.lookup(0x20_0000n)).toBeNull();
  });
});
