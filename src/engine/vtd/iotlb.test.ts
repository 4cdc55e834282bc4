import { describe, expect, it } from 'vitest';
import { PhysMem } from '../mem/phys-mem';
import { ContextCache, NO_PASID, TranslationCache, VtdCaches, type CacheMode } from './iotlb';
import { SlPageTable } from './sl-pagetable';
import { PGTT_FL, PGTT_SL, VtdTableBuilder, makeUnitRegs, mapFirstLevel, pasidEntry } from './structures';
import {
  ACCESS_WRITE,
  AT_TRANSLATION_REQUEST,
  STAGE_CONTEXT,
  STAGE_SECOND_LEVEL,
  STATUS_FAULT,
  STATUS_OK,
  VtdTranslator,
  createRequest,
  createResult,
  type DmaRequest,
  type FaultProfile,
  type TranslateResult,
} from './translate';

// Expected values are computed by hand: page numbers are address / 4096, a level-2 entry covers 512 pages
// and a level-3 entry 512·512, and a page-selective invalidation with address mask AM covers the 2^AM pages
// starting at the address's page rounded down to a multiple of 2^AM (VT-d IOTLB invalidate descriptor).
const TWO32 = 2 ** 32;
const SID = 0x0310;
const hiOf = (a: number): number => Math.floor(a / TWO32);
const loOf = (a: number): number => a % TWO32;

/** Inserts a translation of the page holding `addr` at `level` into t. */
function put(
  t: TranslationCache,
  addr: number,
  o: {
    level?: number;
    did?: number;
    pa?: number;
    pasid?: number;
    sid?: number;
    pgtt?: number;
    perms?: number;
  } = {},
): number {
  const pa = o.pa ?? 0x5000;
  return t.insert(
    o.sid ?? SID,
    o.pasid ?? NO_PASID,
    hiOf(addr),
    loOf(addr),
    o.level ?? 1,
    o.did ?? 5,
    hiOf(pa),
    loOf(pa),
    o.perms ?? 3,
    o.pgtt ?? PGTT_SL,
    0,
    0,
  );
}
const has = (t: TranslationCache, addr: number, o: { sid?: number; pasid?: number } = {}): boolean =>
  t.lookup(o.sid ?? SID, o.pasid ?? NO_PASID, hiOf(addr), loOf(addr)) >= 0;

describe('TranslationCache: keys and lookups', () => {
  it('keys on (source id, PASID, page, level) and returns the fields it was filled with', () => {
    const t = new TranslationCache(64, 4);
    const slot = put(t, 0x80_4020_1000, { did: 0x33, pa: 0x1_2345_6000, perms: 1 });
    const s = t.lookup(SID, NO_PASID, 0x80, 0x4020_1abc); // same 4 KiB page
    expect(s).toBe(slot);
    expect([t.sid(s), t.level(s), t.did(s), t.perms(s), t.pgtt(s), t.pageBase(s)]).toEqual([
      SID,
      1,
      0x33,
      1,
      PGTT_SL,
      0x1_2345_6000,
    ]);
    expect(has(t, 0x80_4020_2000)).toBe(false); // next page
    expect(has(t, 0x80_4020_1000, { sid: SID + 1 })).toBe(false);
    expect(has(t, 0x80_4020_1000, { pasid: 0 })).toBe(false);
    expect(t.size).toBe(1);
  });

  it('finds 2 MiB and 1 GiB entries from any address inside them', () => {
    const t = new TranslationCache(64, 4);
    put(t, 0x80_4020_0000, { level: 2 });
    put(t, 0x1_0000_0000, { level: 3, pa: 0x4000_0000 });
    expect(has(t, 0x80_403f_f000)).toBe(true); // last page of the 2 MiB page
    expect(has(t, 0x80_4040_0000)).toBe(false); // first page after it
    const s = t.lookup(SID, NO_PASID, 1, 0x3fff_f000);
    expect([t.level(s), t.firstPage(s)]).toEqual([3, 0x10_0000]); // 2^32 / 4096
  });

  it('hitClean: a cached entry granting every bit of `need` and not stale counts one hit; otherwise nothing', () => {
    const t = new TranslationCache(64, 4);
    const R = 1;
    const W = 2;
    const U = 8;
    put(t, 0x80_4020_1000, { perms: R | W | U });
    put(t, 0x80_4020_2000, { perms: R | U }); // read-only
    put(t, 0x80_4020_3000, { perms: R | W }); // not user-accessible
    put(t, 0x80_4060_0000, { level: 2, perms: R | W | U }); // 2 MiB: 0x80_4060_0000..0x80_407f_ffff
    const hit = (addr: number, need: number, sid = SID): boolean =>
      t.hitClean(sid, NO_PASID, hiOf(addr), loOf(addr), need);
    expect(hit(0x80_4020_1abc, R | U)).toBe(true);
    expect(hit(0x80_4020_1000, R | W | U)).toBe(true); // an atomic needs R and W
    expect(hit(0x80_4020_2000, R | U)).toBe(true);
    expect(hit(0x80_4020_2000, W | U)).toBe(false); // no W
    expect(hit(0x80_4020_3000, R | U)).toBe(false); // no U
    expect(hit(0x80_407f_f000, W | U)).toBe(true); // the last 4 KiB of the 2 MiB entry
    expect(hit(0x80_4080_0000, R | U)).toBe(false); // nothing cached there
    expect(hit(0x80_4020_1000, R | U, SID + 1)).toBe(false); // another source
    expect([t.hits, t.misses]).toEqual([4, 0]);
    // marked stale by an unmap without invalidation (page 0x80_4020_1000 / 4096 = 0x804_0201): declined
    expect(t.markStale(5, 0, 0x804_0201, 1, 7, 100)).toBe(1);
    expect(hit(0x80_4020_1000, R | U)).toBe(false);
    expect([t.hits, t.misses]).toEqual([4, 0]);
  });

  it('a full set evicts round robin', () => {
    const t = new TranslationCache(2, 2); // one set of two ways
    put(t, 0x1000);
    put(t, 0x2000);
    put(t, 0x3000); // evicts way 0 (0x1000)
    expect([has(t, 0x1000), has(t, 0x2000), has(t, 0x3000), t.size]).toEqual([false, true, true, 2]);
  });
});

describe('TranslationCache: invalidation granularities', () => {
  function filled(): TranslationCache {
    const t = new TranslationCache(256, 4);
    for (let p = 1; p <= 5; p++) put(t, p * 0x1000); // pages 1..5, DID 5
    put(t, 0x9000, { did: 6 });
    put(t, 0x20_0000, { level: 2 }); // pages 512..1023, DID 5
    put(t, 0x4000_0000, { did: 5, pasid: 7, pgtt: PGTT_FL }); // first-level entry of DID 5, PASID 7
    put(t, 0x4000_1000, { did: 5, pasid: 8, pgtt: PGTT_FL });
    return t;
  }

  it('global', () => {
    const t = filled();
    expect(t.invalidateAll()).toBe(9);
    expect(t.size).toBe(0);
  });

  it('domain-selective', () => {
    const t = filled();
    expect(t.invalidateDomain(6)).toBe(1);
    expect([has(t, 0x9000), has(t, 0x1000)]).toEqual([false, true]);
  });

  it('page-selective with AM: 2^AM pages from the aligned page, plus every first-level entry of the DID', () => {
    const t = filled();
    // Address 0x1000 (page 1), AM 2: pages 0..3 → pages 1, 2, 3 go; 4 and 5 stay; DID 5's FL entries go too.
    expect(t.invalidatePage(5, 0, 0x1000, 2)).toBe(5);
    expect([1, 2, 3, 4, 5].map((p) => has(t, p * 0x1000))).toEqual([false, false, false, true, true]);
    expect(has(t, 0x4000_0000, { pasid: 7 })).toBe(false);
    // A 4 KiB invalidation inside the 2 MiB entry (page 600) overlaps it: the entry goes.
    expect(t.invalidatePage(5, 0, 600 * 0x1000, 0)).toBe(1);
    expect(has(t, 0x20_0000)).toBe(false);
    expect(has(t, 0x9000)).toBe(true); // other DID untouched
  });

  it('PASID-based: first-level entries of (DID, PASID), optionally one range', () => {
    const t = filled();
    expect(t.invalidatePasid(5, 7)).toBe(1);
    expect([has(t, 0x4000_0000, { pasid: 7 }), has(t, 0x4000_1000, { pasid: 8 })]).toEqual([false, true]);
    expect(t.invalidatePasidPage(5, 8, 0, 0x4000_2000, 0)).toBe(0); // another page
    expect(t.invalidatePasidPage(5, 8, 0, 0x4000_1000, 0)).toBe(1);
    expect(t.invalidatePasid(5, NO_PASID)).toBe(0); // second-level entries are not PASID-based
  });

  it('by source id (device-TLB invalidation): whole space or 2^S pages', () => {
    const t = new TranslationCache(64, 4);
    put(t, 0x1000);
    put(t, 0x2000);
    put(t, 0x1000, { sid: 0x0400 });
    expect(t.invalidateSource(SID, -1, 0, 0x2000, 0)).toBe(1);
    expect(t.invalidateSource(SID, -1, 0, 0, -1)).toBe(1);
    expect([t.size, has(t, 0x1000, { sid: 0x0400 })]).toEqual([1, true]);
  });

  it('markStale marks overlapping entries of the DID, keeping the first unmap', () => {
    const t = filled();
    // Pages 2..4 of DID 5 (first page hi 0, lo 2, count 3) at event 17, time 1000.
    expect(t.markStale(5, 0, 2, 3, 17, 1000)).toBe(3);
    const s = t.lookup(SID, NO_PASID, 0, 0x3000);
    expect([t.stale(s), t.staleEvent[s], t.staleTime[s]]).toEqual([1, 17, 1000]);
    expect(t.markStale(5, 0, 3, 1, 18, 2000)).toBe(1);
    expect(t.staleEvent[t.lookup(SID, NO_PASID, 0, 0x3000)]).toBe(17);
    expect(t.stale(t.lookup(SID, NO_PASID, 0, 0x1000))).toBe(0);
    expect(t.markStale(5, 0, 700, 1, 19, 3000)).toBe(1); // inside the 2 MiB entry
  });
});

describe('ContextCache', () => {
  it('device-selective invalidation with a function mask (QEMU: FM 3 masks devfn bits 2:0)', () => {
    const c = new ContextCache(256);
    for (const sid of [0x0310, 0x0311, 0x0317, 0x0318]) c.insert(sid, 0, 1, 0, 4, 0x1000, 0, 0, 0, 0);
    expect(c.invalidateDevice(0x0312, 3)).toBe(3); // 0x0310..0x0317
    expect([c.lookup(0x0310), c.lookup(0x0318) >= 0]).toEqual([-1, true]);
    c.invalidateAll();
    expect(c.lookup(0x0318)).toBe(-1);
  });
});

// ---------------------------------------------------------------------------------------------------
// Through the translator

function legacy(mode: CacheMode, profile: FaultProfile = 'vtd-spec', tt = 0) {
  const mem = new PhysMem();
  const b = new VtdTableBuilder(mem, 'legacy');
  const pt = new SlPageTable(mem, { levels: 4, superpages: { mib2: true, gib1: true } });
  b.setContext(SID, { slptptr: pt.root, did: 5, aw: 2, tt });
  const caches = new VtdCaches({ mode });
  const tr = new VtdTranslator(mem, makeUnitRegs(b.rootTable, 'legacy'), { caches, profile });
  const xl = (addr: number, more: Partial<DmaRequest> = {}): TranslateResult => {
    const out = createResult();
    tr.translate(createRequest({ sid: SID, addrHi: hiOf(addr), addrLo: loOf(addr), ...more }), out);
    return out;
  };
  return { mem, b, pt, caches, tr, xl };
}

describe('IOTLB in the translation path', () => {
  it('fills after a walk, hits afterwards', () => {
    const { pt, caches, xl } = legacy('hardware');
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, { read: true, write: true });
    expect(xl(0x80_4020_1000).cached).toBe(0);
    const r = xl(0x80_4020_1800);
    expect([r.cached, r.paLo, caches.iotlb.size]).toEqual([1, 0x5800, 1]);
  });

  it('an IOTLB hit returns what the walk returned (entryAddr aside: an IOTLB holds no entry address)', () => {
    const { pt, xl } = legacy('hardware');
    pt.map(0x80_4020_0000n, 0x40_0000n, 0x20_0000n, { read: true, write: false }); // 2 MiB, read-only
    const walked = xl(0x80_4021_2345);
    const hit = xl(0x80_4021_2345);
    expect({ ...hit, cached: 0, entryAddr: walked.entryAddr }).toEqual(walked);
    expect([hit.cached, hit.entryAddr, hit.paLo, hit.level, hit.perms]).toEqual([1, -1, 0x41_2345, 2, 1 | 8]);
  });

  it('a hit re-checks what the walk checked: U/S for user requests, SRE for supervisor requests', () => {
    const mem = new PhysMem();
    const b = new VtdTableBuilder(mem, 'scalable');
    const dir = b.setScalableContext(SID, { ridPasid: 0 });
    const root = mem.allocFrame();
    mapFirstLevel(mem, root, 4, 0x1000n, 0x5000n, 1, { write: true, user: false }); // supervisor page
    b.setPasidEntry(dir, 0, pasidEntry({ pgtt: PGTT_FL, did: 7, flptptr: root, sre: true }));
    b.setPasidEntry(dir, 1, pasidEntry({ pgtt: PGTT_FL, did: 7, flptptr: root, sre: false }));
    const caches = new VtdCaches();
    const tr = new VtdTranslator(mem, makeUnitRegs(b.rootTable, 'scalable'), { caches });
    const out = createResult();
    const go = (pasid: number, priv: number): number[] => {
      tr.translate(createRequest({ sid: SID, addrLo: 0x1000, pasidPresent: 1, pasid, priv }), out);
      return [out.status, out.reason, out.cached];
    };
    expect(go(0, 1)).toEqual([STATUS_OK, 0, 0]); // supervisor request fills the IOTLB
    expect(go(0, 1)).toEqual([STATUS_OK, 0, 1]);
    expect(go(0, 0)).toEqual([STATUS_FAULT, 0x81, 1]); // user request hits the same entry: U/S = 0
    expect(go(1, 0)).toEqual([STATUS_FAULT, 0x81, 0]); // PASID 1: walked, user request
    expect(go(1, 1)).toEqual([STATUS_FAULT, 0x5d, 0]); // SRE clear
  });

  it('scalable mode: requests with PASID and without (through RID_PASID) both hit after a walk', () => {
    const mem = new PhysMem();
    const b = new VtdTableBuilder(mem, 'scalable');
    const dir = b.setScalableContext(SID, { ridPasid: 3 });
    const sl = new SlPageTable(mem, { levels: 4, superpages: { mib2: true, gib1: true } });
    sl.map(0x1000n, 0x5000n, 0x1000n, { read: true, write: true });
    b.setPasidEntry(dir, 3, pasidEntry({ pgtt: PGTT_SL, did: 7, aw: 2, slptptr: sl.root }));
    b.setPasidEntry(dir, 9, pasidEntry({ pgtt: PGTT_SL, did: 8, aw: 2, slptptr: sl.root }));
    const caches = new VtdCaches();
    const tr = new VtdTranslator(mem, makeUnitRegs(b.rootTable, 'scalable'), { caches });
    const out = createResult();
    const go = (more: Partial<DmaRequest>): number[] => {
      tr.translate(createRequest({ sid: SID, addrLo: 0x1010, ...more }), out);
      return [out.cached, out.pasid, out.did, out.paLo];
    };
    expect(go({})).toEqual([0, 3, 7, 0x5010]);
    expect(go({})).toEqual([1, 3, 7, 0x5010]);
    expect(go({ pasidPresent: 1, pasid: 9 })).toEqual([0, 9, 8, 0x5010]);
    expect(go({ pasidPresent: 1, pasid: 9 })).toEqual([1, 9, 8, 0x5010]);
    expect(go({ pasidPresent: 1, pasid: 3 })).toEqual([1, 3, 7, 0x5010]); // same key as RID_PASID
  });

  it('hardware mode: an unmapped page keeps translating until invalidated; markStale flags the DMA', () => {
    const { pt, caches, xl } = legacy('hardware');
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, { read: true, write: true });
    xl(0x80_4020_1000);
    pt.unmap(0x80_4020_1000n, 0x1000n); // PTE cleared, IOTLB not invalidated
    expect([xl(0x80_4020_1000).status, xl(0x80_4020_1000).stale]).toEqual([STATUS_OK, 0]);
    // Page number of 0x80_4020_1000 is 0x80_4020_1000 / 4096 = 0x804_0201: pageHi 0, pageLo 0x804_0201.
    expect(caches.markStale(5, 0, 0x804_0201, 1, 42, 123_456)).toBe(1);
    const r = xl(0x80_4020_1000);
    expect([r.status, r.stale, r.staleEvent, r.staleTime]).toEqual([STATUS_OK, 1, 42, 123_456]);
    caches.iotlb.invalidatePage(5, 0x80, 0x4020_1000, 0);
    expect(xl(0x80_4020_1000).reason).toBe(0x6);
  });

  it('strict mode: the same unmap faults at once, and the discarded stale entry is reported', () => {
    const { pt, caches, xl } = legacy('strict');
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, { read: true, write: true });
    expect(xl(0x80_4020_1000).status).toBe(STATUS_OK);
    expect(caches.iotlb.size).toBe(1);
    pt.unmap(0x80_4020_1000n, 0x1000n);
    caches.markStale(5, 0, 0x804_0201, 1, 42, 123_456);
    const r = xl(0x80_4020_1000);
    expect([r.status, r.reason, r.stale, r.staleEvent, r.staleTime]).toEqual([
      STATUS_FAULT,
      0x6,
      2,
      42,
      123_456,
    ]);
    expect(caches.iotlb.size).toBe(0);
  });

  it('a write hitting a cached read-only entry: QEMU drops it without a record, hardware records 0x5', () => {
    for (const [profile, noRecord] of [
      ['qemu-7.2', 1],
      ['vtd-spec', 0],
    ] as const) {
      const { pt, xl } = legacy('hardware', profile);
      pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, { read: true, write: false });
      xl(0x80_4020_1000); // read: cached with perms R
      const w = xl(0x80_4020_1000, { access: ACCESS_WRITE });
      expect([w.status, w.reason, w.noRecord, w.cached, w.stage]).toEqual([
        STATUS_FAULT,
        0x5,
        noRecord,
        1,
        STAGE_SECOND_LEVEL,
      ]);
    }
  });

  it('pass-through translations are never cached (QEMU vtd_do_iommu_translate)', () => {
    const { caches, xl } = legacy('hardware', 'vtd-spec', 2);
    expect(xl(0x1234_5000).status).toBe(STATUS_OK);
    expect(caches.iotlb.size).toBe(0);
  });

  it('translation requests fill the device-TLB; device-TLB invalidation empties it', () => {
    const { pt, caches, xl } = legacy('hardware', 'vtd-spec', 1);
    pt.map(0x80_4020_1000n, 0x5000n, 0x1000n, { read: true, write: true });
    expect(xl(0x80_4020_1000, { at: AT_TRANSLATION_REQUEST }).status).toBe(STATUS_OK);
    expect(caches.deviceTlb.size).toBe(1);
    expect(caches.deviceTlb.invalidateSource(SID, -1, 0, 0, -1)).toBe(1);
  });

  it('with the IOTLB disabled every request walks', () => {
    const mem = new PhysMem();
    const b = new VtdTableBuilder(mem, 'legacy');
    const pt = new SlPageTable(mem, { levels: 4, superpages: { mib2: true, gib1: true } });
    b.setContext(SID, { slptptr: pt.root, did: 5 });
    pt.map(0x1000n, 0x5000n, 0x1000n, { read: true, write: true });
    const caches = new VtdCaches({ iotlb: false });
    const tr = new VtdTranslator(mem, makeUnitRegs(b.rootTable, 'legacy'), { caches });
    const out = createResult();
    tr.translate(createRequest({ sid: SID, addrLo: 0x1000 }), out);
    tr.translate(createRequest({ sid: SID, addrLo: 0x1000 }), out);
    expect([out.status, out.cached, caches.iotlb.size, caches.context.hits]).toEqual([STATUS_OK, 0, 0, 1]);
  });
});

describe('context and PASID caches in the translation path', () => {
  it('a cleared context entry keeps serving new pages until a context-cache invalidation (hardware mode)', () => {
    const { mem, pt, caches, xl } = legacy('hardware');
    pt.map(0x1000n, 0x5000n, 0x2000n, { read: true, write: true });
    xl(0x1000); // context cached
    mem.write64Big(0x1_0000_2100, 0n); // SID's context entry (table B+0x2000, devfn 0x10) cleared
    mem.write64Big(0x1_0000_2108, 0n);
    expect(xl(0x2000).status).toBe(STATUS_OK); // page 0x2000 was not in the IOTLB: walked with the cached context
    caches.context.invalidateDevice(SID, 0);
    const r = xl(0x3000);
    expect([r.reason, r.stage]).toEqual([0x2, STAGE_CONTEXT]);
  });

  it('strict mode sees the cleared context entry at once', () => {
    const { mem, pt, xl } = legacy('strict');
    pt.map(0x1000n, 0x5000n, 0x2000n, { read: true, write: true });
    xl(0x1000);
    mem.write64Big(0x1_0000_2100, 0n);
    expect(xl(0x2000).reason).toBe(0x2);
  });

  it('a PASID entry changed without invalidation keeps its cached DID until a PASID-cache invalidation', () => {
    const mem = new PhysMem();
    const b = new VtdTableBuilder(mem, 'scalable');
    const dir = b.setScalableContext(SID, { ridPasid: 0 });
    const sl = new SlPageTable(mem, { levels: 4, superpages: { mib2: true, gib1: true } });
    sl.map(0x1000n, 0x5000n, 0x2000n, { read: true, write: true });
    b.setPasidEntry(dir, 0, pasidEntry({ pgtt: PGTT_SL, did: 7, aw: 2, slptptr: sl.root }));
    const caches = new VtdCaches({ iotlb: false });
    const tr = new VtdTranslator(mem, makeUnitRegs(b.rootTable, 'scalable'), { caches });
    const out = createResult();
    const did = (addr: number): number => (
      tr.translate(createRequest({ sid: SID, addrLo: addr }), out),
      out.did
    );
    expect(did(0x1000)).toBe(7);
    b.setPasidEntry(dir, 0, pasidEntry({ pgtt: PGTT_SL, did: 8, aw: 2, slptptr: sl.root }));
    expect(did(0x2000)).toBe(7);
    caches.pasid.invalidate(7, 0);
    expect(did(0x2000)).toBe(8);
  });
});
