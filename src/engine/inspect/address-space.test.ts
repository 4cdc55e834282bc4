// The address-space view on hand-built states (src/engine/inspect/testing.ts). Expected ranges are
// worked out from the mappings made: the second-level table maps a 4 KiB-aligned range with 2 MiB
// leaves wherever iova, pa and the remaining length are 2 MiB aligned (superpages allowed), 4 KiB
// leaves elsewhere; adjacent leaves merge only with equal permissions, page size and creating event.
import { describe, expect, it } from 'vitest';
import { addressSpace, bucketFaults, faultMarksFromRanges, outputPrivacy } from './address-space';
import { ctl, dma, testReplay } from './testing';
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
