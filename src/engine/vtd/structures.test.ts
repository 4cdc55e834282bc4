import { describe, expect, it } from 'vitest';
import { PhysMem } from '../mem/phys-mem';
import {
  VtdTableBuilder,
  decodeCap,
  decodeContextEntry,
  decodeEcap,
  decodeFlPte,
  decodePasidDirEntry,
  decodePasidEntry,
  decodeRootEntry,
  decodeScalableContextEntry,
  decodeScalableRootEntry,
  decodeSlPte,
  encodeCap,
  encodeContextEntry,
  encodeEcap,
  encodePasidEntry,
  makeUnitRegs,
  mapFirstLevel,
  pasidEntry,
  readEntryWords,
  wordsToHex,
  writeContextEntry,
  writePasidDirEntry,
  writePasidEntry,
  writeRootEntry,
  writeScalableContextEntry,
  writeScalableRootEntry,
} from './structures';

// Expected words are computed by hand from the bit positions in the module header (VT-d spec layouts as
// QEMU's intel_iommu_internal.h and Linux's iommu.h / pasid.h define them). PhysMem allocates from
// B = 0x1_0000_0000 upward, one 4 KiB frame at a time.
const B = 0x1_0000_0000;

describe('CAP / ECAP', () => {
  it('encodes CAP fields at SAGAW[12:8], MGAW[21:16], SLLPS[35:34], FL1GP[56], FL5LP[60]', () => {
    // SAGAW 0b00100 << 8 = 0x400; MGAW 48 → field 47 = 0x2f << 16 = 0x2f_0000;
    // SLLPS 2M bit 34 = 0x4_0000_0000, 1G bit 35 = 0x8_0000_0000; FL1GP bit 56 = 0x0100_0000_0000_0000.
    const cap = { sagaw: 0b00100, mgaw: 48, sllps2m: true, sllps1g: true, fl1gp: true, fl5lp: false };
    expect(encodeCap(cap)).toBe(0x0100_000c_002f_0400n);
    expect(decodeCap(0x0100_000c_002f_0400n)).toEqual(cap);
  });

  it('encodes ECAP fields (Linux ecap_* bit numbers)', () => {
    // DT bit 2 = 0x4, PT bit 6 = 0x40, PSS 19 at bits 39:35 = 19·2^35 = 0x98_0000_0000,
    // PASID bit 40 = 0x100_0000_0000, SMTS bit 43 = 0x800_0000_0000, FLTS bit 47 = 0x8000_0000_0000.
    const ecap = {
      dt: true,
      pt: true,
      sc: false,
      nest: false,
      prs: false,
      ers: false,
      srs: false,
      pss: 19,
      pasid: true,
      smts: true,
      slts: false,
      flts: true,
    };
    expect(encodeEcap(ecap)).toBe(0x8998_0000_0044n);
    expect(decodeEcap(0x8998_0000_0044n)).toEqual(ecap);
  });

  it('rejects a field that does not fit', () => {
    const regs = makeUnitRegs(B, 'legacy');
    expect(() => encodeCap({ ...regs.cap, sagaw: 32 })).toThrow(/SAGAW/);
  });
});

describe('legacy root and context entries', () => {
  it('writes the root entry of bus 3 at root + 3·16 as CTP | P, upper word zero', () => {
    const mem = new PhysMem();
    const root = mem.allocFrame(); // B
    writeRootEntry(mem, root, 3, { present: true, ctp: 0x1234_5000 });
    expect(readEntryWords(mem, B + 0x30, 2)).toEqual([0x1234_5001n, 0n]);
    expect(decodeRootEntry(0x1234_5001n, 0n)).toEqual({
      present: true,
      ctp: 0x1234_5000,
      reservedLow: 0,
      hiNonZero: false,
    });
    // lo[11:1] reserved: 0x1234_5011 has bit 4 set → reservedLow 0x10.
    expect(decodeRootEntry(0x1234_5011n, 1n).reservedLow).toBe(0x10);
  });

  it('writes a context entry: lo = SLPTPTR | TT<<2 | FPD<<1 | P, hi = DID<<8 | AW', () => {
    const mem = new PhysMem();
    const ctx = mem.allocFrame();
    const e = { present: true, fpd: true, tt: 1, slptptr: 0x1234_5000, aw: 2, did: 0x42 };
    // lo = 0x1234_5000 | 1<<2 | 1<<1 | 1 = 0x1234_5007; hi = 0x42 << 8 | 2 = 0x4202.
    expect(encodeContextEntry(e)).toEqual([0x1234_5007n, 0x4202n]);
    writeContextEntry(mem, ctx, 0x0a, e); // devfn 0x0a → ctx + 0xa0
    expect(readEntryWords(mem, B + 0xa0, 2)).toEqual([0x1234_5007n, 0x4202n]);
    expect(decodeContextEntry(0x1234_5007n, 0x4202n)).toEqual({ ...e, avail: 0 });
  });

  it('refuses misaligned pointers and oversized DIDs', () => {
    const e = { present: true, fpd: false, tt: 0, slptptr: 0x1234_5800, aw: 2, did: 1 };
    expect(() => encodeContextEntry(e)).toThrow(/SLPTPTR/);
    expect(() => encodeContextEntry({ ...e, slptptr: 0x1000, did: 0x1_0000 })).toThrow(/DID/);
  });
});

describe('scalable-mode structures', () => {
  it('root entry: lower half in lo, upper half in hi, each with its present bit', () => {
    const mem = new PhysMem();
    const root = mem.allocFrame();
    writeScalableRootEntry(mem, root, 1, {
      lowerPresent: true,
      lowerCtp: 0x5000,
      upperPresent: false,
      upperCtp: 0x9000,
    });
    // bus 1 → root + 0x10: lo = 0x5000 | 1, hi = 0x9000 (present clear).
    expect(readEntryWords(mem, B + 0x10, 2)).toEqual([0x5001n, 0x9000n]);
    expect(decodeScalableRootEntry(0x5001n, 0x9000n)).toEqual({
      lowerPresent: true,
      lowerCtp: 0x5000,
      upperPresent: false,
      upperCtp: 0x9000,
    });
  });

  it('context entry (256 bit) at table + (devfn & 0x7f)·32', () => {
    const mem = new PhysMem();
    const table = mem.allocFrame();
    const e = {
      present: true,
      fpd: false,
      dte: true,
      paside: true,
      pre: true,
      pdts: 2,
      pasidDirPtr: 0xabc_d000,
      ridPasid: 0x12,
      ridPriv: true,
    };
    writeScalableContextEntry(mem, table, 0x85, e);
    // devfn 0x85 & 0x7f = 5 → offset 0xa0. val0 = 0xabcd000 | PDTS 2<<9 (0x400) | PRE 0x10 | PASIDE 8 | DTE 4 | P 1
    // = 0xabc_d41d; val1 = RID_PRIV 1<<20 | 0x12 = 0x10_0012; val2 = val3 = 0.
    expect(readEntryWords(mem, B + 0xa0, 4)).toEqual([0xabc_d41dn, 0x10_0012n, 0n, 0n]);
    expect(decodeScalableContextEntry([0xabc_d41dn, 0x10_0012n, 0n, 0n])).toEqual(e);
  });

  it('PASID directory entry at dir + PASID[19:6]·8', () => {
    const mem = new PhysMem();
    const dir = mem.allocFrame();
    writePasidDirEntry(mem, dir, 0x1234, { present: true, fpd: true, tablePtr: 0x7000 });
    // 0x1234 >> 6 = 0x48 → offset 0x240; value = 0x7000 | FPD 2 | P 1 = 0x7003.
    expect(mem.read64(B + 0x240)).toBe(0x7003n);
    expect(decodePasidDirEntry(0x7003n)).toEqual({ present: true, fpd: true, tablePtr: 0x7000 });
  });

  it('PASID entry (512 bit) at table + PASID[5:0]·64 with the pasid_set_* bit positions', () => {
    const mem = new PhysMem();
    const table = mem.allocFrame();
    const e = pasidEntry({
      pgtt: 3,
      did: 0x77,
      fpd: true,
      aw: 2,
      slptptr: 0x11_1000,
      flptptr: 0x22_2000,
      flpm: 1,
      sre: true,
      ere: true,
      wpe: true,
      eafe: true,
      ssade: true,
      pwsnp: true,
      pgsnp: true,
    });
    writePasidEntry(mem, table, 0x1234, e);
    // 0x1234 & 0x3f = 0x34 → offset 0xd00.
    // val0 = 0x11_1000 | SSADE 0x200 | PGTT 3<<6 (0xc0) | AW 2<<2 (8) | FPD 2 | P 1 = 0x11_12cb
    // val1 = PGSNP 1<<24 | PWSNP 1<<23 | DID 0x77 = 0x180_0077
    // val2 = 0x22_2000 | EAFE 0x80 | WPE 0x10 | FLPM 1<<2 (4) | ERE 2 | SRE 1 = 0x22_2097
    expect(readEntryWords(mem, B + 0xd00, 8)).toEqual([
      0x11_12cbn,
      0x180_0077n,
      0x22_2097n,
      0n,
      0n,
      0n,
      0n,
      0n,
    ]);
    expect(decodePasidEntry(encodePasidEntry(e))).toEqual(e);
  });

  it('wordsToHex prints the most significant word first', () => {
    expect(wordsToHex([0x1n, 0xabn])).toBe('0x00000000000000ab0000000000000001');
  });
});

describe('paging-entry decoders', () => {
  it('second-level: R0 W1 PS7 SNP11 TM62, address 51:12', () => {
    // 0x4000_0000_1234_5883 = TM | addr 0x1234_5000 | SNP 0x800 | PS 0x80 | W | R.
    expect(decodeSlPte(0x4000_0000_1234_5883n)).toEqual({
      r: true,
      w: true,
      ps: true,
      snp: true,
      tm: true,
      addr: 0x1234_5000,
    });
  });

  it('first-level: P RW US PWT PCD A D PS G, XD63', () => {
    // 0x8000_0000_0009_a1ff: XD | addr 0x9a000 | G 0x100 | PS 0x80 | D 0x40 | A 0x20 | PCD 0x10 | PWT 8 | US 4 | RW 2 | P 1.
    expect(decodeFlPte(0x8000_0000_0009_a1ffn)).toEqual({
      p: true,
      rw: true,
      us: true,
      pwt: true,
      pcd: true,
      a: true,
      d: true,
      ps: true,
      g: true,
      xd: true,
      addr: 0x9_a000,
    });
  });
});

describe('VtdTableBuilder', () => {
  it('legacy: allocates the context table on first use and links it from the root entry', () => {
    const mem = new PhysMem();
    const b = new VtdTableBuilder(mem, 'legacy'); // root = B
    b.setContext(0x0310, { slptptr: 0x5000, did: 9 }); // bus 3 → context table B+0x1000, devfn 0x10
    expect(mem.read64(B + 0x30)).toBe(BigInt(B + 0x1000) | 1n);
    // Defaults: present, TT 0, AW 2 → lo = 0x5001, hi = 9<<8 | 2 = 0x902.
    expect(readEntryWords(mem, B + 0x1000 + 0x100, 2)).toEqual([0x5001n, 0x902n]);
  });

  it('scalable: upper devfns get their own context table; the PASID entry gets a directory entry', () => {
    const mem = new PhysMem();
    const b = new VtdTableBuilder(mem, 'scalable'); // root = B
    const dir = b.setScalableContext(0x0085, { ridPasid: 0 }); // upper table B+0x1000, directory B+0x2000
    expect(readEntryWords(mem, B, 2)).toEqual([0n, BigInt(B + 0x1000) | 1n]);
    expect(dir).toBe(B + 0x2000);
    const pe = b.setPasidEntry(dir, 0, pasidEntry({ pgtt: 4, did: 1 })); // PASID table B+0x3000
    expect(pe).toBe(B + 0x3000);
    expect(mem.read64(B + 0x2000)).toBe(BigInt(B + 0x3000) | 1n);
    // val0 = PGTT 4<<6 (0x100) | P = 0x101.
    expect(mem.read64(B + 0x3000)).toBe(0x101n);
  });
});

describe('mapFirstLevel', () => {
  it('writes P|RW|US tables down to the leaf, PS on large pages, XD on request', () => {
    const mem = new PhysMem();
    const root = mem.allocFrame(); // B
    // iova 0x80_4020_0000: PML4 index 1 (bit 39), PDPT index 1 (bit 30), PD index 1 (bit 21).
    const leaf = mapFirstLevel(mem, root, 4, 0x80_4020_0000n, 0x4000_0000n, 2, {
      write: false,
      user: true,
      noExec: true,
    });
    // Tables: PDPT B+0x1000, PD B+0x2000; the 2 MiB leaf sits in the PD at index 1.
    expect(mem.read64(B + 8)).toBe(BigInt(B + 0x1000) | 7n);
    expect(mem.read64(B + 0x1008)).toBe(BigInt(B + 0x2000) | 7n);
    expect(leaf).toBe(B + 0x2008);
    // 0x4000_0000 | PS 0x80 | US 4 | P 1, XD bit 63.
    expect(mem.read64(leaf)).toBe(0x8000_0000_4000_0085n);
  });
});
