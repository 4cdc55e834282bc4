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

/** Writes a TLP record into words at word offset w (the ring's layout: 8 words a record). */
function rec(
  words: Uint32Array,
  w: number,
  t: number,
  rid: number,
  addr: number,
  access: TlpAccess,
  extra: { len?: number; pasid?: number | null } = {},
): void {
  writeTlp(words, w, {
    time: t,
    requesterId: rid,
    segment: 0,
    pasid: extra.pasid ?? null,
    tBit: false,
    at: 0,
    access,
    exec: false,
    priv: false,
    addr: BigInt(addr),
    len: extra.len ?? 64,
  });
}

/** A marker record as the worker player's decoder writes it: access code 3 in word 3. */
function marker(words: Uint32Array, w: number, t: number): void {
  words.fill(0, w, w + 8);
  words[w] = t;
  words[w + 3] = 0x0300_0000;
}

describe('runs of records (Replay.applyTlpRun)', () => {
  function mapped(options: ReplayOptions = {}): Replay {
    const r = replay(options);
    ctl(r, 1, { op: 'driver_bind', bdf: WIFI_BDF, driver: 'iwlwifi' });
    ctl(r, 2, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    return r;
  }

  it('applies each record as applyTlpWords would, wrapping at the end of the array (a ring)', () => {
    const r = mapped({ keepOutcomes: true });
    // four slots; the run starts at slot 2 and wraps: slots 2, 3, 0, 1
    const ring = new Uint32Array(32);
    rec(ring, 16, 3, WIFI, 0x100000, 'read'); // miss, walk, fill
    rec(ring, 24, 4, WIFI, 0x100040, 'write'); // clean hit
    rec(ring, 0, 5, WIFI, 0x200000, 'read'); // not mapped: 0x6
    rec(ring, 8, 6, WIFI, 0x100f00, 'atomic'); // clean hit
    expect(r.applyTlpRun(ring, 16, 4)).toBe(4);
    expect(r.outcomes).toEqual([0, 0, 6, 0]);
    expect(r.faults).toEqual([expect.objectContaining({ reason: 6, pageAddr: 0x200000, time: 5 })]);
    // the fill and the fault each missed once (the clean-hit check counts nothing when it declines)
    expect(iotlb(r, WIFI)).toEqual([2, 2]);
    expect(r.tlps).toBe(4);
    expect(r.tlpsByRid[WIFI]).toBe(4);
    expect(r.faultsByRid[WIFI]).toBe(1);
    expect(r.time).toBe(6);
  });

  it('stops before a marker record (access code 3) and returns how many it applied', () => {
    const r = mapped();
    const ring = new Uint32Array(32);
    rec(ring, 0, 3, WIFI, 0x100000, 'read');
    rec(ring, 8, 4, WIFI, 0x100000, 'read');
    marker(ring, 16, 5);
    rec(ring, 24, 6, WIFI, 0x100000, 'read');
    expect(r.applyTlpRun(ring, 0, 4)).toBe(2);
    expect(r.tlps).toBe(2);
    expect(r.time).toBe(4);
    expect(r.applyTlpRun(ring, 16, 2)).toBe(0); // a run that starts at the marker applies nothing
    expect(r.applyTlpRun(ring, 24, 1)).toBe(1);
    expect(r.tlps).toBe(3);
    expect(iotlb(r, WIFI)).toEqual([2, 1]);
  });

  it('calls onPasid with the PASID of each record that carries one', () => {
    const r = mapped();
    const ring = new Uint32Array(24);
    rec(ring, 0, 3, WIFI, 0x100000, 'read', { pasid: 5 });
    rec(ring, 8, 4, WIFI, 0x100000, 'read');
    rec(ring, 16, 5, WIFI, 0x100000, 'read', { pasid: 0xfffff });
    const seen: number[] = [];
    expect(r.applyTlpRun(ring, 0, 3, (p) => seen.push(p))).toBe(3);
    expect(seen).toEqual([5, 0xfffff]);
  });

  it('gives what applyTlpWords gives record by record: faults, hazards, counts, IOTLB (a seeded stream)', () => {
    const setup = (): Replay => {
      const r = mapped({ keepOutcomes: true });
      ctl(r, 3, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x300000', length: '0x4000', prot: 'r' });
      return r;
    };
    const a = setup();
    const b = setup();
    const n = 3000;
    const words = new Uint32Array(n * 8);
    let x = 12345;
    const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
    const accesses: TlpAccess[] = ['read', 'write', 'atomic'];
    for (let i = 0; i < n; i++) {
      const k = next() % 16;
      // mapped RW page, read-only pages, unmapped pages, the interrupt window, page-crossing lengths
      const addr =
        k < 8
          ? 0x100000 + (next() % 4096)
          : k < 12
            ? 0x300000 + (next() % 0x4000)
            : k < 14
              ? 0x500000 + (next() % 8) * 4096
              : k < 15
                ? 0xfee00000
                : 0x100ff0;
      rec(words, i * 8, 10 + i * 1000, WIFI, addr, accesses[next() % 3]!, { len: 1 + (next() % 64) });
    }
    // an unmap half-way (DMA-FQ: stale hits until the flush 10 ms later, which the stream crosses)
    const half = n / 2;
    let done = 0;
    while (done < half) done += a.applyTlpRun(words, done * 8, half - done);
    for (let i = 0; i < half; i++) b.applyTlpWords(words, i * 8);
    for (const r of [a, b])
      ctl(r, 10 + half * 1000, { op: 'dma_unmap', bdf: WIFI_BDF, iova: '0x100000', length: '0x1000' });
    while (done < n) done += a.applyTlpRun(words, done * 8, n - done);
    for (let i = half; i < n; i++) b.applyTlpWords(words, i * 8);
    expect(a.faults.length).toBeGreaterThan(100);
    expect(a.hazards.length).toBeGreaterThan(10);
    expect(a.outcomes).toEqual(b.outcomes);
    expect(a.faults).toEqual(b.faults);
    expect(a.hazards).toEqual(b.hazards);
    expect([a.tlps, a.time, a.tlpsByRid[WIFI], a.faultsByRid[WIFI]]).toEqual([
      b.tlps,
      b.time,
      b.tlpsByRid[WIFI],
      b.faultsByRid[WIFI],
    ]);
    expect(iotlb(a, WIFI)).toEqual(iotlb(b, WIFI));
    const ta = a.driver.unitOfRid.get(WIFI)!.caches.iotlb;
    const tb = b.driver.unitOfRid.get(WIFI)!.caches.iotlb;
    expect(ta.e).toEqual(tb.e);
    expect(ta.staleEvent).toEqual(tb.staleEvent);
  });

  it('stops a run of hits at the DMA-FQ flush deadline: the flush empties the domain, the next read misses', () => {
    const r = mapped();
    ctl(r, 3, { op: 'dma_map', bdf: WIFI_BDF, iova: '0x200000', length: '0x1000' });
    const ring = new Uint32Array(32);
    rec(ring, 0, 10, WIFI, 0x100000, 'read'); // miss, walk, fill
    expect(r.applyTlpRun(ring, 0, 1)).toBe(1);
    expect(iotlb(r, WIFI)).toEqual([0, 1]);
    // DMA-FQ: the unmap queues a flush of the whole domain's IOTLB for 10 ms later
    ctl(r, 20, { op: 'dma_unmap', bdf: WIFI_BDF, iova: '0x200000', length: '0x1000' });
    rec(ring, 0, 1_000_000, WIFI, 0x100040, 'read'); // a hit
    rec(ring, 8, 10_000_030, WIFI, 0x100080, 'read'); // past the deadline: flushed, a miss and a refill
    rec(ring, 16, 10_000_040, WIFI, 0x1000c0, 'read'); // a hit again
    expect(r.applyTlpRun(ring, 0, 3)).toBe(3);
    expect(iotlb(r, WIFI)).toEqual([2, 2]);
    expect(r.time).toBe(10_000_040);
  });

  it('drains a pending fault record at the first record of the run 2 µs after it, hits or not', () => {
    const r = mapped();
    const ring = new Uint32Array(40);
    rec(ring, 0, 10, WIFI, 0x100000, 'read'); // fill
    rec(ring, 8, 100, WIFI, 0x300000, 'read'); // not mapped: fault 0x6, recorded, its interrupt pending
    expect(r.applyTlpRun(ring, 0, 2)).toBe(2);
    const fr = r.recorderOf(WIFI)!;
    expect(fr.isPending(0)).toBe(true);
    rec(ring, 0, 1_000, WIFI, 0x100000, 'read'); // a hit 0.9 µs after the fault: still pending
    expect(r.applyTlpRun(ring, 0, 1)).toBe(1);
    expect(fr.isPending(0)).toBe(true);
    // one run: a hit still before the 2 µs, one past them (the driver has read and cleared the record), one more
    rec(ring, 0, 1_500, WIFI, 0x100000, 'read');
    rec(ring, 8, 2_100, WIFI, 0x100000, 'read');
    rec(ring, 16, 3_000, WIFI, 0x100000, 'read');
    expect(r.applyTlpRun(ring, 0, 3)).toBe(3);
    expect(fr.isPending(0)).toBe(false);
    expect(iotlb(r, WIFI)).toEqual([4, 2]);
  });

  it('notes every requester ID it counts in ridsSeen, once', () => {
    const r = mapped();
    const ring = new Uint32Array(24);
    rec(ring, 0, 3, WIFI, 0x100000, 'read');
    rec(ring, 8, 4, 0x0200, 0x100000, 'read'); // another requester
    rec(ring, 16, 5, WIFI, 0x100000, 'read');
    r.applyTlpRun(ring, 0, 3);
    expect(r.ridsSeen).toEqual([WIFI, 0x0200]);
    for (let i = 0; i < 65536; i++) if (r.tlpsByRid[i]) expect(r.ridsSeen).toContain(i);
  });
});
