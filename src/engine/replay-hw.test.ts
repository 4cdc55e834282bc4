// The replay through the VT-d hardware model on the laptop sample (legacy-mode units, DMA-FQ
// default domains). Expected outcomes follow the rules each test names.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildLab } from './lab';
import { loadPlatform } from './platform/index';
import { Replay, type ReplayEvent, type ReplayOptions } from './replay';
import { isProblem, parseControlLine } from '../trace/control-script';

function replay(options: ReplayOptions = {}, name = 'laptop'): Replay {
  const r = loadPlatform(JSON.parse(readFileSync(`traces/platforms/${name}.platform.json`, 'utf8')));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return new Replay(buildLab(r.value), options);
}
function ctl(t: number, json: Record<string, unknown>): ReplayEvent {
  const p = parseControlLine(JSON.stringify({ ...json, t }), 1);
  if (isProblem(p)) throw new Error(p.message);
  return { kind: 'control', time: t, origin: `test@${t}`, event: p.event };
}
const dma = (
  t: number,
  rid: number,
  addr: number,
  write: boolean,
  extra: Partial<ReplayEvent> = {},
): ReplayEvent =>
  ({ kind: 'dma', time: t, requesterId: rid, pasid: null, addr, len: 64, write, ...extra }) as ReplayEvent;

const WIFI = 0x0100; // 01:00.0
const XHCI = 0x00a0; // 00:14.0

function wifiUnmapThenWrite(r: Replay): void {
  r.apply(ctl(1, { op: 'driver_bind', bdf: '0000:01:00.0', driver: 'iwlwifi' }));
  r.apply(ctl(2, { op: 'dma_map', bdf: '0000:01:00.0', iova: '0x100000', length: '0x1000' }));
  expect(r.apply(dma(3, WIFI, 0x100000, true))).toBeNull(); // fills the IOTLB
  r.apply(ctl(4, { op: 'dma_unmap', bdf: '0000:01:00.0', iova: '0x100000', length: '0x1000' }));
}

describe('stale IOTLB (use-after-unmap)', () => {
  it('hardware mode: a DMA-FQ domain keeps translating the unmapped page until the 10 ms flush', () => {
    const r = replay();
    wifiUnmapThenWrite(r);
    expect(r.apply(dma(5, WIFI, 0x100000, true))).toBeNull();
    expect(r.hazards).toEqual([
      expect.objectContaining({
        kind: 'stale-iotlb',
        requesterId: WIFI,
        unmapOrigin: 'test@4',
        unmapTime: 4,
      }),
    ]);
    // after IOVA_FQ_TIMEOUT (10 ms) the flush invalidated the domain: the walk finds no PTE → 0x05
    expect(r.apply(dma(4 + 10_000_000, WIFI, 0x100000, true))).toMatchObject({ reason: 5 });
  });

  it('strict IOTLB mode: no stale translation, the write faults at once', () => {
    const r = replay({ iotlbMode: 'strict' });
    wifiUnmapThenWrite(r);
    expect(r.apply(dma(5, WIFI, 0x100000, true))).toMatchObject({ reason: 5 });
    expect(r.hazards).toEqual([]);
  });

  it('a strict DMA domain invalidates on unmap: no hazard even in hardware mode', () => {
    const r = replay();
    r.apply(ctl(0, { op: 'default_domain', bdf: '0000:01:00.0', type: 'DMA' }));
    wifiUnmapThenWrite(r);
    expect(r.apply(dma(5, WIFI, 0x100000, true))).toMatchObject({ reason: 5 });
    expect(r.hazards).toEqual([]);
  });
});

describe('fault classes for firmware engineers', () => {
  it('rmrr-without-unity-map: a user domain lacks the xHCI RMRR the default domain had', () => {
    const r = replay();
    // on its default domain, the RMRR 0x3e2e0000-0x3e2fffff is unity-mapped
    expect(r.apply(dma(1, XHCI, 0x3e2e0000, false))).toBeNull();
    r.apply(ctl(2, { op: 'ioas_alloc', as: 'ioas' }));
    r.apply(ctl(3, { op: 'device_bind', bdf: '0000:00:14.0', as: 'x' }));
    r.apply(ctl(4, { op: 'device_attach', dev: '$x', pt: '$ioas' }));
    expect(r.apply(dma(5, XHCI, 0x3e2e0000, false))).toMatchObject({
      reason: 6,
      classes: ['rmrr-without-unity-map'],
    });
  });

  it('dma-while-blocked: the group is owned by user space but not attached (context cleared → 0x02)', () => {
    const r = replay();
    r.apply(ctl(1, { op: 'device_bind', bdf: '0000:01:00.0' }));
    expect(r.apply(dma(2, WIFI, 0x1000, false))).toMatchObject({ reason: 2, classes: ['dma-while-blocked'] });
  });

  it('beyond-address-width: above the 48-bit second-level table → 0x04', () => {
    const r = replay();
    r.apply(ctl(1, { op: 'driver_bind', bdf: '0000:01:00.0', driver: 'iwlwifi' }));
    expect(r.apply(dma(2, WIFI, 2 ** 48, false))).toMatchObject({
      reason: 4,
      classes: ['beyond-address-width'],
    });
  });
});

describe('fault recording', () => {
  it('compresses a second fault from the same source while the first is pending, then records again after the drain', () => {
    const r = replay();
    r.apply(ctl(1, { op: 'driver_bind', bdf: '0000:01:00.0', driver: 'iwlwifi' }));
    expect(r.apply(dma(10, WIFI, 0x5000, false))).toMatchObject({ recording: 'recorded' });
    expect(r.apply(dma(20, WIFI, 0x6000, false))).toMatchObject({ recording: 'compressed' });
    // 2 µs later Linux's dmar_fault() has drained the registers
    expect(r.apply(dma(10 + 5_000, WIFI, 0x7000, false))).toMatchObject({ recording: 'recorded' });
  });
});

describe('TEE-IO on the TEE-IO host (private below 0x4000_0000_0000)', () => {
  const NIC = 0x1600;
  function nicOnIdentity(): Replay {
    const r = replay({}, 'tee-io');
    r.apply(ctl(1, { op: 'default_domain', bdf: '0000:16:00.0', type: 'identity' }));
    return r;
  }
  it('T=1 from an interface not in RUN faults, and moves nothing when unlocked', () => {
    const r = nicOnIdentity();
    expect(r.apply(dma(2, NIC, 0x1000, false, { tbit: 1 }))).toMatchObject({
      reason: 0x101,
      stage: 'tee-io',
    });
  });
  it('T=1 in RUN: private passes, shared faults; T=0 to private faults', () => {
    const r = nicOnIdentity();
    r.apply(ctl(2, { op: 'tdisp_lock', bdf: '0000:16:00.0' }));
    r.apply(ctl(3, { op: 'tdisp_run', bdf: '0000:16:00.0' }));
    expect(r.apply(dma(4, NIC, 0x1000, false, { tbit: 1 }))).toBeNull();
    expect(r.apply(dma(5, NIC, 0x400000000000, true, { tbit: 1 }))).toMatchObject({ reason: 0x102 });
    // the violation moved the interface to ERROR
    expect(r.lab.core.devices.get('0000:16:00.0')!.tdisp!.state).toBe('ERROR');
    expect(r.apply(dma(6, NIC, 0x2000, true))).toMatchObject({ reason: 0x103 });
  });
});

describe('FPD (fault processing disable)', () => {
  it('suppresses qualified faults of a context entry with FPD=1 and counts them', () => {
    const r = replay();
    r.apply(ctl(1, { op: 'driver_bind', bdf: '0000:01:00.0', driver: 'iwlwifi' }));
    // Set FPD (context lo bit 1) in the Wi-Fi's legacy context entry, as firmware or a hypervisor might,
    // and flush the context cache so the hardware reads it again.
    const unit = r.driver.unitOfRid.get(WIFI)!;
    const bus = unit.contextTables.get(1)![0]!;
    const entry = bus + (WIFI & 0xff) * 16;
    r.lab.mem.write64Big(entry, r.lab.mem.read64(entry) | 2n);
    unit.caches.context.invalidateAll();
    // a read of an unmapped page: 0x06 is qualified (QEMU vtd_qualified_faults) → suppressed
    expect(r.apply(dma(2, WIFI, 0x9000, false))).toMatchObject({ reason: 6, recording: 'fpd' });
  });
});

describe('the word path (native records) judges like the object path', () => {
  it('gives the same faults and hazards on the laptop sample trace', async () => {
    const { readFileSync: read } = await import('node:fs');
    const { parseTraceJsonl } = await import('../trace/trace-jsonl');
    const { writeTlp } = await import('../trace/native/tlp-record');
    const trace = parseTraceJsonl(read('traces/laptop-demo.trace.jsonl', 'utf8'), 'laptop');
    const objects = replay();
    const words = replay();
    const buf = new Uint32Array(8);
    for (const e of trace.events) {
      objects.apply(e);
      if (e.kind === 'control') words.apply(e);
      else {
        writeTlp(buf, 0, {
          time: e.time,
          requesterId: e.requesterId,
          segment: 0,
          pasid: e.pasid,
          tBit: (e.tbit ?? 0) === 1,
          at: e.at ?? 0,
          access: e.atomic ? 'atomic' : e.write ? 'write' : 'read',
          exec: e.exec ?? false,
          priv: e.priv ?? false,
          addr: BigInt(e.addr),
          len: e.len,
        });
        words.applyTlpWords(buf, 0);
      }
    }
    expect(words.faults).toEqual(objects.faults);
    expect(words.hazards).toEqual(objects.hazards);
    expect(words.faults).toHaveLength(5);
    expect([...words.tlpsByRid]).toEqual([...objects.tlpsByRid]);
  });
});
