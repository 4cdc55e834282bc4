// The 'addressSpace' view: what one device (or one PASID of it) can reach now. Contract:
// - The domain is the one in force for the requester: the group's domain for requests without PASID,
//   the PASID's attachment otherwise ('none' when nothing is attached).
// - Paging domains (dma, dma-fq, unmanaged): every present leaf of the second-level table in physical
//   memory, read in address order; effective permissions AND the levels (R, W; second-level entries
//   have no execute bit, so execute follows read). Nested domains: the user's first-level table (its
//   table addresses and outputs go through the parent's second level), R always, W = R/W, X = no XD.
//   Identity: one 1:1 range over the whole input space (pageSize 0). Blocked: nothing. SVA: the
//   process page tables are not modelled (a note says so).
// - Adjacent leaves coalesce into one range when their permissions, page size, the mapping's origin
//   (PagingDomain.mappings: the control event that created it) and TEE-IO output privacy are equal.
//   At most MAX_RANGES ranges (then `truncated`).
// - Reserved regions are the device's (intel_iommu_get_resv_regions, src/engine/platform/resv-regions.ts);
//   the private/shared boundary is the platform's TEE-IO split (src/engine/tee.ts) on output addresses.
// - Fault marks: the Replay's faults of the requester (and PASID), bucketed (bucketFaults). In the
//   engine worker the faults are folded into aggregates and the list is emptied; the host then replaces
//   the marks with faultMarksFromRanges over the per-device 2 MiB aggregates.
// Read-only: it reads PhysMem with readLo/readHi (which never allocate).
import type { Domain, MappedRange as DomainMapping } from '../iommu/domain';
import { PagingDomain } from '../iommu/domain';
import type { PhysMem } from '../mem/phys-mem';
import type { TeeIoSplit } from '../platform/index';
import type { Replay } from '../replay';
import type { AddressSpaceView, FaultMark, MappedRange, ResvRange } from '../../shared/views/address-space';
import type { InspectContext, InspectQuery } from './index';
import { hex, pasidParam, requesterOf } from './walk';

export const MAX_RANGES = 10_000;
export const MAX_FAULT_MARKS = 2000;
const TWO_32 = 2 ** 32;
const PAGE = 4096;

/** One present leaf, as the enumerator reports it. */
export interface Leaf {
  /** 4 KiB page number of the first page (input address >> 12, below the canonical sign extension) */
  pfn: number;
  /** 4 KiB pages the leaf covers */
  pages: number;
  /** output address of the first page, or null when a nested output is not mapped by the parent */
  pa: number | null;
  read: boolean;
  write: boolean;
  execute: boolean;
}

const pagesPerEntry = (level: number): number => 2 ** (9 * (level - 1));
const addrOf = (lo: number, hi: number): number => (hi & 0xfffff) * TWO_32 + ((lo & 0xffff_f000) >>> 0);

/**
 * Calls `emit` for every present leaf under `root`, in address order; stops when emit returns false.
 * `fl`: first-level format (present = P) rather than second-level (present = R|W). `xlate` turns a
 * table or output address into a physical one (nested: through the parent), null when it cannot.
 */
export function forEachLeaf(
  mem: PhysMem,
  root: number,
  levels: number,
  fl: boolean,
  emit: (leaf: Leaf) => boolean,
  xlate: (a: number) => number | null = (a) => a,
): void {
  const visit = (table: number, level: number, base: number, r: boolean, w: boolean, x: boolean): boolean => {
    const n = pagesPerEntry(level);
    for (let i = 0; i < 512; i++) {
      const at = table + i * 8;
      const lo = mem.readLo(at);
      if ((lo & (fl ? 1 : 3)) === 0) continue;
      const hi = mem.readHi(at);
      const er = r && (fl || (lo & 1) !== 0);
      const ew = w && (lo & 2) !== 0;
      const ex = x && (fl ? (hi & 0x8000_0000) === 0 : true);
      const pfn = base + i * n;
      const leaf = level === 1 || ((lo & 0x80) !== 0 && level <= 3);
      const next = xlate(addrOf(lo, hi));
      if (leaf) {
        const ok = emit({ pfn, pages: n, pa: next, read: er, write: ew, execute: fl ? ex : er });
        if (!ok) return false;
      } else if (next !== null && !visit(next, level - 1, pfn, er, ew, ex)) return false;
    }
    return true;
  };
  const top = xlate(root);
  if (top !== null) visit(top, levels, 0, true, true, true);
}

/** Second-level lookup of one address (the parent of a nested domain): output address or null. */
export function slLookup(mem: PhysMem, root: number, levels: number, addr: number): number | null {
  let table = root;
  for (let level = levels; level >= 1; level--) {
    const shift = 12 + 9 * (level - 1);
    const idx = Math.floor(addr / 2 ** shift) % 512;
    const lo = mem.readLo(table + idx * 8);
    if ((lo & 3) === 0) return null;
    const next = addrOf(lo, mem.readHi(table + idx * 8));
    if (level === 1 || ((lo & 0x80) !== 0 && level <= 3)) return next + (addr % 2 ** shift);
    table = next;
  }
  return null;
}

/** Privacy of an output address under the platform's split; null without TEE-IO. */
export function outputPrivacy(split: TeeIoSplit | null, pa: number | null): 'private' | 'shared' | null {
  if (!split || pa === null) return null;
  if (split.kind === 'boundary') return BigInt(pa) < split.boundary ? 'private' : 'shared';
  return Math.floor(pa / 2 ** split.sharedBit) % 2 === 1 ? 'shared' : 'private';
}

interface MapOrigin {
  start: number;
  end: number;
  event: string;
  time: number;
}

/**
 * Coalesces leaves (in address order) into ranges: adjacent, equal permissions, page size, origin and
 * privacy. `originOf` is asked in increasing pfn order. `signExtend` adds the canonical upper half to
 * addresses of the top half of a first-level space.
 */
export class RangeBuilder {
  readonly ranges: MappedRange[] = [];
  truncated = false;
  private cur: { leaf: Leaf; endPfn: number; origin: MapOrigin | null; output: string | null } | null = null;

  constructor(
    private readonly originOf: (pfn: number) => MapOrigin | null,
    private readonly split: TeeIoSplit | null,
    private readonly toAddress: (pfn: number) => bigint = (pfn) => BigInt(pfn) << 12n,
  ) {}

  /** Adds a leaf; false once MAX_RANGES are full. */
  add(leaf: Leaf): boolean {
    const origin = this.originOf(leaf.pfn);
    const output = outputPrivacy(this.split, leaf.pa);
    const c = this.cur;
    if (
      c &&
      c.endPfn === leaf.pfn &&
      c.leaf.pages === leaf.pages &&
      c.leaf.read === leaf.read &&
      c.leaf.write === leaf.write &&
      c.leaf.execute === leaf.execute &&
      c.origin === origin &&
      c.output === output
    ) {
      c.endPfn += leaf.pages;
      return true;
    }
    this.flush();
    if (this.ranges.length >= MAX_RANGES) {
      this.truncated = true;
      return false;
    }
    this.cur = { leaf, endPfn: leaf.pfn + leaf.pages, origin, output };
    return true;
  }

  /** Ends the open range; call once after the last leaf. */
  flush(): void {
    const c = this.cur;
    if (!c) return;
    this.cur = null;
    this.ranges.push({
      start: hex(this.toAddress(c.leaf.pfn)),
      end: hex(this.toAddress(c.endPfn) - 1n),
      pa: c.leaf.pa === null ? '' : hex(c.leaf.pa),
      read: c.leaf.read,
      write: c.leaf.write,
      execute: c.leaf.execute,
      pageSize: c.leaf.pages * PAGE,
      origin: c.origin ? c.origin.event : null,
      originTime: c.origin ? c.origin.time : null,
      output: c.output as MappedRange['output'],
    });
  }
}

/** The origin lookup for a paging domain's mappings: asked in increasing pfn order. */
function originCursor(mappings: readonly DomainMapping[]): (pfn: number) => MapOrigin | null {
  const list: MapOrigin[] = mappings
    .map((m) => ({
      start: Number(m.iova >> 12n),
      end: Number((m.iova + m.length) >> 12n),
      event: m.origin.event,
      time: m.origin.time,
    }))
    .sort((a, b) => a.start - b.start);
  let i = 0;
  return (pfn) => {
    while (i < list.length && list[i]!.end <= pfn) i++;
    const m = list[i];
    return m && m.start <= pfn ? m : null;
  };
}

/** The ranges of a domain, with why they are empty when they are. */
export function domainRanges(
  mem: PhysMem,
  domain: Domain | null,
  addressWidth: number,
  split: TeeIoSplit | null,
): { ranges: MappedRange[]; truncated: boolean; note: string | null; addressWidth: number } {
  if (!domain) return { ranges: [], truncated: false, note: 'nothing is attached', addressWidth };
  if (domain instanceof PagingDomain) {
    const b = new RangeBuilder(originCursor(domain.mappings), split);
    forEachLeaf(mem, domain.table.root, (domain.addressWidth - 12) / 9, false, (l) => b.add(l));
    b.flush();
    return { ranges: b.ranges, truncated: b.truncated, note: null, addressWidth: domain.addressWidth };
  }
  switch (domain.type) {
    case 'blocked':
      return { ranges: [], truncated: false, note: 'blocked: every DMA faults', addressWidth };
    case 'identity': {
      const b = new RangeBuilder(() => IDENTITY_ORIGIN, split);
      // 1:1 pages; split only where the output privacy changes
      const last = 2 ** (addressWidth - 12);
      for (const [from, to] of identityPieces(split, last))
        b.add({ pfn: from, pages: to - from, pa: from * PAGE, read: true, write: true, execute: true });
      b.flush();
      for (const r of b.ranges) r.pageSize = 0;
      return { ranges: b.ranges, truncated: b.truncated, note: 'identity: output = input', addressWidth };
    }
    case 'nested': {
      const parent = domain.parent;
      const pLevels = (parent.addressWidth - 12) / 9;
      const xlate = (gpa: number): number | null => slLookup(mem, parent.table.root, pLevels, gpa);
      const width = domain.s1.addrWidth;
      const half = 2 ** (width - 13);
      const upper = (1n << 64n) - (1n << BigInt(width));
      const b = new RangeBuilder(
        () => null,
        split,
        (pfn) => (BigInt(pfn) << 12n) + (pfn >= half ? upper : 0n),
      );
      forEachLeaf(mem, Number(domain.s1.pgtblAddr), (width - 12) / 9, true, (l) => b.add(l), xlate);
      b.flush();
      return {
        ranges: b.ranges,
        truncated: b.truncated,
        note: `nested: stage 1 at ${hex(domain.s1.pgtblAddr)} over domain ${parent.id}; outputs through it`,
        addressWidth: width,
      };
    }
    case 'sva':
      return {
        ranges: [],
        truncated: false,
        note: `SVA: shares process ${domain.mm}'s page tables, which the lab does not model`,
        addressWidth,
      };
  }
  return { ranges: [], truncated: false, note: null, addressWidth };
}

const IDENTITY_ORIGIN: MapOrigin = { start: 0, end: 0, event: 'identity domain (pass-through)', time: 0 };

/** [from, to) page runs of a 1:1 space of `last` pages on which output privacy is constant. */
function identityPieces(split: TeeIoSplit | null, last: number): [number, number][] {
  const cuts = new Set<number>([0, last]);
  if (split?.kind === 'boundary') {
    const p = Number(split.boundary >> 12n);
    if (p > 0 && p < last) cuts.add(p);
  } else if (split?.kind === 'shared-bit') {
    const step = 2 ** Math.max(0, split.sharedBit - 12);
    for (let p = step; p < last && cuts.size < 66; p += step) cuts.add(p);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  return sorted.slice(1).map((to, i) => [sorted[i]!, to]);
}

/**
 * Fault counts per bucket of `bucketBytes` (4 KiB at first, doubled until at most `limit` buckets),
 * from the faulting pages' addresses. Sorted by address.
 */
export function bucketFaults(
  pages: readonly number[],
  limit = MAX_FAULT_MARKS,
): { marks: FaultMark[]; bucketBytes: number } {
  let size = PAGE;
  let counts = new Map<number, number>();
  for (const p of pages) {
    const k = Math.floor(p / size);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  while (counts.size > limit) {
    size *= 2;
    const next = new Map<number, number>();
    for (const [k, n] of counts) next.set(Math.floor(k / 2), (next.get(Math.floor(k / 2)) ?? 0) + n);
    counts = next;
  }
  const marks = [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([k, count]) => ({
      start: hex(BigInt(k) * BigInt(size)),
      end: hex(BigInt(k + 1) * BigInt(size) - 1n),
      count,
    }));
  return { marks, bucketBytes: size };
}

/**
 * The fault marks of one requester from a native replay's page-range aggregates (ReplayAggregates
 * faultsByRange: per requester `segment << 16 | rid` and `rangeBytes` window).
 */
export function faultMarksFromRanges(
  t: { device: ArrayLike<number>; base: ArrayLike<number>; count: ArrayLike<number>; rangeBytes: number },
  requester: number,
): FaultMark[] {
  const out: { base: number; count: number }[] = [];
  for (let i = 0; i < t.count.length; i++)
    if (t.device[i] === requester) out.push({ base: t.base[i]!, count: t.count[i]! });
  return out
    .sort((a, b) => a.base - b.base)
    .map((m) => ({ start: hex(m.base), end: hex(m.base + t.rangeBytes - 1), count: m.count }));
}

function teeRule(split: TeeIoSplit | null): { sharedBoundary: string | null; sharedRule: string | null } {
  if (!split) return { sharedBoundary: null, sharedRule: null };
  if (split.kind === 'boundary')
    return {
      sharedBoundary: hex(split.boundary),
      sharedRule: `output addresses below ${hex(split.boundary)} are private, the rest shared`,
    };
  return {
    sharedBoundary: hex(1n << BigInt(split.sharedBit)),
    sharedRule: `output addresses with bit ${split.sharedBit} set are shared, the rest private`,
  };
}

/** The view's answer for one requester and PASID. */
export function addressSpace(replay: Replay, bdfText: unknown, pasidValue: unknown): AddressSpaceView {
  const q = requesterOf(replay, bdfText);
  const pasid = pasidParam(pasidValue);
  const dev = q.device;
  const lab = replay.lab;
  const split = lab.platform.teeIo;
  const group = dev?.group;
  const domain: Domain | null = group
    ? pasid === null
      ? group.domain
      : (group.pasids.get(pasid) ?? null)
    : null;
  const r = domainRanges(lab.mem, domain, group?.addressWidth ?? 48, split);
  const pages: number[] = [];
  for (const f of replay.faults)
    if (f.requesterId === q.rid && (pasid === null || f.pasid === pasid)) pages.push(f.pageAddr);
  const { marks, bucketBytes } = bucketFaults(pages);
  const resv: ResvRange[] = (dev?.regions ?? []).map((x) => ({
    type: x.type,
    start: hex(x.start),
    end: hex(x.end),
    source: x.source,
  }));
  return {
    time: replay.time,
    bdf: q.bdf,
    requester: (q.segment << 16) | q.rid,
    pasid,
    domainType: domain ? domain.type : dev ? 'none' : 'no device',
    domainId: domain ? domain.id : null,
    addressWidth: r.addressWidth,
    ranges: r.ranges,
    truncated: r.truncated,
    note: dev ? r.note : `${q.bdf} is not a function of the platform`,
    pasids: group ? [...group.pasids.keys()].sort((a, b) => a - b) : [],
    resv,
    ...teeRule(split),
    faultMarks: marks,
    faultBucketBytes: bucketBytes,
    faultSource: 'faults',
  };
}

export function addressSpaceView({ replay }: InspectContext, q: InspectQuery): AddressSpaceView {
  return addressSpace(replay, q.bdf, q.pasid);
}
