// VT-d second-level (stage-2) page table, written exactly as Linux's intel-iommu driver writes it
// (torvalds/linux drivers/iommu/intel/iommu.c, drivers/iommu/intel/iommu.h). Contract:
// - Tables live in PhysMem: 512 × 8-byte entries per 4 KiB table, 3/4/5 levels (39/48/57-bit IOVA),
//   level shift 12 + 9·(level-1). `root` is the top table's physical address (allocated here).
// - Entry bits (iommu.h): DMA_PTE_READ bit 0, DMA_PTE_WRITE bit 1, DMA_PTE_LARGE_PAGE bit 7,
//   DMA_PTE_SNP bit 11; address bits 51:12. Non-leaf = table | R | W (pfn_to_dma_pte). Leaf =
//   pa | (R, W per prot) | SNP if the domain snoops | PS for 2 MiB/1 GiB (__domain_mapping,
//   intel_iommu_map's set_pte_snp). An entry is present when R or W is set (dma_pte_present: val & 3).
// - map() is all-or-nothing: it checks the whole range, then writes. Page sizes follow
//   hardware_largepage_caps: the largest allowed size to which iova, pa and the remaining length align.
// - unmap() follows domain_unmap / dma_pte_clear_level: it clears the leaves in range and frees every
//   table whose whole span lies inside the range. Tables that become empty without being wholly covered
//   are kept, as Linux keeps them. Unmapping part of a superpage throws PageTableError('EINVAL')
//   (Linux would widen the first one and mis-walk the last; iommufd only unmaps whole areas).
// - lookup()/walk() are software walks for tests and the UI, not the hardware model.
// Control-plane values (IOVA, PA, size) are bigints; table addresses are numbers (PhysMem addresses).
// The radix-tree mechanics (PagingStructure) are exported for the first-level table, which differs
// only in its entry bits and its input-address rule.

import { FRAME_SIZE, PA_LIMIT, splitAddress, type PhysMem } from '../mem/phys-mem';

/** iommu.h DMA_PTE_READ. */
export const DMA_PTE_READ = 1 << 0;
/** iommu.h DMA_PTE_WRITE. */
export const DMA_PTE_WRITE = 1 << 1;
/** iommu.h DMA_PTE_LARGE_PAGE (PS): leaf at level 2 (2 MiB) or 3 (1 GiB). */
export const DMA_PTE_LARGE_PAGE = 1 << 7;
/** iommu.h DMA_PTE_SNP: snoop behaviour forced for this page (set when the domain enforces coherency). */
export const DMA_PTE_SNP = 1 << 11;
/** Address field of a paging entry, bits 51:12. */
export const PTE_ADDR_MASK = 0x000f_ffff_ffff_f000n;

export const ENTRIES_PER_TABLE = 512;
const TWO_32 = 2 ** 32;

export interface Superpages {
  mib2: boolean;
  gib1: boolean;
}

export type SlLevels = 3 | 4 | 5;

export interface SlPageTableConfig {
  levels: SlLevels;
  /** Allowed superpage sizes (CAP.SLLPS bits 34/35; Linux allows 1 GiB only with 2 MiB). */
  superpages: Superpages;
  /** Set DMA_PTE_SNP on leaves (Linux: domain->set_pte_snp after enforce_cache_coherency). */
  snoop?: boolean;
}

export interface SlProt {
  read: boolean;
  write: boolean;
}

/**
 * EINVAL: zero size, iova/pa/size not 4 KiB aligned, no permission, or iova range outside the table's
 * input addresses (Linux __domain_mapping: domain_pfn_supported / prot checks).
 * ERANGE: pa range beyond 2^52, which a PTE address field (bits 51:12) cannot hold.
 * EEXIST: some page of the range is already mapped (Linux would WARN "DMA PTE ... already set").
 */
export type MapErrorCode = 'EEXIST' | 'EINVAL' | 'ERANGE';

export type MapResult =
  | { ok: true; pages4k: number; pages2m: number; pages1g: number }
  | { ok: false; error: MapErrorCode; reason: string };

export class PageTableError extends Error {
  constructor(
    readonly code: 'EINVAL',
    message: string,
  ) {
    super(message);
    this.name = 'PageTableError';
  }
}

export interface SlLookup {
  pa: bigint;
  /** Level of the leaf: 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB). */
  level: number;
  /** Effective permissions: AND over every level walked (as the hardware and QEMU check them). */
  read: boolean;
  write: boolean;
  pteAddr: number;
  pte: bigint;
}

export interface WalkStep {
  level: number;
  tableAddr: number;
  index: number;
  entryAddr: number;
  value: bigint;
}

/** 4 KiB pages covered by one entry at `level`. */
export function pagesPerEntry(level: number): number {
  return 2 ** (9 * (level - 1));
}

/** Index into the table at `level` for the 4 KiB page number pfn. */
export function levelIndex(pfn: number, level: number): number {
  return Math.floor(pfn / pagesPerEntry(level)) % ENTRIES_PER_TABLE;
}

/** Address field (bits 51:12) of the entry whose halves are lo, hi. */
export function entryAddress(lo: number, hi: number): number {
  return (hi & 0xfffff) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
}

export const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/**
 * A 512-ary paging structure in PhysMem with Linux's map/unmap/free policy (see the header). Subclasses
 * define what makes an entry present, the bits of a non-leaf entry, and which input addresses exist.
 */
export abstract class PagingStructure {
  /** Physical address of the top-level table. */
  readonly root: number;
  /** Input-address bits the walk indexes: 12 + 9·levels (39, 48 or 57). */
  readonly addressWidth: number;
  private destroyed = false;

  protected constructor(
    protected readonly mem: PhysMem,
    readonly levels: number,
    private readonly superpages: Superpages,
  ) {
    this.addressWidth = 12 + 9 * levels;
    this.root = mem.allocFrame();
  }

  /** Whether an entry whose low word is lo is present. */
  protected abstract isPresent(lo: number): boolean;
  /** Low-word bits of a non-leaf entry (added to the next table's address). */
  protected abstract readonly tableBits: number;
  /** Why [iova, iova + size) is not a valid input range, or null when it is (size > 0, aligned). */
  protected abstract rangeError(iova: bigint, size: bigint): string | null;
  /** The 4 KiB page number the walk indexes for a valid iova. */
  protected abstract pfnOf(iova: bigint): number;

  /**
   * Clears every mapping in [iova, iova + size) and frees the tables wholly inside it; returns the
   * bytes that were mapped there (holes count 0; Linux's intel_iommu_unmap returns the requested size).
   * Throws PageTableError('EINVAL') for zero/misaligned size, a range outside the input addresses, or a
   * range that covers only part of a superpage; the table is then unchanged.
   */
  unmap(iova: bigint, size: bigint): bigint {
    this.checkLive();
    if (size <= 0n || ((iova | size) & 0xfffn) !== 0n) {
      throw new PageTableError(
        'EINVAL',
        `unmap ${hex(iova)}+${hex(size)}: must be 4 KiB aligned and non-empty`,
      );
    }
    const bad = this.rangeError(iova, size);
    if (bad !== null) throw new PageTableError('EINVAL', `unmap: ${bad}`);
    const first = this.pfnOf(iova);
    const last = first + Number(size >> 12n) - 1;
    for (const [pfn, at] of [
      [first, iova],
      [last, iova + size - 0x1000n],
    ] as const) {
      const step = this.leafOf(this.walk(at));
      if (step === null || step.level === 1) continue;
      const n = pagesPerEntry(step.level);
      const start = pfn - (pfn % n);
      if (start < first || start + n - 1 > last) {
        const page = at - (BigInt(pfn % n) << 12n);
        throw new PageTableError(
          'EINVAL',
          `unmap ${hex(iova)}+${hex(size)} covers part of the ${step.level === 2 ? '2 MiB' : '1 GiB'} page at ${hex(page)}`,
        );
      }
    }
    return BigInt(this.clearLevel(this.root, this.levels, 0, first, last)) << 12n;
  }

  /** Every entry a walk of iova reads, top level first, ending at the leaf or the first non-present entry. */
  walk(iova: bigint): WalkStep[] {
    const steps: WalkStep[] = [];
    if (this.rangeError(iova - (iova & 0xfffn), 0x1000n) !== null) return steps;
    const pfn = this.pfnOf(iova);
    let table = this.root;
    for (let level = this.levels; level >= 1; level--) {
      const index = levelIndex(pfn, level);
      const entryAddr = table + index * 8;
      const lo = this.mem.readLo(entryAddr);
      const hi = this.mem.readHi(entryAddr);
      steps.push({ level, tableAddr: table, index, entryAddr, value: (BigInt(hi) << 32n) | BigInt(lo) });
      if (!this.isPresent(lo) || this.isLeaf(lo, level)) break;
      table = entryAddress(lo, hi);
    }
    return steps;
  }

  /** Frees every table, the root included (intel_iommu_domain_free). The table is unusable afterwards. */
  destroy(): void {
    this.checkLive();
    this.freeTable(this.root, this.levels);
    this.destroyed = true;
  }

  /** The leaf step of a walk (present and leaf), or null when the walk found no mapping. */
  protected leafOf(steps: WalkStep[]): WalkStep | null {
    const last = steps[steps.length - 1];
    if (last === undefined) return null;
    const lo = Number(last.value & 0xffff_ffffn);
    return this.isPresent(lo) && this.isLeaf(lo, last.level) ? last : null;
  }

  /** Physical address iova reaches through the leaf in `step`. */
  protected leafTarget(iova: bigint, step: WalkStep): bigint {
    return (step.value & PTE_ADDR_MASK) + (iova & ((BigInt(pagesPerEntry(step.level)) << 12n) - 1n));
  }

  /**
   * The shared part of map(): argument checks, the EEXIST check over the whole range, then the writes.
   * leafBits(level) gives the [lo, hi] permission/attribute bits of a leaf at that level.
   */
  protected mapRange(
    iova: bigint,
    pa: bigint,
    size: bigint,
    leafBits: (level: number) => readonly [number, number],
  ): MapResult {
    this.checkLive();
    const fail = (error: MapErrorCode, reason: string): MapResult => ({ ok: false, error, reason });
    if (size <= 0n) return fail('EINVAL', 'size must be positive');
    if (pa < 0n) return fail('EINVAL', 'pa must not be negative');
    if (((iova | pa | size) & 0xfffn) !== 0n) {
      return fail('EINVAL', `iova ${hex(iova)}, pa ${hex(pa)} and size ${hex(size)} must be 4 KiB aligned`);
    }
    const bad = this.rangeError(iova, size);
    if (bad !== null) return fail('EINVAL', bad);
    if (pa + size > BigInt(PA_LIMIT))
      return fail('ERANGE', `pa range ends at ${hex(pa + size)}, beyond 2^52`);

    const first = this.pfnOf(iova);
    const count = Number(size >> 12n);
    if (this.anyLeaf(this.root, this.levels, 0, first, first + count - 1)) {
      return fail('EEXIST', `part of ${hex(iova)}..${hex(iova + size - 1n)} is already mapped`);
    }

    const pages = [0, 0, 0];
    let iovPfn = first;
    let physPfn = Number(pa >> 12n);
    let left = count;
    while (left > 0) {
      const level = this.largePageLevel(iovPfn, physPfn, left);
      const entry = this.entryFor(iovPfn, level);
      if (level > 1) this.clearForSuperpage(entry, level);
      const { lo, hi } = splitAddress(physPfn * FRAME_SIZE);
      const [bitsLo, bitsHi] = leafBits(level);
      this.mem.write64(entry, lo | bitsLo, hi | bitsHi);
      pages[level - 1]++;
      const n = pagesPerEntry(level);
      iovPfn += n;
      physPfn += n;
      left -= n;
    }
    return { ok: true, pages4k: pages[0], pages2m: pages[1], pages1g: pages[2] };
  }

  private checkLive(): void {
    if (this.destroyed) throw new Error('page table used after destroy()');
  }

  private isLeaf(lo: number, level: number): boolean {
    return level === 1 || (lo & DMA_PTE_LARGE_PAGE) !== 0;
  }

  /** hardware_largepage_caps: the largest allowed level whose page iova, pa and length all fit. */
  private largePageLevel(iovPfn: number, physPfn: number, pages: number): number {
    for (const [level, allowed] of [
      [3, this.superpages.gib1],
      [2, this.superpages.mib2],
    ] as const) {
      const n = pagesPerEntry(level);
      if (allowed && level <= this.levels && iovPfn % n === 0 && physPfn % n === 0 && pages >= n)
        return level;
    }
    return 1;
  }

  /** Whether any leaf maps a page in [first, last], searching the table at `level` that starts at pfn base. */
  private anyLeaf(table: number, level: number, base: number, first: number, last: number): boolean {
    const n = pagesPerEntry(level);
    const from = Math.floor((Math.max(first, base) - base) / n);
    const to = Math.floor((Math.min(last, base + n * ENTRIES_PER_TABLE - 1) - base) / n);
    for (let i = from; i <= to; i++) {
      const entry = table + i * 8;
      const lo = this.mem.readLo(entry);
      if (!this.isPresent(lo)) continue;
      if (this.isLeaf(lo, level)) return true;
      if (this.anyLeaf(entryAddress(lo, this.mem.readHi(entry)), level - 1, base + i * n, first, last))
        return true;
    }
    return false;
  }

  /** pfn_to_dma_pte: the entry for pfn at `target` level, allocating missing tables as table | tableBits. */
  private entryFor(pfn: number, target: number): number {
    let table = this.root;
    for (let level = this.levels; ; level--) {
      const entry = table + levelIndex(pfn, level) * 8;
      if (level === target) return entry;
      let lo = this.mem.readLo(entry);
      let hi = this.mem.readHi(entry);
      if (!this.isPresent(lo)) {
        const next = splitAddress(this.mem.allocFrame());
        lo = next.lo | this.tableBits;
        hi = next.hi;
        this.mem.write64(entry, lo, hi);
      }
      table = entryAddress(lo, hi);
    }
  }

  /**
   * switch_to_super_page: a superpage slot still pointing to a (leaf-free, checked by map) table gets
   * that table freed before the leaf is written.
   */
  private clearForSuperpage(entry: number, level: number): void {
    const lo = this.mem.readLo(entry);
    if (!this.isPresent(lo)) return;
    this.freeTable(entryAddress(lo, this.mem.readHi(entry)), level - 1);
    this.mem.write64(entry, 0, 0);
  }

  /** dma_pte_clear_level: clears [first, last] under the table at `level` starting at pfn base; returns pages unmapped. */
  private clearLevel(table: number, level: number, base: number, first: number, last: number): number {
    const n = pagesPerEntry(level);
    const from = Math.floor((Math.max(first, base) - base) / n);
    const to = Math.floor((Math.min(last, base + n * ENTRIES_PER_TABLE - 1) - base) / n);
    let pages = 0;
    for (let i = from; i <= to; i++) {
      const entry = table + i * 8;
      const lo = this.mem.readLo(entry);
      if (!this.isPresent(lo)) continue;
      const start = base + i * n;
      const child = entryAddress(lo, this.mem.readHi(entry));
      if (first <= start && start + n - 1 <= last) {
        pages += this.isLeaf(lo, level) ? n : this.freeTable(child, level - 1);
        this.mem.write64(entry, 0, 0);
      } else {
        // Partly covered: a table (unmap() rejected partial superpages).
        pages += this.clearLevel(child, level - 1, start, first, last);
      }
    }
    return pages;
  }

  /** dma_pte_list_pagetables: frees the table at `level` and every table under it; returns the pages its leaves mapped. */
  private freeTable(table: number, level: number): number {
    let pages = 0;
    for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
      const lo = this.mem.readLo(table + i * 8);
      if (!this.isPresent(lo)) continue;
      pages += this.isLeaf(lo, level)
        ? pagesPerEntry(level)
        : this.freeTable(entryAddress(lo, this.mem.readHi(table + i * 8)), level - 1);
    }
    this.mem.freeFrame(table);
    return pages;
  }
}

export class SlPageTable extends PagingStructure {
  declare readonly levels: SlLevels;
  protected readonly tableBits = DMA_PTE_READ | DMA_PTE_WRITE;
  private readonly limit: bigint;
  private readonly snp: number;

  constructor(mem: PhysMem, config: SlPageTableConfig) {
    if (config.levels !== 3 && config.levels !== 4 && config.levels !== 5) {
      throw new Error(`SlPageTable: levels must be 3, 4 or 5, not ${String(config.levels)}`);
    }
    super(mem, config.levels, config.superpages);
    this.limit = 1n << BigInt(this.addressWidth);
    this.snp = config.snoop ? DMA_PTE_SNP : 0;
  }

  map(iova: bigint, pa: bigint, size: bigint, prot: SlProt): MapResult {
    if (!prot.read && !prot.write) {
      return { ok: false, error: 'EINVAL', reason: 'a mapping needs read or write permission' };
    }
    const perm = (prot.read ? DMA_PTE_READ : 0) | (prot.write ? DMA_PTE_WRITE : 0) | this.snp;
    return this.mapRange(iova, pa, size, (level) => [perm | (level > 1 ? DMA_PTE_LARGE_PAGE : 0), 0]);
  }

  /** Software walk of iova; null when not mapped or beyond the width. */
  lookup(iova: bigint): SlLookup | null {
    const steps = this.walk(iova);
    const leaf = this.leafOf(steps);
    if (leaf === null) return null;
    return {
      pa: this.leafTarget(iova, leaf),
      level: leaf.level,
      read: steps.every((s) => (s.value & BigInt(DMA_PTE_READ)) !== 0n),
      write: steps.every((s) => (s.value & BigInt(DMA_PTE_WRITE)) !== 0n),
      pteAddr: leaf.entryAddr,
      pte: leaf.value,
    };
  }

  protected isPresent(lo: number): boolean {
    return (lo & (DMA_PTE_READ | DMA_PTE_WRITE)) !== 0;
  }

  protected rangeError(iova: bigint, size: bigint): string | null {
    if (iova < 0n) return `iova ${hex(iova)} is negative`;
    if (iova + size > this.limit) {
      return `iova range ends at ${hex(iova + size)}, beyond the ${this.addressWidth}-bit width`;
    }
    return null;
  }

  protected pfnOf(iova: bigint): number {
    return Number(iova >> 12n);
  }
}
