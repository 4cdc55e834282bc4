// Replay.applyTlpWords answers a clean IOTLB hit without judging it (VtdTranslator.hit). These cases
// would fail if that shortcut answered from an entry that is gone, stale, or does not grant the access,
// or if it counted the IOTLB differently from VtdTranslator.translate. Expected values are worked out
// by hand from the VT-d legacy-mode fault reasons (0x5 write / 0x6 read: second-level entry not present
// or without the permission) and the IOTLB's counting: a clean hit is one lookup; a miss is one (the
// walk that follows does not look again); an entry found but not usable as is (stale, or without the
// permission) is looked up twice, by translate's fast path and again by its general path.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildLab } from './lab';
import { loadPlatform } from './platform/index';
import { Replay, type ReplayOptions } from './replay';
import { isProblem, parseControlLine } from '../trace/control-script';
import { writeTlp, type TlpAccess } from '../trace/native/tlp-record';

function replay(options: ReplayOptions = {}, name = 'laptop'): Replay {
  const r = loadPlatform(JSON.parse(readFileSync(`traces/platforms/${name}.platform.json`, 'utf8')));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return new Replay(buildLab(r.value), options);
}

function ctl(r: Replay, t: number, json: Record<string, unknown>): void {
  const p = parseControlLine(JSON.stringify({ ...json, t }), 1);
  if (isProblem(p)) throw new Error(p.message);
  r.apply({ kind: 'control', time: t, origin: `test@${t}`, event: p.event });
}

const buf = new Uint32Array(8);
function tlp(
  r: Replay,
  t: number,
  rid: number,
  addr: number,
  access: TlpAccess,
  extra: { len?: number; tBit?: boolean } = {},
) {
  writeTlp(buf, 0, {
    time: t,
    requesterId: rid,
    segment: 0,
    pasid: null,
    tBit: extra.tBit ?? false,
    at: 0,
    access,
    exec: false,
    priv: false,
    addr: BigInt(addr),
    len: extra.len ?? 64,
  });
  return r.applyTlpWords(buf, 0);
}

const WIFI = 0x0100; // 01:00.0 on the laptop sample
const WIFI_BDF = '0000:01:00.0';

/** [hits, misses] of the IOTLB of the unit translating rid */
function iotlb(r: Replay, rid: number): [number, number] {
  const t = r.driver.unitOfRid.get(rid)!.caches.iotlb;
  return [t.hits, t.misses];
}

describe('clean IOTLB hits on the word path', () => {
  it('a strict DMA domain: hit after the fill, then unmap + invalidation → the next read faults 0x6', () => {
    const r = replay();
    ctl(r, 0, { op: 'default_domain', bdf: WIFI_BDF, type: 'DMA' });
    ctl(r, 1, { op: 'driver_bind', bdf: WIFI_BDF, driver: 'iwlwifi' });
    ctl(r, 2, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    expect(tlp(r, 3, WIFI, 0x100040, 'read')).toBeNull(); // miss, walk, fill
    expect(iotlb(r, WIFI)).toEqual([0, 1]);
    expect(tlp(r, 4, WIFI, 0x100080, 'write')).toBeNull(); // the same page: a hit
    expect(tlp(r, 5, WIFI, 0x100f00, 'atomic')).toBeNull(); // a hit (R and W granted)
    expect(iotlb(r, WIFI)).toEqual([2, 1]);
    ctl(r, 6, { op: 'dma_unmap', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    expect(tlp(r, 7, WIFI, 0x100040, 'read')).toMatchObject({ reason: 6, pageAddr: 0x100000 });
    expect(iotlb(r, WIFI)).toEqual([2, 2]);
    expect(r.hazards).toEqual([]);
    expect(r.tlps).toBe(4);
  });

  it('hardware mode, DMA-FQ: hits, then a use-after-unmap hazard, then a fault after the flush', () => {
    const r = replay();
    ctl(r, 1, { op: 'driver_bind', bdf: WIFI_BDF, driver: 'iwlwifi' });
    ctl(r, 2, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    expect(tlp(r, 3, WIFI, 0x100000, 'write')).toBeNull();
    expect(tlp(r, 4, WIFI, 0x100000, 'write')).toBeNull();
    expect(r.hazards).toEqual([]);
    ctl(r, 5, { op: 'dma_unmap', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    // the entry is still cached (the flush queue waits 10 ms) but marked stale: not a clean hit
    expect(tlp(r, 6, WIFI, 0x100000, 'write')).toBeNull();
    expect(tlp(r, 7, WIFI, 0x100100, 'read')).toBeNull();
    expect(r.hazards).toEqual([
      expect.objectContaining({ kind: 'stale-iotlb', time: 6, addr: 0x100000, write: true }),
      expect.objectContaining({ kind: 'stale-iotlb', time: 7, addr: 0x100100, write: false }),
    ]);
    expect(r.hazards[0]).toMatchObject({ unmapOrigin: 'test@5', unmapTime: 5 });
    // a stale entry is found twice per request (translate's fast path, then its general path): 1 + 2 + 2
    expect(iotlb(r, WIFI)).toEqual([5, 1]);
    // 10 ms after the unmap the flush invalidated the domain: the walk finds no entry → 0x5
    expect(tlp(r, 5 + 10_000_000, WIFI, 0x100000, 'write')).toMatchObject({ reason: 5 });
    expect(iotlb(r, WIFI)).toEqual([5, 2]);
    expect(r.hazards).toHaveLength(2);
  });

  it('strict IOTLB mode never takes a cached answer: the read after the unmap faults at once', () => {
    const r = replay({ iotlbMode: 'strict' });
    ctl(r, 1, { op: 'driver_bind', bdf: WIFI_BDF, driver: 'iwlwifi' });
    ctl(r, 2, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    expect(tlp(r, 3, WIFI, 0x100000, 'read')).toBeNull();
    expect(tlp(r, 4, WIFI, 0x100000, 'read')).toBeNull();
    ctl(r, 5, { op: 'dma_unmap', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    expect(tlp(r, 6, WIFI, 0x100000, 'read')).toMatchObject({ reason: 6 });
    expect(r.hazards).toEqual([]);
  });

  it('a hit that does not grant the access is judged: a write after a read of a read-only page faults 0x5', () => {
    const r = replay();
    ctl(r, 1, { op: 'driver_bind', bdf: WIFI_BDF, driver: 'iwlwifi' });
    ctl(r, 2, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000', prot: 'r' });
    expect(tlp(r, 3, WIFI, 0x100000, 'read')).toBeNull();
    expect(tlp(r, 4, WIFI, 0x100000, 'read')).toBeNull();
    expect(tlp(r, 5, WIFI, 0x100000, 'write')).toMatchObject({ reason: 5, recording: 'recorded' });
    expect(tlp(r, 6, WIFI, 0x100000, 'atomic')).toMatchObject({ reason: 5 });
    // the fill missed; the clean read hit once; the write and the atomic each found the entry twice
    // (translate's fast path declines a hit without the permission, its general path finds it again)
    expect(iotlb(r, WIFI)).toEqual([5, 1]);
  });

  it('the T bit is judged on a hit (TEE-IO: T=1 from an interface that is not in RUN)', () => {
    const r = replay();
    ctl(r, 1, { op: 'driver_bind', bdf: WIFI_BDF, driver: 'iwlwifi' });
    ctl(r, 2, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    expect(tlp(r, 3, WIFI, 0x100000, 'read')).toBeNull();
    expect(tlp(r, 4, WIFI, 0x100000, 'read', { tBit: true })).toMatchObject({ stage: 'tee-io' });
    expect(iotlb(r, WIFI)).toEqual([1, 1]);
  });

  it('qemu-7.2 splits an 8-byte DMA in two 4-byte accesses: two IOTLB hits', () => {
    const r = replay({ profile: 'qemu-7.2' });
    ctl(r, 1, { op: 'driver_bind', bdf: WIFI_BDF, driver: 'iwlwifi' });
    ctl(r, 2, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    expect(tlp(r, 3, WIFI, 0x100000, 'read')).toBeNull();
    expect(tlp(r, 4, WIFI, 0x100010, 'read', { len: 8 })).toBeNull();
    expect(iotlb(r, WIFI)).toEqual([2, 1]);
    expect(tlp(r, 5, WIFI, 0x100010, 'read', { len: 4 })).toBeNull();
    expect(iotlb(r, WIFI)).toEqual([3, 1]);
  });

  it('keeps outcomes in order for hits and faults alike', () => {
    const r = replay({ keepOutcomes: true });
    ctl(r, 1, { op: 'driver_bind', bdf: WIFI_BDF, driver: 'iwlwifi' });
    ctl(r, 2, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    tlp(r, 3, WIFI, 0x100000, 'read');
    tlp(r, 4, WIFI, 0x100000, 'read');
    tlp(r, 5, WIFI, 0x200000, 'write');
    tlp(r, 6, WIFI, 0x100000, 'write');
    expect(r.outcomes).toEqual([0, 0, 5, 0]);
    expect(r.tlpsByRid[WIFI]).toBe(4);
    expect(r.faultsByRid[WIFI]).toBe(1);
  });
});
