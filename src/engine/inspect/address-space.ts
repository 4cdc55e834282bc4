// The 'addressSpace' view: what one device (or one PASID of it) can reach now. Contract:
// - The domain is the one in force for the requester: the group's domain for requests without PASID,
//   the PASID's attachment otherwise ('none' when nothing is attached).
// - Paging domains (dma, dma-fq, unmanaged): every present leaf of the second-level table in physical
//   memory, read in address order; effective permissions AND the levels (R, W; second-level entries
//   have no execute bit, so execute follows read). Nested domains: the user's first-level table (its
//   table addresses go through the parent's second level), stage 1 R always, W = R/W, X = no XD; each
//   stage-1 leaf (IOVA → GPA) is cut where the parent's second level changes (a leaf or hole boundary),
//   and every piece says where stage 2 maps its GPAs (pa = HPA, '' when not) and the effective rights
//   (R = R1 & R2, W = W1 & W2, X = X1 & R2); the pieces' page size is the smaller leaf of the two. The
//   parent's own ranges are given too (`stage2`).
//   Identity: one 1:1 range over the whole input space (pageSize 0). Blocked: nothing. SVA: the
//   process page tables are not modelled (a note says so).
// - Adjacent leaves coalesce into one range when their permissions, page size, the mapping's origin
//   (PagingDomain.mappings: the control event that created it) and TEE-IO output privacy are equal;
//   nested pieces also need equal stage rights and contiguous GPAs and HPAs.
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
import type {
  AddressSpaceView,
  FaultMark,
  MappedRange,
  ResvRange,
  Stage2Space,
} from '../../shared/views/address-space';
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
  /** the entry's output address before `xlate` (a nested stage-1 leaf: the GPA) */
  out?: number;
  /** leaf size in 4 KiB pages when a piece is smaller than its leaf (nested pieces); else `pages` */
  pageSize?: number;
  /** nested pieces: both stages */
  nested?: NestedPiece;
}

/** The stages of a nested piece (MappedRange.nested before formatting). */
export interface NestedPiece {
  gpa: number;
  s1: { read: boolean; write: boolean; execute: boolean };
  s2: { read: boolean; write: boolean } | null;
  /** stage-1 leaf size, pages */
  s1Pages: number;
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
        const raw = addrOf(lo, hi);
        const ok = emit({ pfn, pages: n, pa: next, read: er, write: ew, execute: fl ? ex : er, out: raw });
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

/** The second-level entry (leaf or hole) an address falls in, with the rights AND-ed down to it. */
export interface SlEntry {
  /** output address of the entry's first page; null for a hole (a non-present entry) */
  pa: number | null;
  /** first 4 KiB page of the entry's input range, and its size in pages */
  pfn: number;
  pages: number;
  read: boolean;
  write: boolean;
}

/** Second-level lookup of one address with the extent of the leaf or hole it hits. */
export function slEntryAt(mem: PhysMem, root: number, levels: number, addr: number): SlEntry {
  let table = root;
  let read = true;
  let write = true;
  for (let level = levels; level >= 1; level--) {
    const shift = 12 + 9 * (level - 1);
    const pages = pagesPerEntry(level);
    const idx = Math.floor(addr / 2 ** shift) % 512;
    const pfn = Math.floor(addr / 2 ** shift) * pages;
    const lo = mem.readLo(table + idx * 8);
    if ((lo & 3) === 0) return { pa: null, pfn, pages, read: false, write: false };
    read &&= (lo & 1) !== 0;
    write &&= (lo & 2) !== 0;
    const next = addrOf(lo, mem.readHi(table + idx * 8));
    if (level === 1 || ((lo & 0x80) !== 0 && level <= 3)) return { pa: next, pfn, pages, read, write };
    table = next;
  }
  return { pa: null, pfn: Math.floor(addr / PAGE), pages: 1, read: false, write: false };
}

/**
 * Cuts one nested stage-1 leaf (output `leaf.out`, a GPA) into pieces on which the parent's second
 * level is one leaf or one hole, and emits them with the effective rights. False when emit stops.
 */
export function nestedPieces(
  mem: PhysMem,
  parent: { root: number; levels: number; addressWidth: number },
  leaf: Leaf,
  emit: (piece: Leaf) => boolean,
): boolean {
  const gpa = leaf.out ?? 0;
  const s1 = { read: leaf.read, write: leaf.write, execute: leaf.execute };
  const limit = 2 ** parent.addressWidth;
  for (let off = 0; off < leaf.pages;) {
    const g = gpa + off * PAGE;
    const gp = Math.floor(g / PAGE);
    const e: SlEntry =
      g >= limit
        ? { pa: null, pfn: gp, pages: leaf.pages - off, read: false, write: false }
        : slEntryAt(mem, parent.root, parent.levels, g);
    const pieces = Math.min(e.pfn + e.pages - gp, leaf.pages - off);
    const s2 = e.pa === null ? null : { read: e.read, write: e.write };
    const ok = emit({
      pfn: leaf.pfn + off,
      pages: pieces,
      pageSize: e.pa === null ? leaf.pages : Math.min(leaf.pages, e.pages),
      pa: e.pa === null ? null : e.pa + (gp - e.pfn) * PAGE,
      read: s1.read && !!s2?.read,
      write: s1.write && !!s2?.write,
      execute: s1.execute && !!s2?.read,
      nested: { gpa: g, s1, s2, s1Pages: leaf.pages },
    });
    if (!ok) return false;
    off += pieces;
  }
  return true;
}

const sameRights = (
  a: { read: boolean; write: boolean; execute?: boolean } | null,
  b: { read: boolean; write: boolean; execute?: boolean } | null,
): boolean => a === b || (!!a && !!b && a.read === b.read && a.write === b.write && a.execute === b.execute);

/** Whether nested piece `n` continues `c` (which covers `pages` pages so far): same stages, contiguous. */
function continuesNested(c: Leaf, pages: number, n: Leaf): boolean {
  const a = c.nested;
  const b = n.nested;
  if (!a || !b) return a === b;
  return (
    a.s1Pages === b.s1Pages &&
    sameRights(a.s1, b.s1) &&
    sameRights(a.s2, b.s2) &&
    a.gpa + pages * PAGE === b.gpa &&
    (c.pa === null ? n.pa === null : n.pa === c.pa + pages * PAGE)
  );
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
      (c.leaf.pageSize ?? c.leaf.pages) === (leaf.pageSize ?? leaf.pages) &&
      continuesNested(c.leaf, c.endPfn - c.leaf.pfn, leaf) &&
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
    const n = c.leaf.nested;
    this.ranges.push({
      start: hex(this.toAddress(c.leaf.pfn)),
      end: hex(this.toAddress(c.endPfn) - 1n),
      pa: c.leaf.pa === null ? '' : hex(c.leaf.pa),
      read: c.leaf.read,
      write: c.leaf.write,
      execute: c.leaf.execute,
      pageSize: (c.leaf.pageSize ?? c.leaf.pages) * PAGE,
      origin: c.origin ? c.origin.event : null,
      originTime: c.origin ? c.origin.time : null,
      output: c.output as MappedRange['output'],
      ...(n && {
        nested: {
          gpa: hex(n.gpa),
          s2Mapped: n.s2 !== null,
          s1: n.s1,
          s2: n.s2,
          s1PageSize: n.s1Pages * PAGE,
        },
      }),
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
): DomainRanges {
  const r = domainRangesOnly(mem, domain, addressWidth, split);
  return { stage2: null, ...r };
}

interface DomainRanges {
  ranges: MappedRange[];
  truncated: boolean;
  note: string | null;
  addressWidth: number;
  /** nested: the parent's own ranges */
  stage2: Stage2Space | null;
}

function pagingRanges(mem: PhysMem, domain: PagingDomain, split: TeeIoSplit | null): Stage2Space {
  const b = new RangeBuilder(originCursor(domain.mappings), split);
  forEachLeaf(mem, domain.table.root, (domain.addressWidth - 12) / 9, false, (l) => b.add(l));
  b.flush();
  return { domainId: domain.id, ranges: b.ranges, truncated: b.truncated, addressWidth: domain.addressWidth };
}

function domainRangesOnly(
  mem: PhysMem,
  domain: Domain | null,
  addressWidth: number,
  split: TeeIoSplit | null,
): Omit<DomainRanges, 'stage2'> & { stage2?: Stage2Space } {
  if (!domain) return { ranges: [], truncated: false, note: 'nothing is attached', addressWidth };
  if (domain instanceof PagingDomain) {
    const p = pagingRanges(mem, domain, split);
    return { ranges: p.ranges, truncated: p.truncated, note: null, addressWidth: domain.addressWidth };
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
      const s2 = { root: parent.table.root, levels: pLevels, addressWidth: parent.addressWidth };
      const emit = (l: Leaf): boolean => nestedPieces(mem, s2, l, (p) => b.add(p));
      forEachLeaf(mem, Number(domain.s1.pgtblAddr), (width - 12) / 9, true, emit, xlate);
      b.flush();
      return {
        ranges: b.ranges,
        truncated: b.truncated,
        note:
          `nested: stage 1 at ${hex(domain.s1.pgtblAddr)} (IOVA → GPA) over stage-2 domain ${parent.id} ` +
          '(GPA → HPA); effective rights are the intersection of both stages',
        addressWidth: width,
        stage2: pagingRanges(mem, parent, split),
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
    stage2: r.stage2,
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
