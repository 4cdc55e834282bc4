// The replay of the first slice: control events drive the lab, DMA requests are checked against the
// domain the device's group uses at that moment. Expected reasons follow the VT-d legacy table:
// a read/write without permission on a second-level leaf → 0x06/0x05; a cleared or absent context
// entry → 0x02; no root entry for the bus → 0x01.
import { describe, expect, it } from 'vitest';
import { faultDmesg, Replay, type ReplayEvent } from './replay';
import { parseControlLine, isProblem } from '../trace/control-script';
import { testLab } from './testing/lab';

/** The test lab without the IGD's reserved memory. */
const lab = () => testLab({ reservedMemory: [] });

let t = 0;
function ctl(json: Record<string, unknown>): ReplayEvent {
  const p = parseControlLine(JSON.stringify(json), 1);
  if (isProblem(p)) throw new Error(p.message);
  return { kind: 'control', time: ++t, origin: 'test', event: p.event };
}
const dma = (rid: number, addr: number, len: number, write: boolean): ReplayEvent => ({
  kind: 'dma',
  time: ++t,
  requesterId: rid,
  pasid: null,
  addr,
  len,
  write,
});

describe('Replay', () => {
  const xhci = 0x00a0;
  it('passes mapped accesses and faults without permission with the VT-d read/write reasons', () => {
    const r = new Replay(lab());
    r.apply(ctl({ op: 'driver_bind', bdf: '0000:00:14.0', driver: 'xhci_hcd' }));
    r.apply(ctl({ op: 'dma_map', bdf: '0000:00:14.0', iova: '0x10000', length: '0x2000', prot: 'r' }));
    expect(r.apply(dma(xhci, 0x10ff0, 0x20, false))).toBeNull();
    expect(r.apply(dma(xhci, 0x10000, 4, true))).toMatchObject({ reason: 5, pageAddr: 0x10000 });
    // a read crossing into the unmapped third page faults on that page
    const rd = r.apply(dma(xhci, 0x11ff8, 16, false));
    expect(rd).toMatchObject({ reason: 6, pageAddr: 0x12000 });
    expect(faultDmesg(rd!)).toBe(
      'DMAR: [DMA Read NO_PASID] Request device [00:14.0] fault addr 0x12000 [fault reason 0x06] PTE Read access is not set',
    );
    r.apply(ctl({ op: 'dma_unmap', bdf: '0000:00:14.0', iova: '0x10000', length: '0x2000' }));
    expect(r.apply(dma(xhci, 0x10000, 4, false))).toMatchObject({ reason: 6 });
    expect(r.tlps).toBe(4);
    expect(r.faults.length).toBe(3);
  });

  it('faults a requester without a context entry: 0x02 on a known bus, 0x01 when the bus has no root entry', () => {
    const r = new Replay(lab());
    expect(r.apply(dma(0x00a8, 0x5123, 4, false))).toMatchObject({ reason: 2, pageAddr: 0x5000 });
    expect(r.apply(dma(0x0300, 0, 4, true))).toMatchObject({ reason: 1 });
  });

  it('blocks DMA while user space owns the group (blocking domain: context cleared → 0x02)', () => {
    const r = new Replay(lab());
    r.apply(ctl({ op: 'device_bind', bdf: '0000:00:14.0' }));
    expect(r.apply(dma(xhci, 0x1000, 4, false))).toMatchObject({ reason: 2 });
  });

  it('never faults a device on an identity domain, and records control events the model refuses', () => {
    const r = new Replay(lab());
    r.apply(ctl({ op: 'default_domain', bdf: '0000:00:02.0', type: 'identity' }));
    expect(r.apply(dma(0x10, 0xdead000, 64, true))).toBeNull();
    r.apply(ctl({ op: 'dma_map', bdf: '0000:00:14.0', iova: '0x0', length: '0x1000' }));
    expect(r.rejected).toMatchObject([{ op: 'dma_map', errno: 'EINVAL' }]);
  });
});
