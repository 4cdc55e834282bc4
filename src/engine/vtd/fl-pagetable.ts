// VT-d first-level (stage-1) page table builder: user stage-1 tables of nested domains and test
// vectors. Format = x86-64 IA-32e paging, 4 or 5 levels (48/57-bit canonical input addresses).
// Contract:
// - Entry bits: P bit 0, R/W bit 1, U/S bit 2, PWT bit 3, PCD bit 4, A bit 5, D bit 6, PS bit 7
//   (leaf at level 2 = 2 MiB or level 3 = 1 GiB only), XD bit 63; address bits 51:12.
//   QEMU checks (hw/i386/intel_iommu_internal.h, intel_iommu.c vtd_iova_to_flpte): VTD_FS_P present,
//   VTD_FS_US (user requests only), VTD_FS_RW for writes, VTD_FS_A/VTD_FS_D set by the walk; bits 63:52
//   are VTD_FS_UPPER_IGNORED (so XD is ignored); PS at level 4 is reserved (VTD_FPTE_PAGE_L4_RSVD_MASK
//   0x80); large leaves reserve bits 20:13 / 29:13 (VTD_FPTE_LPAGE_L2/L3_RSVD_MASK); QEMU walks only
//   4-level tables (vtd_is_fs_level_supported).
// - Entries are written as Linux writes a first-level domain (drivers/iommu/intel/iommu.c):
//   non-leaf = table | P | R/W | U/S | A (pfn_to_dma_pte with use_first_level);
//   leaf = pa | P | R/W if write | U/S if user | A | D if write | PS for superpages (__domain_mapping),
//   and XD when execute is false (DMA_FL_PTE_XD; Linux no longer sets it). With accessedDirty: false,
//   A and D start clear everywhere so a hardware model's A/D updates can be observed.
// - Input addresses are canonical: below 2^(N-1) or at/above 2^64 - 2^(N-1) (N = 48 or 57); a range
//   may not straddle the hole. The walk indexes bits N-1:12.
// - map/unmap/destroy/walk behave exactly like SlPageTable's (shared PagingStructure: all-or-nothing
//   map with EEXIST/EINVAL/ERANGE, Linux's table freeing, partial superpage unmap throws EINVAL).

import type { PhysMem } from '../mem/phys-mem';
import { hex, PagingStructure, type MapResult, type Superpages } from './sl-pagetable';

/** VTD_FS_P, Linux DMA_FL_PTE_PRESENT. */
export const FL_PTE_P = 1 << 0;
/** VTD_FS_RW: writes allowed. */
export const FL_PTE_RW = 1 << 1;
/** VTD_FS_US, Linux DMA_FL_PTE_US: user-mode requests allowed. */
export const FL_PTE_US = 1 << 2;
/** Page-level write-through (not used by the builder). */
export const FL_PTE_PWT = 1 << 3;
/** Page-level cache disable (not used by the builder). */
export const FL_PTE_PCD = 1 << 4;
/** VTD_FS_A, Linux DMA_FL_PTE_ACCESS. */
export const FL_PTE_A = 1 << 5;
/** VTD_FS_D, Linux DMA_FL_PTE_DIRTY (leaves only). */
export const FL_PTE_D = 1 << 6;
/** Page size: leaf at level 2 or 3. */
export const FL_PTE_PS = 1 << 7;
/** XD (bit 63) as a bit of the entry's high 32-bit word; Linux DMA_FL_PTE_XD. */
export const FL_PTE_XD_HI = 0x8000_0000;

export type FlLevels = 4 | 5;

export interface FlPageTableConfig {
  levels: FlLevels;
  /** Allowed superpages (Linux: 2 MiB always, 1 GiB when CAP.FL1GP). */
  superpages: Superpages;
  /** Pre-set A on every entry and D on writable leaves, as Linux does. Default true. */
  accessedDirty?: boolean;
}

export interface FlProt {
  write: boolean;
  user: boolean;
  execute: boolean;
}

export interface FlLookup {
  pa: bigint;
  level: number;
  /** Effective rights: R/W and U/S AND-ed over every level; execute unless some level has XD. */
  write: boolean;
  user: boolean;
  execute: boolean;
  pteAddr: number;
  pte: bigint;
}

const TWO_64 = 1n << 64n;
const XD = 1n << 63n;

/** Whether iova is canonical for an N-bit first-level table (bits 63:N-1 all equal). */
export function isCanonical(iova: bigint, width: number): boolean {
  const half = 1n << BigInt(width - 1);
  return (iova >= 0n && iova < half) || (iova >= TWO_64 - half && iova < TWO_64);
}

export class FlPageTable extends PagingStructure {
  declare readonly levels: FlLevels;
  protected readonly tableBits: number;
  private readonly ad: boolean;

  constructor(mem: PhysMem, config: FlPageTableConfig) {
    if (config.levels !== 4 && config.levels !== 5) {
      throw new Error(`FlPageTable: levels must be 4 or 5, not ${String(config.levels)}`);
    }
    super(mem, config.levels, config.superpages);
    this.ad = config.accessedDirty ?? true;
    this.tableBits = FL_PTE_P | FL_PTE_RW | FL_PTE_US | (this.ad ? FL_PTE_A : 0);
  }

  map(iova: bigint, pa: bigint, size: bigint, prot: FlProt): MapResult {
    const lo =
      FL_PTE_P |
      (prot.write ? FL_PTE_RW : 0) |
      (prot.user ? FL_PTE_US : 0) |
      (this.ad ? FL_PTE_A : 0) |
      (this.ad && prot.write ? FL_PTE_D : 0);
    const hi = prot.execute ? 0 : FL_PTE_XD_HI;
    return this.mapRange(iova, pa, size, (level) => [lo | (level > 1 ? FL_PTE_PS : 0), hi]);
  }

  /** Software walk of iova; null when not mapped or not canonical. */
  lookup(iova: bigint): FlLookup | null {
    const steps = this.walk(iova);
    const leaf = this.leafOf(steps);
    if (leaf === null) return null;
    return {
      pa: this.leafTarget(iova, leaf),
      level: leaf.level,
      write: steps.every((s) => (s.value & BigInt(FL_PTE_RW)) !== 0n),
      user: steps.every((s) => (s.value & BigInt(FL_PTE_US)) !== 0n),
      execute: steps.every((s) => (s.value & XD) === 0n),
      pteAddr: leaf.entryAddr,
      pte: leaf.value,
    };
  }

  protected isPresent(lo: number): boolean {
    return (lo & FL_PTE_P) !== 0;
  }

  protected rangeError(iova: bigint, size: bigint): string | null {
    const last = iova + size - 1n;
    if (!isCanonical(iova, this.addressWidth) || !isCanonical(last, this.addressWidth)) {
      return `iova range ${hex(iova)}..${hex(last)} is not canonical for ${this.addressWidth}-bit paging`;
    }
    if (iova < 1n << 63n !== last < 1n << 63n)
      return `iova range ${hex(iova)}..${hex(last)} crosses the hole`;
    return null;
  }

  protected pfnOf(iova: bigint): number {
    return Number((iova & ((1n << BigInt(this.addressWidth)) - 1n)) >> 12n);
  }
}
