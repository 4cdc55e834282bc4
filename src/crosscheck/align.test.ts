import { describe, expect, it } from 'vitest';
import { attachBound, bracketOffset, markerBound, markerPairs, searchRange, voteOffset } from './align';
import { attributeOps, bracketSamples, didAt } from './attribute';
import type { GuestOp, QemuInvalidationEvent, QemuTranslationEvent } from './types';

const OFFSET = 1000;

function op(index: number, kind: 'map' | 'unmap', time: number, iova: number, size = 0x1000): GuestOp {
  return {
    op: kind,
    index,
    line: index + 1,
    time,
    iova: BigInt(iova),
    size: BigInt(size),
    paddr: kind === 'map' ? BigInt(0x1000_0000 + index * 0x1000) : null,
    unmappedSize: kind === 'unmap' ? BigInt(size) : null,
    raw: '',
  };
}

let line = 100;
function psi(time: number, did: number, addr: number, am = 0): QemuInvalidationEvent {
  return { type: 'iotlb-inv', line: line++, time, scope: 'page', did, addr: BigInt(addr), am, raw: '' };
}

describe('clock alignment', () => {
  it('pairs markers with their reads and bounds the offset by the smallest delta', () => {
    const pairs = markerPairs(
      [
        { phase: 1, line: 1, time: 1.0, text: 'a', lba: null },
        { phase: 2, line: 2, time: 2.0, text: 'b', lba: 0x10 },
        { phase: 3, line: 3, time: 3.0, text: 'c', lba: 0x18 },
      ],
      [
        { line: 5, time: OFFSET + 2.006, lba: 0x10 },
        { line: 6, time: OFFSET + 3.004, lba: 0x18 },
        { line: 7, time: OFFSET + 3.5, lba: 0x18 },
      ],
    );
    expect(pairs.map((p) => [p.phase, p.lba])).toEqual([
      [2, 0x10],
      [3, 0x18],
    ]);
    expect(markerBound(pairs)).toBeCloseTo(OFFSET + 0.004, 9);
    expect(markerBound([])).toBeNull();
  });

  it('finds the offset at which maps are followed by their invalidation', () => {
    // three maps, each invalidated 50–200 µs after its printk; a stray earlier invalidation of the same page
    const ops = [op(0, 'map', 1.0, 0xfffff000), op(1, 'map', 1.5, 0xffffe000), op(2, 'map', 2.0, 0xffffd000)];
    const psis = [
      psi(OFFSET + 0.7, 5, 0xfffff000),
      psi(OFFSET + 1.00005, 4, 0xfffff000),
      psi(OFFSET + 1.5002, 4, 0xffffe000),
      psi(OFFSET + 2.0001, 4, 0xffffd000),
    ];
    const v = voteOffset(ops, psis, searchRange(OFFSET + 0.005, null))!;
    expect(v.matched).toBe(3);
    expect(v.maps).toBe(3);
    expect(v.offset).toBeCloseTo(OFFSET + 0.00005, 9);
    // without markers the vote searches above the attach bound, or every pair, and finds the same offset
    expect(voteOffset(ops, psis, searchRange(null, OFFSET - 0.01))!.offset).toBeCloseTo(OFFSET + 0.00005, 9);
    expect(voteOffset(ops, psis, searchRange(null, null))!.offset).toBeCloseTo(OFFSET + 0.00005, 9);
  });

  it('bounds the offset from below by the attach printks and their context invalidations', () => {
    const sid = (bdf: string): number | null =>
      bdf === '0000:00:03.0' ? 0x18 : bdf === '0000:00:04.0' ? 0x20 : null;
    const b = attachBound(
      [
        { bdf: '0000:00:03.0', time: 1.0 },
        { bdf: '0000:00:04.0', time: 1.2 },
        { bdf: '0000:00:03.0', time: 5.0 },
      ],
      [
        { sid: 0x18, time: OFFSET + 0.9995 },
        { sid: 0x20, time: OFFSET + 1.1999 },
      ],
      sid,
    );
    expect(b).toBeCloseTo(OFFSET - 0.0001, 9);
    expect(attachBound([], [], sid)).toBeNull();
  });

  it('brackets the offset between map printk and unmap printk of each DMA', () => {
    const b = bracketOffset([
      { dma: OFFSET + 1.001, mapTime: 1.0, unmapTime: 1.002 },
      { dma: OFFSET + 2.0005, mapTime: 2.0, unmapTime: null },
    ])!;
    expect(b.lo).toBeCloseTo(OFFSET - 0.001, 9);
    expect(b.hi).toBeCloseTo(OFFSET + 0.0005, 9);
    expect(bracketOffset([])).toBeNull();
  });
});

describe('domain attribution', () => {
  it('gives the same IOVA to the domain whose invalidation follows each op', () => {
    // domain 4 maps X, then domain 3 maps X, then domain 3 unmaps X: the invalidations tell them apart
    const X = 0xfffff000;
    const ops = [op(0, 'map', 1.0, X), op(1, 'map', 1.0002, X), op(2, 'unmap', 1.1, X)];
    const psis = [psi(OFFSET + 1.0001, 4, X), psi(OFFSET + 1.0003, 3, X), psi(OFFSET + 1.1001, 3, X)];
    const a = attributeOps(ops, psis, OFFSET, () => []);
    expect(a.did).toEqual([4, 3, 3]);
    expect(a.evidence).toEqual(['psi', 'psi', 'psi']);
    expect(a.conflicts).toEqual([]);
    // each op is applied before its invalidation, in guest order
    expect(a.applyTime[0]).toBeLessThan(OFFSET + 1.0001);
    expect(a.applyTime[1]).toBeLessThan(OFFSET + 1.0003);
    expect(a.applyTime[2]).toBeLessThan(OFFSET + 1.1001);
  });

  it('lets the segments of a scatter-gather map share their one invalidation', () => {
    const ops = [op(0, 'map', 1.0, 0xfffc1000, 0x2000), op(1, 'map', 1.0001, 0xfffc3000, 0x1000)];
    const a = attributeOps(ops, [psi(OFFSET + 1.0003, 4, 0xfffc0000, 2)], OFFSET, () => []);
    expect(a.did).toEqual([4, 4]);
    expect(a.psiLine[0]).toBe(a.psiLine[1]);
  });

  it('attributes an identity map by its direct-mapped reserved region, and a flushless unmap by state', () => {
    const ops = [op(0, 'map', 1.0, 0, 0x100_0000), op(1, 'unmap', 5.0, 0, 0x100_0000)];
    ops[0]!.paddr = 0n;
    const a = attributeOps(ops, [], OFFSET, (o) => (o.op === 'map' && o.paddr === o.iova ? [5] : []));
    expect(a.did).toEqual([5, 5]);
    expect(a.evidence).toEqual(['direct-region', 'state']);
    expect(a.unattributed).toEqual([]);
  });

  it('leaves an op it cannot place unattributed', () => {
    const a = attributeOps([op(0, 'map', 1.0, 0x5000)], [psi(OFFSET + 9, 4, 0x5000)], OFFSET, () => []);
    expect(a.did).toEqual([null]);
    expect(a.unattributed).toEqual([0]);
  });

  it('collects bracket samples for pages their domain mapped once', () => {
    const X = 0xfffff000;
    const ops = [op(0, 'map', 1.0, X), op(1, 'unmap', 1.1, X)];
    const a = attributeOps(ops, [psi(OFFSET + 1.0001, 3, X), psi(OFFSET + 1.1001, 3, X)], OFFSET, () => []);
    const assignments = [{ time: 0, sid: 0x18, did: 3, line: 1, evidence: 'attach-invalidation' as const }];
    expect(didAt(assignments, 0x18, OFFSET)).toBe(3);
    expect(didAt(assignments, 0x20, OFFSET)).toBeNull();
    const t: QemuTranslationEvent = {
      type: 'translation',
      line: 1,
      time: OFFSET + 1.05,
      sid: 0x18,
      bdf: '0000:00:03.0',
      iova: BigInt(X),
      gpa: 0x1000_0000n,
      mask: 0xfffn,
      addr: BigInt(X),
      pte: null,
      domain: 3,
      result: 'miss',
      raw: '',
    };
    expect(bracketSamples(ops, a, [t], assignments)).toEqual([
      { dma: OFFSET + 1.05, mapTime: 1.0, unmapTime: 1.1 },
    ]);
  });
});
