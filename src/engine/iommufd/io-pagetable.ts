// The io_pagetable behind an IOAS (Linux drivers/iommu/iommufd/io_pagetable.c): IOVA areas backed by
// pinned pages, the allowed and reserved IOVA lists, the IOVA alignment, and the paging domains every
// area is loaded into. Each verb returns the errno the kernel returns for the same input, checked in
// the kernel's order. IOVAs, lengths and addresses are 64-bit and exact (bigint): this is control
// plane, never the per-TLP path.
import { fail, ok, type Failure, type Result } from '../errno';

export const PAGE_SIZE = 4096n;
export const ULONG_MAX = (1n << 64n) - 1n;

/** The memory an area maps: `length` bytes starting at physical address `pa` (as if pinned). */
export interface Pages {
  /** user virtual address the pages were pinned from (0n when not known) */
  uptr: bigint;
  pa: bigint;
  length: bigint;
  writable: boolean;
}

export interface Prot {
  read: boolean;
  write: boolean;
}

export interface Area {
  iova: bigint;
  /** inclusive */
  last: bigint;
  pages: Pages;
  /** byte offset of iova within pages */
  startByte: bigint;
  prot: Prot;
}

export interface Span {
  start: bigint;
  /** inclusive */
  last: bigint;
}

export interface Reserved extends Span {
  /** what reserved it: a device, a domain aperture, a test */
  owner: object;
  why: string;
}

/** A paging domain as the io_pagetable sees it (the HWPT implements it over real page tables). */
export interface IoptDomain {
  /** smallest page size the domain supports */
  readonly minPageSize: bigint;
  readonly apertureStart: bigint;
  readonly apertureEnd: bigint;
  map(iova: bigint, pa: bigint, length: bigint, prot: Prot): Failure | null;
  unmap(iova: bigint, length: bigint): void;
}

const overlaps = (a: Span, start: bigint, last: bigint): boolean => a.start <= last && start <= a.last;

function roundupPow2(n: bigint): bigint {
  let p = 1n;
  while (p < n) p <<= 1n;
  return p;
}
function lowestSetBit(n: bigint): bigint {
  return n & -n;
}
const alignUp = (v: bigint, a: bigint): bigint => ((v + a - 1n) / a) * a;

export class IoPagetable {
  /** sorted by iova */
  readonly areas: Area[] = [];
  allowed: Span[] = [];
  readonly reserved: Reserved[] = [];
  readonly domains: IoptDomain[] = [];
  iovaAlignment = 1n;
  disableLargePages = false;

  areaAt(iova: bigint): Area | undefined {
    return this.areas.find((a) => a.iova <= iova && iova <= a.last);
  }

  private firstArea(start: bigint, last: bigint): Area | undefined {
    return this.areas.find((a) => a.iova <= last && start <= a.last);
  }
  private firstReserved(start: bigint, last: bigint): Reserved | undefined {
    return this.reserved.find((r) => overlaps(r, start, last));
  }
  private firstAllowed(start: bigint, last: bigint): Span | undefined {
    return this.allowed.find((r) => overlaps(r, start, last));
  }

  /** iopt_check_iova: a fixed IOVA must be aligned, not reserved and not mapped. */
  private checkIova(iova: bigint, length: bigint): Failure | null {
    if (iova & (this.iovaAlignment - 1n))
      return fail('EINVAL', `IOVA 0x${iova.toString(16)} is not aligned to ${this.iovaAlignment}`);
    const last = iova + length - 1n;
    if (last > ULONG_MAX) return fail('EOVERFLOW', 'iova + length overflows');
    const r = this.firstReserved(iova, last);
    if (r)
      return fail(
        'EINVAL',
        `range intersects reserved IOVA [0x${r.start.toString(16)}-0x${r.last.toString(16)}] (${r.why})`,
      );
    const a = this.firstArea(iova, last);
    if (a)
      return fail(
        'EEXIST',
        `range overlaps the area mapped at 0x${a.iova.toString(16)}-0x${a.last.toString(16)}`,
      );
    return null;
  }

  /** iopt_alloc_iova: first fit in allowed spans (or [PAGE_SIZE, ULONG_MAX-PAGE_SIZE]) avoiding areas and reserved. */
  allocIova(uptr: bigint, length: bigint): Result<bigint> {
    if (length === 0n || length >= ULONG_MAX / 2n) return fail('EOVERFLOW', 'length too large to allocate');
    const pageOffset = uptr % PAGE_SIZE;
    let align = roundupPow2(length);
    if (uptr !== 0n) {
      const low = lowestSetBit(uptr);
      if (low < align) align = low;
    }
    if (align < this.iovaAlignment)
      return fail('EINVAL', `IOVA alignment ${align} is below the IOAS alignment ${this.iovaAlignment}`);
    const lo = PAGE_SIZE;
    const hi = ULONG_MAX - PAGE_SIZE;
    const allowedSpans: Span[] =
      this.allowed.length === 0
        ? [{ start: lo, last: hi }]
        : [...this.allowed]
            .sort((a, b) => (a.start < b.start ? -1 : 1))
            .map((s) => ({ start: s.start > lo ? s.start : lo, last: s.last < hi ? s.last : hi }))
            .filter((s) => s.start <= s.last);
    const used: Span[] = [...this.reserved, ...this.areas.map((a) => ({ start: a.iova, last: a.last }))].sort(
      (a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0),
    );
    for (const span of allowedSpans) {
      let cursor = span.start;
      const holes: Span[] = [];
      for (const u of used) {
        if (u.last < cursor || u.start > span.last) continue;
        if (u.start > cursor) holes.push({ start: cursor, last: u.start - 1n });
        if (u.last >= span.last) {
          cursor = span.last + 1n;
          break;
        }
        cursor = u.last + 1n > cursor ? u.last + 1n : cursor;
      }
      if (cursor <= span.last) holes.push({ start: cursor, last: span.last });
      for (const h of holes) {
        if (h.last - h.start < length - 1n) continue;
        const start = alignUp(h.start, align) | pageOffset;
        if (start > h.last || h.last - start < length - 1n) continue;
        return ok(start);
      }
    }
    return fail('ENOSPC', `no free IOVA range of ${length} bytes`);
  }

  /**
   * iopt_map_pages: inserts one area at a fixed or allocated IOVA and loads it into every domain,
   * all or nothing. Returns the IOVA.
   */
  map(pages: Pages, startByte: bigint, length: bigint, prot: Prot, fixedIova: bigint | null): Result<bigint> {
    if (length & (this.iovaAlignment - 1n) || length === 0n) {
      return fail(
        'EINVAL',
        length === 0n
          ? 'length is 0'
          : `length is not a multiple of the IOAS alignment ${this.iovaAlignment}`,
      );
    }
    let iova: bigint;
    if (fixedIova === null) {
      const r = this.allocIova(pages.uptr + startByte, length);
      if (!r.ok) return r;
      iova = r.value;
    } else {
      const bad = this.checkIova(fixedIova, length);
      if (bad) return bad;
      iova = fixedIova;
    }
    if (prot.write && !pages.writable) return fail('EPERM', 'writeable mapping of read-only memory');
    if (((pages.pa + startByte) % PAGE_SIZE) & (this.iovaAlignment - 1n)) {
      return fail('EINVAL', 'page offset is not aligned to the IOAS alignment');
    }
    const area: Area = { iova, last: iova + length - 1n, pages, startByte, prot };
    const done: IoptDomain[] = [];
    for (const d of this.domains) {
      const err = d.map(iova, pages.pa + startByte, length, prot);
      if (err) {
        for (const u of done) u.unmap(iova, length);
        return err;
      }
      done.push(d);
    }
    this.areas.push(area);
    this.areas.sort((a, b) => (a.iova < b.iova ? -1 : 1));
    return ok(iova);
  }

  /**
   * iopt_unmap_iova_range: removes every area in [start, last], lowest first. An area only partly
   * inside the range stops the walk with ENOENT — areas already removed stay removed, as in the kernel.
   */
  private unmapRange(start: bigint, last: bigint): { result: Result<bigint>; unmapped: bigint } {
    let unmapped = 0n;
    for (;;) {
      const area = this.firstArea(start, last);
      if (!area) break;
      if (area.iova < start || area.last > last) {
        const msg = `area 0x${area.iova.toString(16)}-0x${area.last.toString(16)} is not fully inside the range (no splitting)`;
        return { result: fail('ENOENT', msg), unmapped };
      }
      const len = area.last - area.iova + 1n;
      for (const d of this.domains) d.unmap(area.iova, len);
      this.areas.splice(this.areas.indexOf(area), 1);
      unmapped += len;
    }
    return {
      result: unmapped === 0n ? fail('ENOENT', 'nothing is mapped in the range') : ok(unmapped),
      unmapped,
    };
  }

  unmap(iova: bigint, length: bigint): Result<bigint> {
    if (length === 0n) return fail('EINVAL', 'length is 0');
    const last = iova + length - 1n;
    if (last > ULONG_MAX) return fail('EOVERFLOW', 'iova + length overflows');
    return this.unmapRange(iova, last).result;
  }

  /** iopt_unmap_all: succeeds even when nothing is mapped. */
  unmapAll(): bigint {
    return this.unmapRange(0n, ULONG_MAX).unmapped;
  }

  /** iopt_get_pages: the source of a COPY must be covered by contiguous areas. */
  getPages(iova: bigint, length: bigint): Result<{ pages: Pages; startByte: bigint; length: bigint }[]> {
    if (length === 0n) return fail('EINVAL', 'length is 0');
    const last = iova + length - 1n;
    if (last > ULONG_MAX) return fail('EOVERFLOW', 'iova + length overflows');
    const out: { pages: Pages; startByte: bigint; length: bigint }[] = [];
    let cur = iova;
    while (cur <= last) {
      const a = this.areaAt(cur);
      if (!a) return fail('ENOENT', `IOVA 0x${cur.toString(16)} is not mapped`);
      const end = a.last < last ? a.last : last;
      out.push({ pages: a.pages, startByte: a.startByte + (cur - a.iova), length: end - cur + 1n });
      if (end === ULONG_MAX) break;
      cur = end + 1n;
    }
    return ok(out);
  }

  /** iopt_reserve_iova: EADDRINUSE when an area or an allowed range intersects. */
  reserve(start: bigint, last: bigint, owner: object, why: string): Failure | null {
    const a = this.firstArea(start, last);
    if (a)
      return fail(
        'EADDRINUSE',
        `reserved range 0x${start.toString(16)}-0x${last.toString(16)} (${why}) intersects a mapped area`,
      );
    if (this.firstAllowed(start, last)) {
      return fail(
        'EADDRINUSE',
        `reserved range 0x${start.toString(16)}-0x${last.toString(16)} (${why}) intersects an allowed range`,
      );
    }
    this.reserved.push({ start, last, owner, why });
    return null;
  }

  removeReserved(owner: object): void {
    for (let i = this.reserved.length - 1; i >= 0; i--)
      if (this.reserved[i]!.owner === owner) this.reserved.splice(i, 1);
  }

  /** iopt_set_allow_iova: replaces the allowed list atomically; EADDRINUSE if any range is reserved. */
  setAllowed(ranges: Span[]): Failure | null {
    for (const r of ranges) {
      if (this.firstReserved(r.start, r.last)) {
        return fail(
          'EADDRINUSE',
          `allowed range 0x${r.start.toString(16)}-0x${r.last.toString(16)} intersects a reserved range`,
        );
      }
    }
    this.allowed = ranges.map((r) => ({ ...r }));
    return null;
  }

  /** The holes of the reserved list (IOMMU_IOAS_IOVA_RANGES). */
  iovaRanges(): Span[] {
    const res = [...this.reserved].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const out: Span[] = [];
    let cursor = 0n;
    let done = false;
    for (const r of res) {
      if (r.start > cursor) out.push({ start: cursor, last: r.start - 1n });
      if (r.last >= ULONG_MAX) {
        done = true;
        break;
      }
      if (r.last + 1n > cursor) cursor = r.last + 1n;
    }
    if (!done && cursor <= ULONG_MAX) out.push({ start: cursor, last: ULONG_MAX });
    return out;
  }

  private checkAlignment(align: bigint): Failure | null {
    const mask = align - 1n;
    for (const a of this.areas) {
      if (a.iova & mask || (a.last - a.iova + 1n) & mask || ((a.pages.pa + a.startByte) % PAGE_SIZE) & mask) {
        return fail('EADDRINUSE', `area 0x${a.iova.toString(16)} is not aligned to ${align}`);
      }
    }
    return null;
  }

  /** iopt_table_add_domain: narrows the IOVA space to the aperture and loads every area. */
  addDomain(d: IoptDomain): Failure | null {
    if (this.domains.includes(d)) return fail('EEXIST', 'domain already attached to this IOAS');
    const newAlign = d.minPageSize > this.iovaAlignment ? d.minPageSize : this.iovaAlignment;
    if (newAlign > PAGE_SIZE) return fail('EINVAL', `domain page size ${newAlign} exceeds PAGE_SIZE`);
    if (newAlign !== this.iovaAlignment) {
      const bad = this.checkAlignment(newAlign);
      if (bad) return bad;
    }
    const why = 'outside the domain aperture';
    let err: Failure | null = null;
    if (d.apertureStart !== 0n) err = this.reserve(0n, d.apertureStart - 1n, d, why);
    if (!err && d.apertureEnd !== ULONG_MAX) err = this.reserve(d.apertureEnd + 1n, ULONG_MAX, d, why);
    if (err) {
      this.removeReserved(d);
      return err;
    }
    const filled: Area[] = [];
    for (const a of this.areas) {
      const e = d.map(a.iova, a.pages.pa + a.startByte, a.last - a.iova + 1n, a.prot);
      if (e) {
        for (const f of filled) d.unmap(f.iova, f.last - f.iova + 1n);
        this.removeReserved(d);
        return e;
      }
      filled.push(a);
    }
    this.iovaAlignment = newAlign;
    this.domains.push(d);
    return null;
  }

  /** iopt_table_remove_domain: unloads every area and widens the IOVA space again. */
  removeDomain(d: IoptDomain): void {
    const i = this.domains.indexOf(d);
    if (i < 0) return;
    this.domains.splice(i, 1);
    for (const a of this.areas) d.unmap(a.iova, a.last - a.iova + 1n);
    this.removeReserved(d);
    let align = this.disableLargePages ? PAGE_SIZE : 1n;
    for (const o of this.domains) if (o.minPageSize > align) align = o.minPageSize;
    this.iovaAlignment = align;
  }
}
