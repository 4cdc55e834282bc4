import { describe, expect, it } from 'vitest';
import { loadPlatform, type Platform } from './platform';
import { faultDmesg, Replay } from './replay';

function platform(): Platform {
  const r = loadPlatform({
    format: 'iommu-lab/platform',
    version: 1,
    name: 't',
    devices: [
      { bdf: '00:14.0', name: 'xhci', class: '0c0330' },
      { bdf: '00:02.0', name: 'igd', class: '030000', domain: 'identity' },
    ],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

describe('Replay (page-set slice model)', () => {
  const xhci = 0x00a0;
  it('passes mapped accesses and faults on unmapped pages with the VT-d read/write reasons', () => {
    const r = new Replay(platform());
    r.apply({
      kind: 'map',
      time: 0,
      requesterId: xhci,
      iova: 0x10000,
      size: 0x2000,
      read: true,
      write: false,
    });
    expect(
      r.apply({
        kind: 'dma',
        time: 1,
        requesterId: xhci,
        pasid: null,
        addr: 0x10ff0,
        len: 0x20,
        write: false,
      }),
    ).toBeNull();
    // write to a read-only page → 0x05
    const w = r.apply({
      kind: 'dma',
      time: 2,
      requesterId: xhci,
      pasid: null,
      addr: 0x10000,
      len: 4,
      write: true,
    });
    expect(w).toMatchObject({ reason: 5, pageAddr: 0x10000 });
    // read crossing into the unmapped third page → 0x06 at 0x12000
    const rd = r.apply({
      kind: 'dma',
      time: 3,
      requesterId: xhci,
      pasid: null,
      addr: 0x11ff8,
      len: 16,
      write: false,
    });
    expect(rd).toMatchObject({ reason: 6, pageAddr: 0x12000 });
    expect(faultDmesg(rd!)).toBe(
      'DMAR: [DMA Read NO_PASID] Request device [00:14.0] fault addr 0x12000 [fault reason 0x06] PTE Read access is not set',
    );
    r.apply({ kind: 'unmap', time: 4, requesterId: xhci, iova: 0x10000, size: 0x1000 });
    expect(
      r.apply({ kind: 'dma', time: 5, requesterId: xhci, pasid: null, addr: 0x10000, len: 4, write: false }),
    ).not.toBeNull();
    expect(r.tlps).toBe(4);
    expect(r.faults.length).toBe(3);
  });
  it('faults a requester without a context entry: 0x02 on a known bus, 0x01 when the bus has no root entry', () => {
    const r = new Replay(platform());
    expect(
      r.apply({ kind: 'dma', time: 0, requesterId: 0x00a8, pasid: null, addr: 0x5123, len: 4, write: false }),
    ).toMatchObject({
      reason: 2,
      pageAddr: 0x5000,
    });
    expect(
      r.apply({ kind: 'dma', time: 0, requesterId: 0x0300, pasid: null, addr: 0, len: 4, write: true }),
    ).toMatchObject({ reason: 1 });
    r.apply({ kind: 'map', time: 1, requesterId: 0x0300, iova: 0, size: 4096, read: true, write: true });
    expect(r.rejectedControl).toBe(1);
  });
  it('never faults an identity-mapped device', () => {
    const r = new Replay(platform());
    expect(
      r.apply({
        kind: 'dma',
        time: 0,
        requesterId: 0x10,
        pasid: null,
        addr: 0xdead000,
        len: 64,
        write: true,
      }),
    ).toBeNull();
  });
});
