// Aligns the guest's printk clock with QEMU's host clock from the capture's own evidence
// (host = guest + offset; one constant offset, no drift). Contract:
// - markerBound(): the workload writes "PHASE N … (nvme marker lba=L)" to the kernel log and then reads LBA
//   L, which QEMU logs as pci_nvme_read … lba L. A marker read always comes after its printk, so
//   min(host read − guest printk) is an upper bound of the offset (biased by the time dd takes to start).
// - voteOffset(): with caching mode and strict invalidation, the guest driver follows every iommu:map with a
//   page-selective IOTLB invalidation of the same range that QEMU logs. Each pair (map, covering
//   invalidation) gives a candidate delta = host − guest; the offset is where a `window`-wide interval holds
//   the most distinct maps. The printk comes before its invalidation, so the interval's lower edge is the
//   tightest upper bound of the offset. Candidates are searched in a range: below the marker bound when there
//   is one, above the attach bound otherwise, over every pair without either (at most MAX_PAIRS pairs).
// - attachBound(): the guest prints iommu:attach_device_to_domain after the attach, whose context-cache
//   invalidation QEMU logs, so max(host invalidation − guest printk) is a lower bound of the offset.
// - bracketOffset(): refines with translation ordering. A DMA through a page that its domain mapped exactly
//   once lies between that map's printk and the next unmap's printk: offset ≤ dma − map, offset ≥ dma − unmap.
//   The result clamps the vote into that bracket.
// Nothing here depends on one capture's numbers: only on the order of events the driver guarantees.
import type { GuestOp, NvmeMarker, PhaseMarker, QemuInvalidationEvent } from './types';

export interface MarkerPair {
  phase: number;
  lba: number;
  guestTime: number;
  hostTime: number;
  delta: number;
}

export interface VoteResult {
  offset: number;
  /** maps with a covering invalidation inside the winning window */
  matched: number;
  maps: number;
  window: number;
}

export interface Bracket {
  lo: number;
  hi: number;
  translations: number;
}

/** Pairs each PHASE marker with the first QEMU read of its LBA after the previous pair. */
export function markerPairs(phases: readonly PhaseMarker[], reads: readonly NvmeMarker[]): MarkerPair[] {
  const pairs: MarkerPair[] = [];
  const byLba = new Map<number, NvmeMarker[]>();
  for (const r of reads) {
    const l = byLba.get(r.lba);
    if (l) l.push(r);
    else byLba.set(r.lba, [r]);
  }
  for (const p of phases) {
    if (p.lba === null || p.time === null) continue;
    const r = byLba.get(p.lba)?.[0];
    if (!r) continue;
    pairs.push({ phase: p.phase, lba: p.lba, guestTime: p.time, hostTime: r.time, delta: r.time - p.time });
  }
  return pairs;
}

/** The smallest marker delta: an upper bound of the offset (null without markers). */
export function markerBound(pairs: readonly MarkerPair[]): number | null {
  return pairs.length ? Math.min(...pairs.map((p) => p.delta)) : null;
}

const PAGE = 12n;

/** Invalidations indexed by (AM, first page) for "which invalidations cover this range". */
class PsiIndex {
  private readonly byKey = new Map<string, number[]>();
  readonly ams: number[];

  constructor(psis: readonly QemuInvalidationEvent[]) {
    const ams = new Set<number>();
    for (const p of psis) {
      if (p.scope !== 'page') continue;
      ams.add(p.am);
      const key = `${p.am}:${(p.addr >> PAGE).toString(16)}`;
      const l = this.byKey.get(key);
      if (l) l.push(p.time);
      else this.byKey.set(key, [p.time]);
    }
    this.ams = [...ams].sort((a, b) => a - b);
  }

  /** Times (ascending) of page invalidations whose 2^AM-page window covers [iova, iova + size). */
  covering(iova: bigint, size: bigint): number[][] {
    const first = iova >> PAGE;
    const last = (iova + (size > 0n ? size : 1n) - 1n) >> PAGE;
    const out: number[][] = [];
    for (const am of this.ams) {
      const base = (first >> BigInt(am)) << BigInt(am);
      if (last >> BigInt(am) !== first >> BigInt(am)) continue;
      const l = this.byKey.get(`${am}:${base.toString(16)}`);
      if (l) out.push(l);
    }
    return out;
  }
}

function lowerBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface VoteOptions {
  window?: number;
}

/** Candidate pairs the vote considers at most (a bound on time and memory for huge captures). */
export const MAX_PAIRS = 4_000_000;

/** Where to search the offset: below an upper bound, above a lower bound, or anywhere. */
export function searchRange(upper: number | null, lower: number | null): { lo: number; hi: number } {
  if (upper !== null) return { lo: upper - 2, hi: upper + 0.05 };
  if (lower !== null) return { lo: lower - 0.05, hi: lower + 2 };
  return { lo: -Infinity, hi: Infinity };
}

/** The largest (QEMU context invalidation − guest attach printk) per device: a lower bound of the offset. */
export function attachBound(
  attaches: readonly { bdf: string; time: number | null }[],
  ccDevices: readonly { sid: number; time: number }[],
  sidOf: (bdf: string) => number | null,
): number | null {
  let best: number | null = null;
  const done = new Set<number>();
  for (const a of attaches) {
    const sid = sidOf(a.bdf);
    if (a.time === null || sid === null || done.has(sid)) continue;
    done.add(sid);
    const cc = ccDevices.find((c) => c.sid === sid);
    if (cc) best = Math.max(best ?? -Infinity, cc.time - a.time);
  }
  return best;
}

/** The offset at which most maps are followed by a covering invalidation (see the header). */
export function voteOffset(
  ops: readonly GuestOp[],
  psis: readonly QemuInvalidationEvent[],
  range: { lo: number; hi: number },
  opts: VoteOptions = {},
): VoteResult | null {
  const window = opts.window ?? 0.001;
  const index = new PsiIndex(psis);
  const deltas: number[] = [];
  const owners: number[] = [];
  let maps = 0;
  for (const op of ops) {
    if (op.op !== 'map') continue;
    maps++;
    const { lo, hi } = range;
    if (deltas.length >= MAX_PAIRS) continue;
    for (const times of index.covering(op.iova, op.size)) {
      const start = lo === -Infinity ? 0 : lowerBound(times, op.time + lo);
      for (let i = start; i < times.length && times[i]! - op.time <= hi; i++) {
        deltas.push(times[i]! - op.time);
        owners.push(op.index);
      }
    }
  }
  if (deltas.length === 0) return null;
  const order = deltas.map((_, i) => i).sort((a, b) => deltas[a]! - deltas[b]!);
  const count = new Map<number, number>();
  let distinct = 0;
  let best = -1;
  let bestStart = 0;
  let j = 0;
  for (let i = 0; i < order.length; i++) {
    const start = deltas[order[i]!]!;
    while (j < order.length && deltas[order[j]!]! <= start + window) {
      const o = owners[order[j]!]!;
      const c = count.get(o) ?? 0;
      if (c === 0) distinct++;
      count.set(o, c + 1);
      j++;
    }
    if (distinct > best) {
      best = distinct;
      bestStart = start;
    }
    const o = owners[order[i]!]!;
    const c = count.get(o)! - 1;
    count.set(o, c);
    if (c === 0) distinct--;
  }
  return { offset: bestStart, matched: best, maps, window };
}

/** One DMA of a page and the map/unmap printk times around it, for bracketOffset. */
export interface BracketSample {
  dma: number;
  mapTime: number;
  unmapTime: number | null;
}

/** The interval of offsets every sample allows: [max(dma − unmap), min(dma − map)]. */
export function bracketOffset(samples: readonly BracketSample[]): Bracket | null {
  if (samples.length === 0) return null;
  let lo = -Infinity;
  let hi = Infinity;
  for (const s of samples) {
    hi = Math.min(hi, s.dma - s.mapTime);
    if (s.unmapTime !== null) lo = Math.max(lo, s.dma - s.unmapTime);
  }
  return { lo, hi, translations: samples.length };
}
