// Replay.applyTlpRun (runs of records, clean IOTLB hits judged a run at a time by VtdTranslator.hitRun)
// must leave exactly what applyTlpWords leaves record by record. A generated trace (several devices behind
// two IOMMU units, PASIDs, T bits, faults, stale unmaps, map/unmap churn) is replayed both ways under both
// fault profiles; the runs go through a small ring (so they wrap) in seeded lengths, with marker records
// between them, and count PASIDs through onPasid. Compared: every outcome, fault and hazard, the counts
// per requester, the time, and each unit's IOTLB (entries, hit and miss counts, stale marks).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildLab } from './lab';
import { loadPlatform, type Platform } from './platform/index';
import { Replay } from './replay';
import type { FaultProfile } from './vtd/translate';
import { TraceGenerator } from '../trace/gen/index';
import { isObservedFault } from '../trace/native/observed-fault';
import { NativeTraceDecoder, TLP_RECORD_WORDS, type DecodedChunk } from '../trace/native/index';

const RING_SLOTS = 61; // not a power of two: runs wrap at odd places
const MARKER = 0x0300_0000; // access code 3

function chunksOf(gen: TraceGenerator): { platform: Platform; chunks: DecodedChunk[] } {
  const dec = new NativeTraceDecoder();
  const chunks: DecodedChunk[] = [];
  let platform: Platform | null = null;
  const take = (items: ReturnType<NativeTraceDecoder['push']>): void => {
    for (const it of items) {
      if (it.kind === 'chunk') chunks.push(it.chunk);
      if (it.kind === 'header') {
        const p = loadPlatform(it.header.platform as Record<string, unknown>);
        if (!p.ok) throw new Error('platform');
        platform = p.value;
      }
    }
  };
  for (const piece of gen.pieces()) take(dec.push(piece.slice()));
  take(dec.end());
  return { platform: platform!, chunks };
}

interface Run {
  replay: Replay;
  pasids: number;
}

/** The trace's records and control events, in order, to `onTlps(records, from, to)` and the replay. */
function feed(
  chunks: DecodedChunk[],
  replay: Replay,
  onTlps: (records: Uint32Array, from: number, to: number) => void,
): void {
  for (const c of chunks) {
    let r = 0;
    for (const e of c.controls) {
      onTlps(c.records, r, e.before);
      r = e.before;
      if (isObservedFault(e.event)) continue;
      const event = e.event.t === undefined ? { ...e.event, t: e.time } : e.event;
      replay.apply({ kind: 'control', time: e.time, origin: 'gen', event });
    }
    onTlps(c.records, r, c.recordCount);
  }
}

function byRecord(platform: Platform, chunks: DecodedChunk[], profile: FaultProfile): Run {
  const replay = new Replay(buildLab(platform), { profile, keepOutcomes: true });
  let pasids = 0;
  feed(chunks, replay, (records, from, to) => {
    for (let i = from; i < to; i++) {
      if ((records[i * TLP_RECORD_WORDS + 3]! & 0x10_0000) !== 0) pasids++;
      replay.applyTlpWords(records, i * TLP_RECORD_WORDS);
    }
  });
  return { replay, pasids };
}

function byRuns(platform: Platform, chunks: DecodedChunk[], profile: FaultProfile, seed: number): Run {
  const replay = new Replay(buildLab(platform), { profile, keepOutcomes: true });
  const ring = new Uint32Array(RING_SLOTS * TLP_RECORD_WORDS);
  let head = 0; // next slot to write
  let x = seed;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
  let pasids = 0;
  const onPasid = (): void => void pasids++;
  feed(chunks, replay, (records, from, to) => {
    let i = from;
    while (i < to) {
      // a run of 1..40 records (fewer at the end), then a marker the run must stop before
      const n = Math.min(to - i, 1 + (next() % 40), RING_SLOTS - 1);
      const start = head;
      for (let k = 0; k < n; k++, i++) {
        ring.set(records.subarray(i * TLP_RECORD_WORDS, (i + 1) * TLP_RECORD_WORDS), head * TLP_RECORD_WORDS);
        head = (head + 1) % RING_SLOTS;
      }
      ring.fill(0, head * TLP_RECORD_WORDS, (head + 1) * TLP_RECORD_WORDS);
      ring[head * TLP_RECORD_WORDS + 3] = MARKER;
      let done = 0;
      while (done < n) {
        const at = ((start + done) % RING_SLOTS) * TLP_RECORD_WORDS;
        // now and then in two calls, the second from the middle of the run
        const ask = next() % 4 === 0 ? Math.max(1, (n - done) >> 1) : RING_SLOTS;
        const got = replay.applyTlpRun(ring, at, ask, onPasid);
        expect(got).toBe(Math.min(ask, n - done));
        done += got;
      }
    }
  });
  return { replay, pasids };
}

function iotlbs(r: Replay): unknown[] {
  const out: unknown[] = [];
  for (const u of new Set(r.driver.unitOfRid.values())) {
    const t = u.caches?.iotlb;
    if (t) out.push([t.hits, t.misses, [...t.e], [...t.staleEvent], [...t.staleTime]]);
  }
  return out;
}

const platformFile = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(`traces/platforms/${name}.platform.json`, 'utf8')) as Record<string, unknown>;

describe('Replay.applyTlpRun against applyTlpWords, on a generated trace', () => {
  // the generator's own platform gives PASID traffic (its devices have the capability); the sample
  // platforms have two IOMMU units each (their devices have no PASID capability): the devices asked for
  // reach both (the generator takes them in platform order; the server's second unit has the 6th)
  const cases = [
    { name: 'synthetic', platform: undefined, devices: 4, pasids: 2, units: 1 },
    { name: 'laptop', platform: platformFile('laptop'), devices: 3, pasids: 0, units: 2 },
    { name: 'server', platform: platformFile('server'), devices: 6, pasids: 0, units: 2 },
  ];
  for (const c of cases) {
    for (const profile of ['vtd-spec', 'qemu-7.2'] as FaultProfile[]) {
      it(`${c.name} platform, ${profile}`, () => {
        const gen = new TraceGenerator({
          seed: 5,
          tlps: 40_000,
          devices: c.devices,
          pasids: c.pasids,
          faultRate: 0.02,
          tbitMix: 0.01,
          staleUnmaps: 6,
          controlEvents: 80,
          recordsPerChunk: 1000,
          ...(c.platform ? { platform: c.platform } : {}),
        });
        const { platform, chunks } = chunksOf(gen);
        const a = byRecord(platform, chunks, profile);
        const b = byRuns(platform, chunks, profile, 77);
        const ra = a.replay;
        const rb = b.replay;
        expect(ra.tlps).toBe(40_000);
        // what the trace must exercise: faults, hazards, PASIDs or more than one unit
        expect(ra.faults.length).toBeGreaterThan(100);
        expect(ra.hazards.length).toBeGreaterThan(0);
        if (c.pasids) expect(a.pasids).toBeGreaterThan(1000);
        const busy = new Set<unknown>();
        for (let rid = 0; rid < 65536; rid++) if (ra.tlpsByRid[rid]) busy.add(ra.driver.unitOfRid.get(rid));
        busy.delete(undefined);
        expect(busy.size).toBe(c.units);
        expect(rb.outcomes).toEqual(ra.outcomes);
        expect(rb.faults).toEqual(ra.faults);
        expect(rb.hazards).toEqual(ra.hazards);
        expect([rb.tlps, rb.time, b.pasids]).toEqual([ra.tlps, ra.time, a.pasids]);
        expect([...rb.tlpsByRid]).toEqual([...ra.tlpsByRid]);
        expect([...rb.faultsByRid]).toEqual([...ra.faultsByRid]);
        expect(iotlbs(rb)).toEqual(iotlbs(ra));
      });
    }
  }
});
