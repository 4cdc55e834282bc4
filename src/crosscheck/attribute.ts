// Attributes each guest iommu:map / iommu:unmap to its domain. The 6.1 tracepoints carry no device, and the
// domains of different devices reuse the same IOVAs, so the domain comes from the QEMU invalidation the guest
// issues right after the op (caching mode: after every map; strict mode: after every unmap). Contract:
// - attributeOps() walks the ops in guest order and QEMU's IOTLB invalidations in host order, never going
//   back (the guest's one queued-invalidation stream preserves its order). For op i at host time
//   T = guest time + offset it takes the first page-selective invalidation in [T − before, T + after] whose
//   2^AM-page window covers the op's range and whose domain is consistent with the lab's view of that domain
//   (a map needs the range unmapped there, an unmap needs something mapped); consecutive maps may share
//   one invalidation (iommu_map_sg flushes once for all its segments). Failing that, a domain-selective
//   invalidation in the window (Linux flushes the whole domain when the range exceeds MAMV).
// - An identity map (iova = paddr) that lies in a group's direct-mapped reserved region belongs to that
//   group's domain (iommu_create_device_direct_mappings issues no page-selective invalidation).
// - With neither, the op is attributed by state alone when exactly one domain is consistent with it, else
//   left unattributed (reported, and skipped by the replay).
// - applyTime: when the replay applies the op. The printk follows the PTE write and precedes the
//   invalidation, so the op is applied at min(T, invalidation time − 1 µs), kept in guest order.
// - bracketSamples(): DMAs through pages that their domain mapped exactly once, for align.ts's bracket.
import type { BracketSample } from './align';
import type { DidAssignment, PlatformDevice, PlatformGroup } from './platform';
import type { GuestOp, QemuInvalidationEvent, QemuTranslationEvent } from './types';

export type Evidence = 'psi' | 'dsi' | 'direct-region' | 'state';

export interface Attribution {
  did: (number | null)[];
  evidence: (Evidence | null)[];
  /** QEMU line of the invalidation the op was matched with */
  psiLine: (number | null)[];
  applyTime: number[];
  /** ops matched although the lab's state of the domain disagreed with them */
  conflicts: number[];
  unattributed: number[];
}

export interface AttributeOptions {
  before?: number;
  after?: number;
}

/** Pages tracked per op for the state checks (a larger op is taken as consistent). */
const MAX_TRACKED_PAGES = 1 << 20;

class DomainState {
  private readonly pages = new Map<number, Set<number>>();

  private set(did: number): Set<number> {
    let s = this.pages.get(did);
    if (!s) {
      s = new Set();
      this.pages.set(did, s);
    }
    return s;
  }

  private range(op: GuestOp): [number, number] | null {
    const first = Number(op.iova >> 12n);
    const n = Number((op.size + 0xfffn) >> 12n);
    return n > MAX_TRACKED_PAGES ? null : [first, n];
  }

  consistent(op: GuestOp, did: number): boolean {
    const r = this.range(op);
    if (r === null) return true;
    const s = this.pages.get(did);
    let any = false;
    for (let i = 0; i < r[1]; i++) {
      if (s?.has(r[0] + i)) {
        any = true;
        break;
      }
    }
    return op.op === 'map' ? !any : any || op.unmappedSize === 0n;
  }

  apply(op: GuestOp, did: number): void {
    const r = this.range(op);
    if (r === null) return;
    const s = this.set(did);
    for (let i = 0; i < r[1]; i++) {
      if (op.op === 'map') s.add(r[0] + i);
      else s.delete(r[0] + i);
    }
  }

  dids(): number[] {
    return [...this.pages.keys()];
  }
}

function covers(p: QemuInvalidationEvent, op: GuestOp): boolean {
  if (p.scope !== 'page') return p.scope === 'domain';
  const am = BigInt(p.am);
  const first = op.iova >> 12n;
  const last = (op.iova + (op.size > 0n ? op.size : 1n) - 1n) >> 12n;
  const base = p.addr >> 12n;
  return first >= base && last < base + (1n << am);
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

/** Domain ids of groups whose direct-mapped reserved regions hold [iova, iova + size). */
export function directRegionDids(
  op: GuestOp,
  groups: readonly PlatformGroup[],
  devices: readonly PlatformDevice[],
  assignments: readonly DidAssignment[],
): number[] {
  if (op.op !== 'map' || op.paddr !== op.iova) return [];
  const end = op.iova + op.size - 1n;
  const out = new Set<number>();
  for (const g of groups) {
    const hit = g.reserved.some((r) => r.type.startsWith('direct') && r.start <= op.iova && end <= r.end);
    if (!hit) continue;
    for (const bdf of g.devices) {
      const sid = devices.find((d) => d.bdf === bdf)?.sid;
      const a = assignments.filter((x) => x.sid === sid).pop();
      if (a) out.add(a.did);
    }
  }
  return [...out];
}

export function attributeOps(
  ops: readonly GuestOp[],
  invalidations: readonly QemuInvalidationEvent[],
  offset: number,
  direct: (op: GuestOp) => number[],
  opts: AttributeOptions = {},
): Attribution {
  const before = opts.before ?? 0.0005;
  const after = opts.after ?? 0.02;
  const psis = invalidations.filter((p) => p.scope !== 'global' && p.did !== null);
  const times = psis.map((p) => p.time);
  const n = ops.length;
  const res: Attribution = {
    did: new Array<number | null>(n).fill(null),
    evidence: new Array<Evidence | null>(n).fill(null),
    psiLine: new Array<number | null>(n).fill(null),
    applyTime: new Array<number>(n).fill(0),
    conflicts: [],
    unattributed: [],
  };
  const deadline = new Array<number>(n).fill(Infinity);
  const state = new DomainState();
  let minK = 0;
  let prevK = -1;
  let prevMap = false;
  for (const op of ops) {
    const i = op.index;
    const t = op.time + offset;
    const dd = direct(op);
    if (dd.length === 1) {
      res.did[i] = dd[0]!;
      res.evidence[i] = 'direct-region';
      state.apply(op, dd[0]!);
      continue;
    }
    const from = Math.max(op.op === 'map' && prevMap ? Math.max(prevK, 0) : prevK + 1, minK);
    let chosen = -1;
    let fallback = -1;
    let dsi = -1;
    let dsiFallback = -1;
    for (
      let k = Math.max(from, lowerBound(times, t - before));
      k < psis.length && times[k]! <= t + after;
      k++
    ) {
      const p = psis[k]!;
      if (!covers(p, op)) continue;
      const ok = state.consistent(op, p.did!);
      if (p.scope === 'page') {
        if (ok) {
          chosen = k;
          break;
        }
        if (fallback < 0) fallback = k;
      } else if (ok) {
        if (dsi < 0) dsi = k;
      } else if (dsiFallback < 0) dsiFallback = k;
    }
    let evidence: Evidence = 'psi';
    if (chosen < 0 && dsi >= 0) {
      chosen = dsi;
      evidence = 'dsi';
    }
    if (chosen < 0 && fallback >= 0) {
      chosen = fallback;
      res.conflicts.push(i);
    }
    if (chosen < 0 && dsiFallback >= 0) {
      chosen = dsiFallback;
      evidence = 'dsi';
      res.conflicts.push(i);
    }
    if (chosen >= 0) {
      const p = psis[chosen]!;
      res.did[i] = p.did!;
      res.evidence[i] = evidence;
      res.psiLine[i] = p.line;
      deadline[i] = p.time - 1e-6;
      state.apply(op, p.did!);
      prevK = chosen;
      minK = chosen;
      prevMap = op.op === 'map';
      continue;
    }
    const candidates = state.dids().filter((d) => state.consistent(op, d));
    if (op.op === 'unmap' && candidates.length === 1) {
      res.did[i] = candidates[0]!;
      res.evidence[i] = 'state';
      state.apply(op, candidates[0]!);
    } else res.unattributed.push(i);
  }
  // a long scatter-gather map: its first segments were printed more than `after` before the one flush that
  // covers them all; they take the invalidation of the next segment when its window covers them too
  const byLine = new Map(psis.map((p) => [p.line, p]));
  for (let i = n - 2; i >= 0; i--) {
    const op = ops[i]!;
    const next = ops[i + 1]!;
    if (res.did[i] !== null || op.op !== 'map' || next.op !== 'map' || res.evidence[i + 1] !== 'psi')
      continue;
    const p = byLine.get(res.psiLine[i + 1]!);
    if (!p || !covers(p, op) || p.time < op.time + offset - before) continue;
    res.did[i] = p.did!;
    res.evidence[i] = 'psi';
    res.psiLine[i] = p.line;
    deadline[i] = p.time - 1e-6;
    res.unattributed.splice(res.unattributed.indexOf(i), 1);
  }
  let next = Infinity;
  for (let i = n - 1; i >= 0; i--) {
    next = Math.min(next, deadline[i]!);
    res.applyTime[i] = Math.min(ops[i]!.time + offset, next);
  }
  return res;
}

/** The domain id a requester has at host time t (null before its first assignment). */
export function didAt(assignments: readonly DidAssignment[], sid: number, t: number): number | null {
  let did: number | null = null;
  for (const a of assignments) {
    if (a.time > t) break;
    if (a.sid === sid) did = a.did;
  }
  return did;
}

/** DMAs through pages their domain mapped exactly once (see the header). */
export function bracketSamples(
  ops: readonly GuestOp[],
  attribution: Attribution,
  translations: readonly QemuTranslationEvent[],
  assignments: readonly DidAssignment[],
): BracketSample[] {
  const byPage = new Map<string, number[]>();
  for (const op of ops) {
    const did = attribution.did[op.index];
    if (did === null || did === undefined) continue;
    const first = Number(op.iova >> 12n);
    const pages = Math.min(Number((op.size + 0xfffn) >> 12n), 1 << 16);
    for (let p = 0; p < pages; p++) {
      const key = `${did}:${first + p}`;
      const l = byPage.get(key);
      if (l) l.push(op.index);
      else byPage.set(key, [op.index]);
    }
  }
  const out: BracketSample[] = [];
  for (const t of translations) {
    const did = didAt(assignments, t.sid, t.time);
    if (did === null) continue;
    const list = byPage.get(`${did}:${Number(t.iova >> 12n)}`);
    if (!list) continue;
    const maps = list.filter((i) => ops[i]!.op === 'map');
    if (maps.length !== 1) continue;
    const m = ops[maps[0]!]!;
    const u = list.map((i) => ops[i]!).find((o) => o.op === 'unmap' && o.index > m.index);
    out.push({ dma: t.time, mapTime: m.time, unmapTime: u ? u.time : null });
  }
  return out;
}
