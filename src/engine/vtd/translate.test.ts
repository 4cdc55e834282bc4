import { describe, expect, it } from 'vitest';
import { PhysMem } from '../mem/phys-mem';
import { VtdCaches } from './iotlb';
import { SlPageTable, type SlLevels } from './sl-pagetable';
import {
  PGTT_FL,
  PGTT_NESTED,
  PGTT_PT,
  PGTT_SL,
  VtdTableBuilder,
  makeUnitRegs,
  mapFirstLevel,
  pasidEntry,
  writeRootEntry,
  type PasidEntryInit,
  type ScalableContextEntry,
  type VtdCap,
  type VtdEcap,
  type ContextEntry,
} from './structures';
import {
  ACCESS_ATOMIC,
  ACCESS_READ,
  ACCESS_WRITE,
  AT_TRANSLATED,
  AT_TRANSLATION_REQUEST,
  STAGE_CONTEXT,
  STAGE_FIRST_LEVEL,
  STAGE_INTERRUPT_WINDOW,
  STAGE_PASID_DIR,
  STAGE_PASID_ENTRY,
  STAGE_REQUEST,
  STAGE_ROOT,
  STAGE_SECOND_LEVEL,
  STATUS_FAULT,
  STATUS_INTERRUPT,
  STATUS_OK,
  VtdTranslator,
  createRequest,
  createResult,
  isQualifiedFault,
  walkDetailed,
  type DmaRequest,
  type FaultProfile,
  type TranslateResult,
} from './translate';

// How expected values are computed (by hand):
// - PhysMem allocates 4 KiB frames from B = 0x1_0000_0000 upward, in allocation order.
// - Test IOVAs set one bit per level so every table index is 1: L1 2^12, L2 2^21, L3 2^30, L4 2^39, L5 2^48.
// - Expected physical addresses are the mapped PA plus the offset of the address within its page.
// - Fault reasons come from the VT-d spec / Linux dma_remap_*fault_reasons tables (reference §2.1, §2.2) for the
//   condition each test constructs, and from reference §12 for the 'qemu-7.2' profile.
const B = 0x1_0000_0000;
const TWO32 = 2 ** 32;
const SID = 0x0310; // bus 3, device 2, function 0
const UNBACKED = 0x7000_0000; // 4 KiB aligned, below B: never backed

const at = (a: number): Pick<DmaRequest, 'addrHi' | 'addrLo'> => ({
  addrHi: Math.floor(a / TWO32),
  addrLo: a % TWO32,
});
const paOf = (r: TranslateResult): number => r.paHi * TWO32 + r.paLo;

function xl(tr: VtdTranslator, init: Partial<DmaRequest>): TranslateResult {
  const out = createResult();
  tr.translate(createRequest({ sid: SID, ...init }), out);
  return out;
}

interface RegOverrides {
  haw?: number;
  cap?: Partial<VtdCap>;
  ecap?: Partial<VtdEcap>;
}

function legacy(
  o: {
    levels?: SlLevels;
    regs?: RegOverrides;
    profile?: FaultProfile;
    ctx?: Partial<ContextEntry>;
    snoop?: boolean;
    caches?: VtdCaches;
  } = {},
) {
  const levels = o.levels ?? 4;
  const mem = new PhysMem();
  const b = new VtdTableBuilder(mem, 'legacy'); // B
  const pt = new SlPageTable(mem, { levels, superpages: { mib2: true, gib1: true }, snoop: o.snoop }); // B+0x1000
  b.setContext(SID, { slptptr: pt.root, did: 5, aw: levels - 2, ...o.ctx }); // context table B+0x2000
  const regs = makeUnitRegs(b.rootTable, 'legacy', o.regs);
  const mk = (profile: FaultProfile = o.profile ?? 'vtd-spec', caches: VtdCaches | null = o.caches ?? null) =>
    new VtdTranslator(mem, regs, { profile, caches });
  return { mem, b, pt, regs, tr: mk(), mk };
}

const RW = { read: true, write: true };
const RO = { read: true, write: false };

describe('legacy mode: second-level walks', () => {
  const cases: { levels: SlLevels; iova: number; pa: number; size: number; addr: number; level: number }[] = [
    // 3 levels, 4 KiB: iova L3+L2+L1 = 0x4020_1000; 0x4020_1abc → 0x1234_5000 + 0xabc.
    { levels: 3, iova: 0x4020_1000, pa: 0x1234_5000, size: 0x1000, addr: 0x4020_1abc, level: 1 },
    // 4 levels, 4 KiB: iova L4+L3+L2+L1 = 0x80_4020_1000.
    { levels: 4, iova: 0x80_4020_1000, pa: 0x2_0000_3000, size: 0x1000, addr: 0x80_4020_1010, level: 1 },
    // 5 levels, 4 KiB: iova 2^48 + 2^39 + 2^30 + 2^21 + 2^12 = 0x1_0080_4020_1000.
    {
      levels: 5,
      iova: 0x1_0080_4020_1000,
      pa: 0x3_0000_0000,
      size: 0x1000,
      addr: 0x1_0080_4020_1ff8,
      level: 1,
    },
    // 2 MiB page at iova 0x80_4020_0000 → pa 0x7fe0_0000; 0x80_4021_2345 is offset 0x1_2345.
    { levels: 4, iova: 0x80_4020_0000, pa: 0x7fe0_0000, size: 0x20_0000, addr: 0x80_4021_2345, level: 2 },
    // 1 GiB page at iova 0x80_4000_0000 → pa 0x1_4000_0000; 0x80_4123_4567 is offset 0x123_4567.
    { levels: 4, iova: 0x80_4000_0000, pa: 0x1_4000_0000, size: 0x4000_0000, addr: 0x80_4123_4567, level: 3 },
  ];
  for (const c of cases) {
    it(`${c.levels} levels, leaf at level ${c.level}`, () => {
      const { pt, tr } = legacy({ levels: c.levels });
      expect(pt.map(BigInt(c.iova), BigInt(c.pa), BigInt(c.size), RW).ok).toBe(true);
      const r = xl(tr, { ...at(c.addr), access: ACCESS_WRITE });
      expect(r.status).toBe(STATUS_OK);
      expect(paOf(r)).toBe(c.pa + (c.addr - c.iova));
      expect(r.level).toBe(c.level);
      expect(r.pageShift).toBe(12 + 9 * (c.level - 1));
      expect(r.perms).toBe(1 | 2 | 8); // R | W | U (second level has no privilege check)
      expect(r.did).toBe(5);
      expect(r.pasid).toBe(-1);
    });
  }

  it('ANDs permissions across levels: a read-only leaf under R/W tables gives perms R (| U)', () => {
    const { pt, tr } = legacy();
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RO);
    expect(xl(tr, at(0x80_4020_1000)).perms).toBe(1 | 8);
  });

  it('pass-through (TT=10): identity, 4 KiB granule, R/W', () => {
    const { tr } = legacy({ ctx: { tt: 2 } });
    const r = xl(tr, { ...at(0x1234_5678), access: ACCESS_WRITE });
    expect([r.status, paOf(r), r.level, r.perms, r.pgtt]).toEqual([
      STATUS_OK,
      0x1234_5678,
      1,
      1 | 2 | 8,
      PGTT_PT,
    ]);
  });
});

describe('legacy mode: every fault reason the tables can cause', () => {
  const fault = (r: TranslateResult, reason: number, stage: number) => {
    expect(r.status).toBe(STATUS_FAULT);
    expect(`0x${r.reason.toString(16)}/${r.stage}`).toBe(`0x${reason.toString(16)}/${stage}`);
  };

  it('0x1: root entry not present (bus 5 never programmed); entry = root + 5·16', () => {
    const { tr } = legacy();
    const r = xl(tr, { sid: 0x0500 });
    fault(r, 0x1, STAGE_ROOT);
    expect(r.entryAddr).toBe(B + 0x50);
  });

  it('0x8: root table address in unbacked memory', () => {
    const { mem } = legacy();
    const tr = new VtdTranslator(mem, makeUnitRegs(UNBACKED, 'legacy'));
    fault(xl(tr, {}), 0x8, STAGE_ROOT);
  });

  it('0xA: reserved bits in the root entry (lo bit 4, or a non-zero upper word)', () => {
    const a = legacy();
    a.mem.write64Big(B + 0x30, a.mem.read64(B + 0x30) | 0x10n);
    fault(xl(a.tr, {}), 0xa, STAGE_ROOT);
    const b = legacy();
    b.mem.write64Big(B + 0x38, 1n);
    fault(xl(b.tr, {}), 0xa, STAGE_ROOT);
  });

  it('0x9: context-table pointer into unbacked memory', () => {
    const { mem, tr } = legacy();
    writeRootEntry(mem, B, 6, { present: true, ctp: UNBACKED });
    fault(xl(tr, { sid: 0x0600 }), 0x9, STAGE_CONTEXT);
  });

  it('0x2: context entry not present; FPD is reported even with P = 0', () => {
    const { mem, tr } = legacy();
    const r = xl(tr, { sid: 0x0318 }); // devfn 0x18 of bus 3: entry B+0x2000+0x180 is zero
    fault(r, 0x2, STAGE_CONTEXT);
    expect([r.entryAddr, r.fpd]).toEqual([B + 0x2180, 0]);
    mem.write64Big(B + 0x2180, 2n); // FPD only
    expect(xl(tr, { sid: 0x0318 }).fpd).toBe(1);
  });

  it('0xB: reserved bits in the context entry (hi bit 7, lo bit 4)', () => {
    const a = legacy();
    a.mem.write64Big(B + 0x2108, a.mem.read64(B + 0x2108) | 0x80n); // SID devfn 0x10 → entry B+0x2100
    fault(xl(a.tr, {}), 0xb, STAGE_CONTEXT);
    const b = legacy();
    b.mem.write64Big(B + 0x2100, b.mem.read64(B + 0x2100) | 0x10n);
    fault(xl(b.tr, {}), 0xb, STAGE_CONTEXT);
  });

  it('0x3: AW not in SAGAW, TT=11, TT=01 without ECAP.DT, TT=10 without ECAP.PT', () => {
    fault(xl(legacy({ levels: 5, regs: { cap: { sagaw: 0b00110 } } }).tr, {}), 0x3, STAGE_CONTEXT);
    fault(xl(legacy({ ctx: { tt: 3 } }).tr, {}), 0x3, STAGE_CONTEXT);
    fault(xl(legacy({ ctx: { tt: 1 }, regs: { ecap: { dt: false } } }).tr, {}), 0x3, STAGE_CONTEXT);
    fault(xl(legacy({ ctx: { tt: 2 }, regs: { ecap: { pt: false } } }).tr, {}), 0x3, STAGE_CONTEXT);
  });

  it('0x3: the top-level table is unreadable; 0x7: a lower-level table is unreadable', () => {
    const top = legacy({ ctx: { slptptr: UNBACKED } });
    const r = xl(top.tr, at(0x80_4020_1000));
    fault(r, 0x3, STAGE_SECOND_LEVEL);
    expect(r.entryAddr).toBe(UNBACKED + 8); // level-4 index 1
    const low = legacy();
    low.mem.write64Big(low.pt.root + 8, BigInt(UNBACKED) | 3n); // level-4 entry 1 → unbacked level-3 table
    fault(xl(low.tr, at(0x80_4020_1000)), 0x7, STAGE_SECOND_LEVEL);
  });

  it('0x4: address at or beyond 2^min(AGAW, MGAW)', () => {
    fault(xl(legacy({ levels: 3 }).tr, at(2 ** 39)), 0x4, STAGE_SECOND_LEVEL); // AGAW 39
    const narrow = legacy({ regs: { cap: { mgaw: 40 } } }); // 4 levels (48) but MGAW 40
    fault(xl(narrow.tr, at(2 ** 40)), 0x4, STAGE_SECOND_LEVEL);
    fault(xl(narrow.tr, at(2 ** 40 - 0x1000)), 0x6, STAGE_SECOND_LEVEL); // inside: just not mapped
  });

  it('0x5 / 0x6: permission faults, and a non-present entry reports as the access it lacks', () => {
    const { pt, tr } = legacy();
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RO);
    pt.map(0x80_4020_2000n, 0x6000n, 0x1000n, { read: false, write: true });
    fault(xl(tr, { ...at(0x80_4020_1000), access: ACCESS_WRITE }), 0x5, STAGE_SECOND_LEVEL);
    fault(xl(tr, { ...at(0x80_4020_2000), access: ACCESS_READ }), 0x6, STAGE_SECOND_LEVEL);
    fault(xl(tr, { ...at(0x80_4020_2000), access: ACCESS_ATOMIC }), 0x6, STAGE_SECOND_LEVEL); // atomic needs R and W
    fault(xl(tr, { ...at(0x80_4020_3000), access: ACCESS_READ }), 0x6, STAGE_SECOND_LEVEL);
    fault(xl(tr, { ...at(0x80_4020_3000), access: ACCESS_WRITE }), 0x5, STAGE_SECOND_LEVEL);
  });

  it('0xC: SNP without snoop control, PS at level 4, 2 MiB without SLLPS, address bits above HAW', () => {
    const snp = legacy({ snoop: true, regs: { ecap: { sc: false, smts: false } } });
    snp.pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    fault(xl(snp.tr, at(0x80_4020_1000)), 0xc, STAGE_SECOND_LEVEL);
    const snpOk = legacy({ snoop: true, regs: { ecap: { sc: true, smts: false } } });
    snpOk.pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    expect(xl(snpOk.tr, at(0x80_4020_1000)).status).toBe(STATUS_OK);

    const ps = legacy();
    ps.pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    ps.mem.write64Big(ps.pt.root + 8, ps.mem.read64(ps.pt.root + 8) | 0x80n);
    fault(xl(ps.tr, at(0x80_4020_1000)), 0xc, STAGE_SECOND_LEVEL);

    const no2m = legacy({ regs: { cap: { sllps2m: false } } });
    no2m.pt.map(0x80_4020_0000n, 0x20_0000n, 0x20_0000n, RW); // the table writes a 2 MiB leaf
    fault(xl(no2m.tr, at(0x80_4020_0000)), 0xc, STAGE_SECOND_LEVEL);

    const haw = legacy({ regs: { haw: 39 } });
    haw.pt.map(0x80_4020_1000n, 0x80_0000_0000n, 0x1000n, RW); // leaf address bit 39 ≥ HAW
    fault(xl(haw.tr, at(0x80_4020_1000)), 0xc, STAGE_SECOND_LEVEL);
  });

  it('checks permission before reserved bits (QEMU order): R=W=0 plus SNP reads as 0x6', () => {
    const { mem, pt, tr } = legacy({ regs: { ecap: { sc: false, smts: false } } });
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    const leaf = pt.lookup(0x80_4020_1000n)!.pteAddr;
    mem.write64Big(leaf, 0x5800n); // address 0x5000 | SNP, R = W = 0
    fault(xl(tr, at(0x80_4020_1000)), 0x6, STAGE_SECOND_LEVEL);
  });

  it('0xD: translation request with TT ≠ 01; translated requests need TT = 01 and pass untranslated', () => {
    const { pt, tr } = legacy();
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    fault(xl(tr, { ...at(0x80_4020_1000), at: AT_TRANSLATION_REQUEST }), 0xd, STAGE_CONTEXT);
    fault(xl(tr, { ...at(0x9000), at: AT_TRANSLATED }), 0xd, STAGE_CONTEXT);
    // QEMU has no translated-request check in legacy mode: AT=2 is walked like AT=0 (0x9000 is unmapped → 0x6).
    expect(xl(legacy().mk('qemu-7.2'), { ...at(0x9000), at: AT_TRANSLATED }).reason).toBe(0x6);
    const dt = legacy({ ctx: { tt: 1 } });
    dt.pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    expect(paOf(xl(dt.tr, { ...at(0x80_4020_1000), at: AT_TRANSLATION_REQUEST }))).toBe(0x5000);
    const t = xl(dt.tr, { ...at(0x9_1234), at: AT_TRANSLATED });
    expect([t.status, paOf(t)]).toEqual([STATUS_OK, 0x9_1234]);
  });

  it('0xE: output page in the interrupt window (QEMU reports 0x87 when the unit supports scalable mode)', () => {
    const { pt, tr, mk } = legacy({ regs: { ecap: { smts: false } } });
    pt.map(0x80_4020_1000n, 0xfee0_0000n, 0x1000n, RW);
    const r = xl(tr, at(0x80_4020_1000));
    fault(r, 0xe, STAGE_INTERRUPT_WINDOW);
    expect(r.entryAddr).toBe(pt.lookup(0x80_4020_1000n)!.pteAddr);
    fault(xl(mk('qemu-7.2'), at(0x80_4020_1000)), 0xe, STAGE_INTERRUPT_WINDOW);
    const sm = legacy({ regs: { ecap: { smts: true } } });
    sm.pt.map(0x80_4020_1000n, 0xfee0_0000n, 0x1000n, RW);
    fault(xl(sm.mk('qemu-7.2'), at(0x80_4020_1000)), 0x87, STAGE_INTERRUPT_WINDOW);
    fault(xl(sm.tr, at(0x80_4020_1000)), 0xe, STAGE_INTERRUPT_WINDOW);
  });

  it('an IOVA in 0xFEEx_xxxx without PASID is an interrupt request, not DMA', () => {
    const r = xl(legacy().tr, at(0xfee0_1000));
    expect([r.status, r.stage]).toEqual([STATUS_INTERRUPT, STAGE_INTERRUPT_WINDOW]);
  });

  it('a request with PASID in legacy mode: 0x31 under the spec, ignored by QEMU', () => {
    const { pt, tr, mk } = legacy();
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    const r = xl(tr, { ...at(0x80_4020_1000), pasidPresent: 1, pasid: 3 });
    expect([r.reason, r.stage]).toEqual([0x31, STAGE_REQUEST]);
    expect(paOf(xl(mk('qemu-7.2'), { ...at(0x80_4020_1000), pasidPresent: 1, pasid: 3 }))).toBe(0x5000);
  });

  it('reports the context FPD with the fault; qualified faults are the ones FPD suppresses', () => {
    const r = xl(legacy({ ctx: { fpd: true } }).tr, at(0x80_4020_1000));
    expect([r.reason, r.fpd]).toEqual([0x6, 1]);
    expect([0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0xc, 0xd, 0xe].every(isQualifiedFault)).toBe(true);
    expect([0x1, 0x8, 0x9, 0xa, 0xb, 0x50, 0x58].some(isQualifiedFault)).toBe(false);
  });
});

describe('multi-page requests', () => {
  it('checks every page touched and reports the first faulting page', () => {
    const { pt, tr } = legacy();
    pt.map(0x80_4020_0000n, 0x5000n, 0x1000n, RW); // page 0 → 0x5000
    pt.map(0x80_4020_1000n, 0x9000n, 0x1000n, RO); // page 1 → 0x9000 (read only); page 2 unmapped
    const ok = xl(tr, { ...at(0x80_4020_0ff0), len: 0x20 }); // bytes in pages 0 and 1
    expect([ok.status, paOf(ok)]).toEqual([STATUS_OK, 0x5ff0]);
    const w = xl(tr, { ...at(0x80_4020_0ff0), len: 0x20, access: ACCESS_WRITE }); // page 1 is read-only
    expect([w.reason, w.faultAddrHi * TWO32 + w.faultAddrLo]).toEqual([0x5, 0x80_4020_1000]);
    const r = xl(tr, { ...at(0x80_4020_0800), len: 0x2000 }); // pages 0, 1, 2
    expect([r.reason, r.faultAddrHi * TWO32 + r.faultAddrLo]).toEqual([0x6, 0x80_4020_2000]);
  });

  it('steps leaf by leaf across a 2 MiB page into the next 4 KiB page', () => {
    const { pt, tr } = legacy();
    pt.map(0x80_4000_0000n, 0x20_0000n, 0x20_0000n, RW); // 2 MiB leaf
    pt.map(0x80_4020_0000n, 0x5000n, 0x1000n, RW); // next page, 4 KiB
    const r = xl(tr, { ...at(0x80_401f_fff0), len: 0x20 });
    expect([r.status, paOf(r), r.level]).toEqual([STATUS_OK, 0x3f_fff0, 2]);
  });
});

// ---------------------------------------------------------------------------------------------------

const PASID = 0x45; // directory index 1 (0x45 >> 6), table index 5

function scalable(
  o: {
    profile?: FaultProfile;
    regs?: RegOverrides;
    ctx?: Partial<ScalableContextEntry>;
    rid?: Partial<PasidEntryInit>;
    caches?: VtdCaches;
  } = {},
) {
  const mem = new PhysMem();
  const b = new VtdTableBuilder(mem, 'scalable'); // B
  const dir = b.setScalableContext(SID, { ridPasid: 0, dte: true, ...o.ctx }); // ctx B+0x1000, dir B+0x2000
  const sl = new SlPageTable(mem, { levels: 4, superpages: { mib2: true, gib1: true } }); // B+0x3000
  const ridEntry = b.setPasidEntry(
    dir,
    0,
    pasidEntry({ pgtt: PGTT_SL, did: 7, aw: 2, slptptr: sl.root, ...o.rid }),
  );
  const regs = makeUnitRegs(b.rootTable, 'scalable', o.regs);
  const mk = (profile: FaultProfile = o.profile ?? 'vtd-spec', caches: VtdCaches | null = o.caches ?? null) =>
    new VtdTranslator(mem, regs, { profile, caches });
  return { mem, b, dir, sl, ridEntry, regs, tr: mk(), mk };
}

describe('scalable mode: root, context, PASID directory and entry', () => {
  it('translates a request without PASID through RID_PASID (second level)', () => {
    const { sl, tr } = scalable();
    sl.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    const r = xl(tr, at(0x80_4020_1234));
    expect([r.status, paOf(r), r.did, r.pasid, r.pgtt]).toEqual([STATUS_OK, 0x5234, 7, 0, PGTT_SL]);
  });

  const both = (
    make: (p: FaultProfile) => VtdTranslator,
    req: Partial<DmaRequest>,
    spec: number,
    qemu: number,
    stage: number,
  ) => {
    const s = xl(make('vtd-spec'), req);
    const q = xl(make('qemu-7.2'), req);
    expect([s.status, `0x${s.reason.toString(16)}`, s.stage]).toEqual([
      STATUS_FAULT,
      `0x${spec.toString(16)}`,
      stage,
    ]);
    expect([q.status, `0x${q.reason.toString(16)}`, q.stage]).toEqual([
      STATUS_FAULT,
      `0x${qemu.toString(16)}`,
      stage,
    ]);
  };

  it('root entry: not present 0x39 (QEMU 0x1), upper half used for devfn ≥ 0x80, reserved 0x3A (0xA), unreadable 0x38 (0x8)', () => {
    const s = scalable();
    both(s.mk, { sid: 0x0500 }, 0x39, 0x1, STAGE_ROOT);
    both(s.mk, { sid: 0x0390 }, 0x39, 0x1, STAGE_ROOT); // bus 3 upper half never set
    s.mem.write64Big(B + 0x30, s.mem.read64(B + 0x30) | 0x100n);
    both(s.mk, {}, 0x3a, 0xa, STAGE_ROOT);
    const u = scalable();
    both(
      (p) => new VtdTranslator(u.mem, makeUnitRegs(UNBACKED, 'scalable'), { profile: p }),
      {},
      0x38,
      0x8,
      STAGE_ROOT,
    );
  });

  it('context entry: not present 0x41 (0x2), reserved 0x42 (0xB), unreadable 0x40 (0x9)', () => {
    const s = scalable();
    both(s.mk, { sid: 0x0318 }, 0x41, 0x2, STAGE_CONTEXT); // devfn 0x18: B+0x1000+0x18·32 is zero
    s.mem.write64Big(B + 0x1000 + 0x10 * 32 + 16, 1n); // val2 of SID's entry must be zero
    both(s.mk, {}, 0x42, 0xb, STAGE_CONTEXT);
    const u = scalable();
    u.mem.write64Big(B + 0x30, BigInt(UNBACKED) | 1n);
    both(u.mk, {}, 0x40, 0x9, STAGE_CONTEXT);
  });

  it('context checks QEMU does not make: PASIDE 0x45, DTE 0x44, PASID beyond PDTS 0x46', () => {
    const s = scalable({ ctx: { paside: false, dte: false } });
    expect(xl(s.tr, { pasidPresent: 1, pasid: PASID }).reason).toBe(0x45);
    expect(xl(s.tr, { at: AT_TRANSLATION_REQUEST }).reason).toBe(0x44);
    // PDTS 0: 2^7 = 128 directory entries → PASIDs below 128·64 = 8192.
    const p = scalable();
    expect(xl(p.tr, { pasidPresent: 1, pasid: 8192 }).reason).toBe(0x46);
    expect(xl(p.tr, { pasidPresent: 1, pasid: 8191 }).reason).toBe(0x51); // directory entry 127 not present
  });

  it('PASID directory entry: not present 0x51, reserved 0x52, unreadable 0x50 (QEMU 0x58 for all)', () => {
    const s = scalable();
    both(s.mk, { pasidPresent: 1, pasid: PASID }, 0x51, 0x58, STAGE_PASID_DIR);
    const r = scalable();
    r.mem.write64Big(r.dir, r.mem.read64(r.dir) | 0x4n); // bit 2 reserved
    expect(xl(r.tr, {}).reason).toBe(0x52);
    const u = scalable();
    const ce = B + 0x1000 + 0x10 * 32; // SID's scalable context entry: PASIDDIRPTR → unbacked memory
    u.mem.write64Big(ce, (u.mem.read64(ce) & 0xfffn) | BigInt(UNBACKED));
    both(u.mk, {}, 0x50, 0x58, STAGE_PASID_DIR);
  });

  it('PASID directory FPD: honoured under the spec, ignored by QEMU 7.2', () => {
    const { mem, dir, mk } = scalable();
    mem.write64Big(dir + 8, 2n); // directory entry 1: FPD, not present
    const s = xl(mk('vtd-spec'), { pasidPresent: 1, pasid: PASID });
    const q = xl(mk('qemu-7.2'), { pasidPresent: 1, pasid: PASID });
    expect([s.reason, s.fpd, q.reason, q.fpd]).toEqual([0x51, 1, 0x58, 0]);
  });

  it('PASID entry: not present 0x59, reserved 0x5A, invalid PGTT or levels 0x5B (QEMU 0x58)', () => {
    const s = scalable({ rid: { present: false } });
    both(s.mk, {}, 0x59, 0x58, STAGE_PASID_ENTRY);
    const rsv = scalable();
    rsv.mem.write64Big(rsv.ridEntry + 32, 1n); // bits 256+ reserved
    expect(xl(rsv.tr, {}).reason).toBe(0x5a);
    both(scalable({ rid: { pgtt: 5 } }).mk, {}, 0x5b, 0x58, STAGE_PASID_ENTRY);
    both(scalable({ rid: { aw: 4 } }).mk, {}, 0x5b, 0x58, STAGE_PASID_ENTRY); // 6 levels: SAGAW bit 4 clear
    // FLPM 1 (5-level first level) without CAP.FL5LP; QEMU accepts only 4-level first-level tables.
    both(
      scalable({ rid: { pgtt: PGTT_FL, flpm: 1 }, regs: { cap: { fl5lp: false } } }).mk,
      {},
      0x5b,
      0x58,
      STAGE_PASID_ENTRY,
    );
    both(
      scalable({ rid: { pgtt: PGTT_SL }, regs: { ecap: { slts: false } } }).mk,
      {},
      0x5b,
      0x58,
      STAGE_PASID_ENTRY,
    );
  });

  it('supervisor request needs SRE (0x5D), execute request needs ERE (0x5C)', () => {
    const s = scalable();
    expect(xl(s.tr, { priv: 1 }).reason).toBe(0x5d);
    expect(xl(s.tr, { exec: 1 }).reason).toBe(0x5c);
  });

  it('pass-through PGTT: identity; with PASID the interrupt window is blocked with 0x87', () => {
    const s = scalable({ rid: { pgtt: PGTT_PT } });
    s.b.setPasidEntry(s.dir, PASID, pasidEntry({ pgtt: PGTT_PT, did: 1 }));
    const r = xl(s.tr, { ...at(0x1234_5678), access: ACCESS_WRITE });
    expect([r.status, paOf(r), r.pgtt]).toEqual([STATUS_OK, 0x1234_5678, PGTT_PT]);
    const w = xl(s.tr, { ...at(0xfee0_0000), pasidPresent: 1, pasid: PASID });
    expect([w.reason, w.stage]).toEqual([0x87, STAGE_INTERRUPT_WINDOW]);
    expect(xl(s.tr, at(0xfee0_0000)).status).toBe(STATUS_INTERRUPT);
  });

  it('AT: QEMU passes translated requests without PASID and refuses them with PASID (no record)', () => {
    const { mk } = scalable();
    const q = mk('qemu-7.2');
    const a = xl(q, { ...at(0x9_8000), at: AT_TRANSLATED });
    expect([a.status, paOf(a)]).toEqual([STATUS_OK, 0x9_8000]);
    const b = xl(q, { ...at(0x9_8000), at: AT_TRANSLATED, pasidPresent: 1, pasid: PASID });
    expect([b.status, b.reason, b.noRecord, b.stage]).toEqual([STATUS_FAULT, 0, 1, STAGE_REQUEST]);
    const s = xl(mk('vtd-spec'), { ...at(0x9_8000), at: AT_TRANSLATED }); // DTE = 1 in this context
    expect([s.status, paOf(s)]).toEqual([STATUS_OK, 0x9_8000]);
  });
});

describe('scalable mode: second-level faults (spec codes, QEMU legacy codes)', () => {
  it('not present 0x79 (0x6/0x5), no write 0x85 (0x5), reserved 0x7A (0xC), beyond width 0x83 (0x4)', () => {
    const s = scalable();
    s.sl.map(0x80_4020_1000n, 0x5000n, 0x1000n, RO);
    const sl = (req: Partial<DmaRequest>, spec: number, qemu: number) => {
      expect([xl(s.mk('vtd-spec'), req).reason, xl(s.mk('qemu-7.2'), req).reason]).toEqual([spec, qemu]);
    };
    sl(at(0x80_4020_2000), 0x79, 0x6);
    sl({ ...at(0x80_4020_2000), access: ACCESS_WRITE }, 0x79, 0x5);
    sl({ ...at(0x80_4020_1000), access: ACCESS_WRITE }, 0x85, 0x5);
    sl(at(2 ** 48), 0x83, 0x4);
    s.mem.write64Big(s.sl.root + 8, s.mem.read64(s.sl.root + 8) | 0x80n); // PS at level 4
    sl(at(0x80_4020_1000), 0x7a, 0xc);
  });

  it('unreadable tables: top 0x7B (QEMU 0x3), lower 0x78 (0x7)', () => {
    const top = scalable({ rid: { slptptr: UNBACKED } });
    expect([xl(top.mk('vtd-spec'), {}).reason, xl(top.mk('qemu-7.2'), {}).reason]).toEqual([0x7b, 0x3]);
    const low = scalable();
    low.mem.write64Big(low.sl.root, BigInt(UNBACKED) | 3n); // level-4 entry 0
    expect([xl(low.mk('vtd-spec'), {}).reason, xl(low.mk('qemu-7.2'), {}).reason]).toEqual([0x78, 0x7]);
  });

  it('output in the interrupt window: 0x87 in both profiles', () => {
    const s = scalable();
    s.sl.map(0x80_4020_1000n, 0xfee0_0000n, 0x1000n, RW);
    expect([
      xl(s.mk('vtd-spec'), at(0x80_4020_1000)).reason,
      xl(s.mk('qemu-7.2'), at(0x80_4020_1000)).reason,
    ]).toEqual([0x87, 0x87]);
  });
});

describe('scalable mode: first-level walks', () => {
  function fl(
    levels: 4 | 5 = 4,
    o: { regs?: RegOverrides; profile?: FaultProfile; rid?: Partial<PasidEntryInit> } = {},
  ) {
    const s = scalable({ regs: o.regs, profile: o.profile });
    const root = s.mem.allocFrame();
    s.b.setPasidEntry(
      s.dir,
      PASID,
      pasidEntry({ pgtt: PGTT_FL, did: 9, flptptr: root, flpm: levels - 4, sre: true, ere: true, ...o.rid }),
    );
    const req = (a: number, more: Partial<DmaRequest> = {}): Partial<DmaRequest> => ({
      ...at(a),
      pasidPresent: 1,
      pasid: PASID,
      ...more,
    });
    return { ...s, root, req };
  }

  it('4-level 4 KiB, 2 MiB, 1 GiB pages and a 5-level walk', () => {
    const f = fl();
    mapFirstLevel(f.mem, f.root, 4, 0x80_4020_1000n, 0x1234_5000n, 1, { write: true, user: true });
    mapFirstLevel(f.mem, f.root, 4, 0x100_0000_0000n, 0x4020_0000n, 2, { write: true, user: true });
    mapFirstLevel(f.mem, f.root, 4, 0x180_0000_0000n, 0x1_4000_0000n, 3, { write: true, user: true });
    const a = xl(f.tr, f.req(0x80_4020_1abc));
    expect([paOf(a), a.level, a.did, a.pgtt]).toEqual([0x1234_5abc, 1, 9, PGTT_FL]);
    const b = xl(f.tr, f.req(0x100_0012_3456)); // offset 0x12_3456 in the 2 MiB page
    expect([paOf(b), b.level]).toEqual([0x4032_3456, 2]);
    const c = xl(f.tr, f.req(0x180_1234_5678)); // offset 0x1234_5678 in the 1 GiB page
    expect([paOf(c), c.level]).toEqual([0x1_5234_5678, 3]);
    const f5 = fl(5);
    mapFirstLevel(f5.mem, f5.root, 5, 0x1_0080_4020_1000n, 0x7000n, 1, { write: false, user: true });
    const d = xl(f5.tr, f5.req(0x1_0080_4020_1008));
    expect([paOf(d), d.perms]).toEqual([0x7008, 1 | 4 | 8]); // R, X (no XD), U (U/S = 1 at every level)
  });

  it('canonical rule: bit 47 must be copied into 63:48 (4-level), bit 56 into 63:57 (5-level) → 0x80', () => {
    const f = fl();
    expect(xl(f.tr, f.req(0x8000_0000_0000)).reason).toBe(0x80);
    // 0xffff_8000_0000_0000 is canonical: the walk runs and finds PML4 entry 256 not present (0x71).
    expect(xl(f.tr, { addrHi: 0xffff_8000, addrLo: 0, pasidPresent: 1, pasid: PASID }).reason).toBe(0x71);
    const f5 = fl(5);
    expect(xl(f5.tr, f5.req(2 ** 56)).reason).toBe(0x80);
    expect(xl(f5.tr, f5.req(2 ** 48)).reason).toBe(0x71); // canonical for 57 bits
  });

  it('P=0 0x71, unreadable root 0x73, unreadable lower table 0x70, reserved 0x72', () => {
    const f = fl();
    expect(xl(f.tr, f.req(0x1000)).reason).toBe(0x71);
    expect(xl(fl(4, { rid: { flptptr: UNBACKED } }).tr, f.req(0x1000)).reason).toBe(0x73);
    f.mem.write64Big(f.root, BigInt(UNBACKED) | 7n);
    expect(xl(f.tr, f.req(0x1000)).reason).toBe(0x70);
    const r = fl();
    mapFirstLevel(r.mem, r.root, 4, 0x1000n, 0x5000n, 1, { write: true, user: true });
    r.mem.write64Big(r.root, r.mem.read64(r.root) | 0x80n); // PS in a PML4 entry
    expect(xl(r.tr, r.req(0x1000)).reason).toBe(0x72);
  });

  it('U/S: user requests need U/S=1 (0x81); supervisor requests with SRE do not, except under QEMU', () => {
    const f = fl();
    mapFirstLevel(f.mem, f.root, 4, 0x1000n, 0x5000n, 1, { write: true, user: false });
    expect(xl(f.tr, f.req(0x1000)).reason).toBe(0x81);
    expect(xl(f.tr, f.req(0x1000, { priv: 1 })).status).toBe(STATUS_OK);
    expect(xl(f.mk('qemu-7.2'), f.req(0x1000, { priv: 1 })).reason).toBe(0x81);
  });

  it('R/W: writes and atomics to R/W=0 → 0x85; XD with an execute request → 0x82', () => {
    const f = fl();
    mapFirstLevel(f.mem, f.root, 4, 0x1000n, 0x5000n, 1, { write: false, user: true, noExec: true });
    expect(xl(f.tr, f.req(0x1000, { access: ACCESS_WRITE })).reason).toBe(0x85);
    expect(xl(f.tr, f.req(0x1000, { access: ACCESS_ATOMIC })).reason).toBe(0x85);
    expect(xl(f.tr, f.req(0x1000, { exec: 1 })).reason).toBe(0x82);
    const r = xl(f.tr, f.req(0x1000));
    expect([r.status, r.perms]).toEqual([STATUS_OK, 1 | 8]); // R, U; no W (R/W = 0), no X (XD)
    expect(xl(f.mk('qemu-7.2'), f.req(0x1000, { exec: 1 })).status).toBe(STATUS_OK); // QEMU ignores XD
  });

  it('sets A on every level walked and D on the leaf for writes (QEMU vtd_set_flag_in_pte)', () => {
    const f = fl();
    const leaf = mapFirstLevel(f.mem, f.root, 4, 0x1000n, 0x5000n, 1, { write: true, user: true });
    xl(f.tr, f.req(0x1000));
    expect(f.mem.read64(f.root) & 0x60n).toBe(0x20n); // PML4E: A
    expect(f.mem.read64(leaf) & 0x60n).toBe(0x20n); // PTE: A, not D after a read
    xl(f.tr, f.req(0x1000, { access: ACCESS_WRITE }));
    expect(f.mem.read64(leaf) & 0x60n).toBe(0x60n); // PTE: A and D
    expect(f.mem.read64(f.root) & 0x40n).toBe(0n); // D only on the leaf
  });
});

describe('scalable mode: nested translation (VT-d spec; QEMU 7.2 rejects PGTT=011)', () => {
  // GPA layout: FL tables at GPA 0x10_0000.. (PML4, PDPT, PD, PT), data page GPA 0x20_0000.
  // The second level maps each GPA page to a separately allocated HPA frame.
  function nested() {
    const s = scalable();
    const hpa = [0, 1, 2, 3].map(() => s.mem.allocFrame());
    hpa.forEach((h, i) => s.sl.map(BigInt(0x10_0000 + i * 0x1000), BigInt(h), 0x1000n, RW));
    s.sl.map(0x20_0000n, 0x5_0000_0000n, 0x1000n, RW);
    // iova 0x1234: PML4/PDPT/PD index 0, PT index 1. FL entries hold GPAs.
    s.mem.write64Big(hpa[0], 0x10_1007n);
    s.mem.write64Big(hpa[1], 0x10_2007n);
    s.mem.write64Big(hpa[2], 0x10_3007n);
    s.mem.write64Big(hpa[3] + 8, 0x20_0007n);
    s.b.setPasidEntry(
      s.dir,
      PASID,
      pasidEntry({ pgtt: PGTT_NESTED, did: 11, aw: 2, slptptr: s.sl.root, flptptr: 0x10_0000 }),
    );
    return { ...s, hpa, req: { ...at(0x1234), pasidPresent: 1, pasid: PASID } };
  }

  it('translates every first-level table address and the final address through the second level', () => {
    const n = nested();
    const r = xl(n.tr, n.req);
    expect([r.status, paOf(r), r.level, r.pgtt, r.did]).toEqual([
      STATUS_OK,
      0x5_0000_0234,
      1,
      PGTT_NESTED,
      11,
    ]);
  });

  it('faults: FL root GPA unmapped 0x75, lower FL table GPA unmapped 0x76, output GPA unmapped 0x79; QEMU 0x58', () => {
    const a = nested();
    a.sl.unmap(0x10_0000n, 0x1000n);
    expect(xl(a.tr, a.req).reason).toBe(0x75);
    const b = nested();
    b.sl.unmap(0x10_2000n, 0x1000n);
    expect(xl(b.tr, b.req).reason).toBe(0x76);
    const c = nested();
    c.sl.unmap(0x20_0000n, 0x1000n);
    const r = xl(c.tr, c.req);
    expect([r.reason, r.stage]).toEqual([0x79, STAGE_SECOND_LEVEL]);
    expect(xl(c.mk('qemu-7.2'), c.req).reason).toBe(0x58);
  });

  it('first-level A/D updates need write permission on the table page (0x77)', () => {
    const n = nested();
    n.sl.unmap(0x10_3000n, 0x1000n);
    n.sl.map(0x10_3000n, BigInt(n.hpa[3]), 0x1000n, RO);
    expect(xl(n.tr, n.req).reason).toBe(0x77);
  });
});

describe('walkDetailed', () => {
  it('returns every entry read with its address, raw value and fields', () => {
    const { mem, pt, regs } = legacy();
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW); // level 3/2/1 tables at B+0x3000, B+0x4000, B+0x5000
    const w = walkDetailed(mem, regs, createRequest({ sid: SID, ...at(0x80_4020_1008) }));
    expect(w.result.status).toBe(STATUS_OK);
    expect(w.steps.map((s) => [s.structure, s.level, s.entryAddr])).toEqual([
      ['root-entry', 0, B + 0x30], // bus 3
      ['context-entry', 0, B + 0x2100], // context table B+0x2000, devfn 0x10
      ['second-level-pte', 4, B + 0x1008],
      ['second-level-pte', 3, B + 0x3008],
      ['second-level-pte', 2, B + 0x4008],
      ['second-level-pte', 1, B + 0x5008],
    ]);
    // Root entry: lo = B+0x2000 | P = 0x1_0000_2001, hi = 0.
    expect(w.steps[0].raw).toBe('0x00000000000000000000000100002001');
    expect(w.steps[1].fields).toMatchObject({ present: true, did: 5, aw: 2, slptptr: B + 0x1000 });
    expect(w.steps[5].fields).toMatchObject({ r: true, w: true, addr: 0x5000 });
  });

  it('stops at the faulting entry', () => {
    const { mem, regs } = legacy();
    const w = walkDetailed(mem, regs, createRequest({ sid: SID, ...at(0x80_4020_1008) }));
    expect([w.result.reason, w.steps.length, w.steps[2].raw]).toEqual([0x6, 3, '0x0000000000000000']);
  });
});

describe('request and result objects', () => {
  it('a translator refuses an unknown profile', () => {
    const { mem, regs } = legacy();
    expect(() => new VtdTranslator(mem, regs, { profile: 'qemu-9' as FaultProfile })).toThrow(/profile/);
  });

  it('the result is reused: a success after a fault clears the fault fields', () => {
    const { pt, tr } = legacy();
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, RW);
    const out = createResult();
    tr.translate(createRequest({ sid: SID, ...at(0x80_4020_2000) }), out);
    expect(out.reason).toBe(0x6);
    tr.translate(createRequest({ sid: SID, ...at(0x80_4020_1000) }), out);
    expect([out.status, out.reason, out.stage, out.noRecord, paOf(out)]).toEqual([
      STATUS_OK,
      0,
      0,
      0,
      0x5000,
    ]);
    expect(STAGE_FIRST_LEVEL).toBe(5);
  });
});
