// The address-space view on hand-built states (src/engine/inspect/testing.ts). Expected ranges are
// worked out from the mappings made: the second-level table maps a 4 KiB-aligned range with 2 MiB
// leaves wherever iova, pa and the remaining length are 2 MiB aligned (superpages allowed), 4 KiB
// leaves elsewhere; adjacent leaves merge only with equal permissions, page size and creating event.
import { describe, expect, it } from 'vitest';
import { PagingDomain, type NestedDomain } from '../iommu/domain';
import { PhysMem } from '../mem/phys-mem';
import { FlPageTable } from '../vtd/fl-pagetable';
import { SlPageTable } from '../vtd/sl-pagetable';
import {
  addressSpace,
  bucketFaults,
  domainRanges,
  faultMarksFromRanges,
  outputPrivacy,
} from './address-space';
import { ctl, dma, testReplay } from '../testing/lab';
import { inspect } from './index';

const XHCI = '0000:00:14.0';
const XHCI_RID = 0x00a0;
const IGD = '0000:00:02.0';
const MSI = { type: 'msi', start: '0xfee00000', end: '0xfeefffff', source: 'interrupt (MSI) address window' };

describe('addressSpace view', () => {
  it('coalesces 4 KiB and 2 MiB leaves into ranges with their permissions, page size and origin', () => {
    const r = testReplay();
    r.apply(ctl({ op: 'driver_bind', bdf: XHCI, driver: 'xhci_hcd' }));
    const a = ctl({ op: 'dma_map', bdf: XHCI, iova: '0x10000', length: '0x2000', pa: '0x80000', prot: 'r' });
    const b = ctl({ op: 'dma_map', bdf: XHCI, iova: '0x12000', length: '0x1000', pa: '0x90000', prot: 'rw' });
    const c = ctl({ op: 'dma_map', bdf: XHCI, iova: '0x13000', length: '0x1000', pa: '0x91000', prot: 'rw' });
    // 0x401000 bytes at 2 MiB-aligned iova and pa: two 2 MiB leaves, then one 4 KiB leaf
    const d = ctl({
      op: 'dma_map',
      bdf: XHCI,
      iova: '0x200000',
      length: '0x401000',
      pa: '0x40000000',
      prot: 'rw',
    });
    for (const e of [a, b, c, d]) r.apply(e);
    const o = (e: typeof a) => (e.kind === 'control' ? { origin: e.origin, originTime: e.time } : {});
    const rw = { read: true, write: true, execute: true, output: null };
    const v = addressSpace(r, XHCI, null);
    expect(v).toMatchObject({
      bdf: XHCI,
      requester: XHCI_RID,
      pasid: null,
      domainType: 'dma',
      addressWidth: 48,
      truncated: false,
      note: null,
      resv: [MSI],
      sharedBoundary: null,
      faultMarks: [],
    });
    expect(v.domainId).toBe(r.lab.core.devices.get(XHCI)!.group.domain.id);
    expect(v.ranges).toEqual([
      { start: '0x10000', end: '0x11fff', pa: '0x80000', pageSize: 4096, ...o(a), ...rw, write: false },
      { start: '0x12000', end: '0x12fff', pa: '0x90000', pageSize: 4096, ...o(b), ...rw },
      // same permissions and size as the previous page, but another event made it
      { start: '0x13000', end: '0x13fff', pa: '0x91000', pageSize: 4096, ...o(c), ...rw },
      { start: '0x200000', end: '0x5fffff', pa: '0x40000000', pageSize: 0x200000, ...o(d), ...rw },
      { start: '0x600000', end: '0x600fff', pa: '0x40400000', pageSize: 4096, ...o(d), ...rw },
    ]);

    // an unmap cuts the first page out of the first range
    r.apply(ctl({ op: 'dma_unmap', bdf: XHCI, iova: '0x10000', length: '0x1000' }));
    expect(addressSpace(r, XHCI, null).ranges[0]).toMatchObject({
      start: '0x11000',
      end: '0x11fff',
      pa: '0x81000',
    });
    // through the inspect channel, by name
    expect(inspect({ replay: r, controls: [] }, { view: 'addressSpace', bdf: '00:14.0' })).toMatchObject({
      bdf: XHCI,
      ranges: { length: 5 },
    });
  });

  it('shows the RMRR unity map with its origin, and the direct-relaxable region', () => {
    const r = testReplay();
    const v = addressSpace(r, IGD, null);
    expect(v.resv).toEqual([
      {
        type: 'direct-relaxable',
        start: '0x7b800000',
        end: '0x7bbfffff',
        source: 'RMRR 0 (IGD stolen memory), relaxable: graphics device',
      },
      MSI,
    ]);
    // 4 MiB at a 2 MiB-aligned address, 1:1: two 2 MiB leaves, one range
    expect(v.ranges).toEqual([
      {
        start: '0x7b800000',
        end: '0x7bbfffff',
        pa: '0x7b800000',
        read: true,
        write: true,
        execute: true,
        pageSize: 0x200000,
        origin: 'unity map of RMRR 0 (IGD stolen memory), relaxable: graphics device for 0000:00:02.0',
        originTime: 0,
        output: null,
      },
    ]);
  });

  it('identity is the whole space 1:1, blocked is nothing', () => {
    const r = testReplay();
    r.apply(ctl({ op: 'default_domain', bdf: IGD, type: 'identity' }));
    const id = addressSpace(r, IGD, null);
    expect(id).toMatchObject({ domainType: 'identity', addressWidth: 48 });
    expect(id.ranges).toEqual([
      {
        start: '0x0',
        end: '0xffffffffffff',
        pa: '0x0',
        read: true,
        write: true,
        execute: true,
        pageSize: 0,
        origin: 'identity domain (pass-through)',
        originTime: 0,
        output: null,
      },
    ]);
    r.apply(ctl({ op: 'device_bind', bdf: XHCI }));
    const blocked = addressSpace(r, XHCI, null);
    expect(blocked).toMatchObject({ domainType: 'blocked', ranges: [], note: 'blocked: every DMA faults' });
    // a PASID nothing is attached to
    expect(addressSpace(r, XHCI, 5)).toMatchObject({ domainType: 'none', ranges: [], pasid: 5 });
  });

  it('marks the faults of the device by page', () => {
    const r = testReplay();
    r.apply(ctl({ op: 'driver_bind', bdf: XHCI, driver: 'xhci_hcd' }));
    for (const a of [0x30000, 0x30ff0, 0x31000]) r.apply(dma(XHCI_RID, a, false));
    r.apply(dma(0x0010, 0x30000, false)); // the IGD's: not the xHCI's
    expect(addressSpace(r, XHCI, null)).toMatchObject({
      faultMarks: [
        { start: '0x30000', end: '0x30fff', count: 2 },
        { start: '0x31000', end: '0x31fff', count: 1 },
      ],
      faultBucketBytes: 4096,
      faultSource: 'faults',
    });
  });

  it('refuses what is not a PCI address', () => {
    const r = testReplay();
    expect(() => addressSpace(r, 'nope', null)).toThrow('bdf: "nope" is not a PCI address');
    expect(() => addressSpace(r, XHCI, -1)).toThrow('pasid: -1 is not a PASID');
  });
});

describe('fault buckets', () => {
  it('counts by 4 KiB page, coarsening by powers of two past the limit', () => {
    expect(bucketFaults([0x1000, 0x1800, 0x5000])).toEqual({
      marks: [
        { start: '0x1000', end: '0x1fff', count: 2 },
        { start: '0x5000', end: '0x5fff', count: 1 },
      ],
      bucketBytes: 0x1000,
    });
    // pages 1 and 5 share a bucket first at 32 KiB (0x1000 / 0x8000 = 0 = 0x5000 / 0x8000)
    expect(bucketFaults([0x1000, 0x1800, 0x5000], 1)).toEqual({
      marks: [{ start: '0x0', end: '0x7fff', count: 3 }],
      bucketBytes: 0x8000,
    });
  });

  it("takes one requester's page ranges from a native replay's aggregates", () => {
    const t = {
      device: new Uint32Array([0xa0, 0x10, 0xa0]),
      base: new Float64Array([0x400000, 0, 0x200000]),
      count: new Float64Array([3, 9, 1]),
      rangeBytes: 0x200000,
    };
    expect(faultMarksFromRanges(t, 0xa0)).toEqual([
      { start: '0x200000', end: '0x3fffff', count: 1 },
      { start: '0x400000', end: '0x5fffff', count: 3 },
    ]);
  });

  it('classes outputs as private or shared by the TEE-IO split', () => {
    const boundary = { kind: 'boundary', boundary: 0x4000_0000_0000n } as const;
    expect(outputPrivacy(boundary, 0x3fff_ffff_f000)).toBe('private');
    expect(outputPrivacy(boundary, 0x4000_0000_0000)).toBe('shared');
    const bit = { kind: 'shared-bit', sharedBit: 47, sharedMask: 1n << 47n } as const;
    expect(outputPrivacy(bit, 2 ** 47 + 0x1000)).toBe('shared');
    expect(outputPrivacy(bit, 0x1000)).toBe('private');
    expect(outputPrivacy(null, 0x1000)).toBeNull();
  });

  it('splits an identity space at the boundary', () => {
    const r = testReplay({ teeIo: { boundary: '0x100000000' }, kernel: { defaultDomain: 'identity' } });
    const v = addressSpace(r, XHCI, null);
    expect(v).toMatchObject({
      sharedBoundary: '0x100000000',
      sharedRule: 'output addresses below 0x100000000 are private, the rest shared',
    });
    expect(v.ranges.map((x) => [x.start, x.end, x.output])).toEqual([
      ['0x0', '0xffffffff', 'private'],
      ['0x100000000', '0xffffffffffff', 'shared'],
    ]);
  });
});

describe('nested domains', () => {
  // A hand-built nested domain: a user stage-1 (first-level table, IOVA → GPA) over a NEST_PARENT
  // stage-2 (second-level table, GPA → HPA). PhysMem hands out frames from 0x1_0000_0000, so both
  // tables live in the first 2 MiB there, which stage 2 maps 1:1 (the stage-1 table pointer and its
  // entries are GPAs). Stage-1 and stage-2 leaves below are 4 KiB unless 2 MiB-aligned and long.
  function build() {
    const mem = new PhysMem();
    const sl = new SlPageTable(mem, { levels: 4, superpages: { mib2: true, gib1: false } });
    const fl = new FlPageTable(mem, { levels: 4, superpages: { mib2: true, gib1: false } });
    const origin = { current: { event: '', time: 0 } };
    const ops = {
      root: sl.root,
      map: (iova: bigint, pa: bigint, size: bigint, prot: { read: boolean; write: boolean }) => {
        const r = sl.map(iova, pa, size, prot);
        if (!r.ok) throw new Error(r.reason);
        return null;
      },
      unmap: (iova: bigint, size: bigint) => sl.unmap(iova, size),
    };
    const parent = new PagingDomain(6, 'unmanaged', ops, 48, { nestParent: true, pasid: false }, origin);
    const s2 = (event: string, gpa: number, len: number, hpa: number, write = true): void => {
      origin.current = { event, time: 0 };
      expect(parent.map(BigInt(gpa), BigInt(hpa), BigInt(len), { read: true, write })).toBeNull();
    };
    const s1 = (iova: number, len: number, gpa: number, write: boolean, execute: boolean): void => {
      expect(fl.map(BigInt(iova), BigInt(gpa), BigInt(len), { write, user: true, execute }).ok).toBe(true);
    };
    s2('tables', 0x1_0000_0000, 0x20_0000, 0x1_0000_0000); // one 2 MiB leaf, 1:1
    s2('B', 0x4000_0000, 0x1000, 0x8_0000_0000);
    s2('C', 0x4000_1000, 0x1000, 0x8_0000_1000, false); // read-only in stage 2
    s2('D', 0x4020_0000, 0x20_0000, 0x9_0000_0000); // 2 MiB leaf
    s2('G', 0x6000_0000, 0x2000, 0xa_0000_0000); // two 4 KiB leaves, HPAs contiguous
    s1(0x1_0000, 0x3000, 0x4000_0000, true, true); // 3 × 4 KiB: over B, C, and a stage-2 hole
    s1(0x20_0000, 0x40_0000, 0x4020_0000, false, false); // 2 × 2 MiB read-only, XD: over D, a hole
    s1(0x4000_0000, 0x20_0000, 0x6000_0000, true, true); // one 2 MiB leaf over G's 4 KiB pages
    const nested: NestedDomain = {
      id: 7,
      type: 'nested',
      parent,
      s1: { flags: 0, pgtblAddr: BigInt(fl.root), addrWidth: 48 },
    };
    return { mem, nested, fl };
  }

  const rights = (read: boolean, write: boolean, execute: boolean) => ({ read, write, execute });
  const none = { origin: null, originTime: null, output: null };

  it('gives each stage-1 range its GPA, the HPA stage 2 maps it to, and both stages’ rights', () => {
    const { mem, nested, fl } = build();
    const v = domainRanges(mem, nested, 48, null);
    expect(v.addressWidth).toBe(48);
    expect(v.note).toBe(
      `nested: stage 1 at 0x${fl.root.toString(16)} (IOVA → GPA) over stage-2 domain 6 (GPA → HPA); ` +
        'effective rights are the intersection of both stages',
    );
    const RWX = rights(true, true, true);
    const s2rw = { read: true, write: true };
    expect(v.ranges).toEqual([
      // IOVA 0x10000 → GPA 0x40000000 → (B) HPA 0x800000000: RW in both, X (no XD) with stage-2 R
      {
        start: '0x10000',
        end: '0x10fff',
        pa: '0x800000000',
        ...RWX,
        pageSize: 0x1000,
        ...none,
        nested: { gpa: '0x40000000', s2Mapped: true, s1: RWX, s2: s2rw, s1PageSize: 0x1000 },
      },
      // → (C) stage 2 read-only: W = W1 & W2 = false; a range of its own
      {
        start: '0x11000',
        end: '0x11fff',
        pa: '0x800001000',
        ...rights(true, false, true),
        pageSize: 0x1000,
        ...none,
        nested: {
          gpa: '0x40001000',
          s2Mapped: true,
          s1: RWX,
          s2: { read: true, write: false },
          s1PageSize: 0x1000,
        },
      },
      // GPA 0x40002000: no stage-2 entry, nothing reachable
      {
        start: '0x12000',
        end: '0x12fff',
        pa: '',
        ...rights(false, false, false),
        pageSize: 0x1000,
        ...none,
        nested: { gpa: '0x40002000', s2Mapped: false, s1: RWX, s2: null, s1PageSize: 0x1000 },
      },
      // first 2 MiB stage-1 leaf (R, XD) over D's 2 MiB leaf
      {
        start: '0x200000',
        end: '0x3fffff',
        pa: '0x900000000',
        ...rights(true, false, false),
        pageSize: 0x200000,
        ...none,
        nested: {
          gpa: '0x40200000',
          s2Mapped: true,
          s1: rights(true, false, false),
          s2: s2rw,
          s1PageSize: 0x200000,
        },
      },
      // second one: GPA 0x40400000 is a non-present 2 MiB entry of stage 2
      {
        start: '0x400000',
        end: '0x5fffff',
        pa: '',
        ...rights(false, false, false),
        pageSize: 0x200000,
        ...none,
        nested: {
          gpa: '0x40400000',
          s2Mapped: false,
          s1: rights(true, false, false),
          s2: null,
          s1PageSize: 0x200000,
        },
      },
      // one 2 MiB stage-1 leaf split where stage-2 coverage ends: G's two 4 KiB pages (contiguous,
      // one range of 4 KiB effective pages), then 510 pages stage 2 does not map
      {
        start: '0x40000000',
        end: '0x40001fff',
        pa: '0xa00000000',
        ...RWX,
        pageSize: 0x1000,
        ...none,
        nested: { gpa: '0x60000000', s2Mapped: true, s1: RWX, s2: s2rw, s1PageSize: 0x200000 },
      },
      {
        start: '0x40002000',
        end: '0x401fffff',
        pa: '',
        ...rights(false, false, false),
        pageSize: 0x200000,
        ...none,
        nested: { gpa: '0x60002000', s2Mapped: false, s1: RWX, s2: null, s1PageSize: 0x200000 },
      },
    ]);
  });

  it("lists the stage-2 parent's own ranges (GPA → HPA) with their origins", () => {
    const { mem, nested } = build();
    const s2 = domainRanges(mem, nested, 48, null).stage2!;
    expect(s2).toMatchObject({ domainId: 6, addressWidth: 48, truncated: false });
    const row = (
      start: string,
      end: string,
      pa: string,
      write: boolean,
      pageSize: number,
      origin: string,
    ) => ({
      start,
      end,
      pa,
      read: true,
      write,
      execute: true, // second level: execute follows read
      pageSize,
      origin,
      originTime: 0,
      output: null,
    });
    expect(s2.ranges).toEqual([
      row('0x40000000', '0x40000fff', '0x800000000', true, 0x1000, 'B'),
      row('0x40001000', '0x40001fff', '0x800001000', false, 0x1000, 'C'),
      row('0x40200000', '0x403fffff', '0x900000000', true, 0x200000, 'D'),
      row('0x60000000', '0x60001fff', '0xa00000000', true, 0x1000, 'G'),
      row('0x100000000', '0x1001fffff', '0x100000000', true, 0x200000, 'tables'),
    ]);
    // paging domains have no second strip
    expect(domainRanges(mem, nested.parent, 48, null).stage2).toBeNull();
  });
});
