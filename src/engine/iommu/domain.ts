// IOMMU domains (include/linux/iommu.h): what a device's DMA goes through. Blocked and identity
// domains hold no tables; paging domains (the kernel's DMA / DMA-FQ, a user's UNMANAGED via iommufd)
// keep real VT-d second-level page tables in simulated physical memory; a nested domain is a user
// stage-1 (VT-d first-level table in user memory) over a NEST_PARENT paging domain; an SVA domain
// shares a process address space through a PASID.
import type { Failure } from '../errno';
import type { IoptDomain, Prot } from '../iommufd/io-pagetable';

export type DomainType = 'blocked' | 'identity' | 'dma' | 'dma-fq' | 'unmanaged' | 'nested' | 'sva';

/** The page-table operations a paging domain needs (implemented by the VT-d second-level table). */
export interface PageTableOps {
  readonly root: number;
  map(iova: bigint, pa: bigint, size: bigint, prot: Prot): Failure | null;
  unmap(iova: bigint, size: bigint): bigint;
}

/** Where a mapping came from, for the UI's hover and the report's root-cause hints. */
export interface MappingOrigin {
  /** script/trace line or event index */
  event: string;
  time: number;
}

export interface MappedRange {
  iova: bigint;
  length: bigint;
  pa: bigint;
  prot: Prot;
  origin: MappingOrigin;
}

interface DomainCommon {
  /** lab-wide number, for display ("domain 3") */
  readonly id: number;
}

export interface BlockedDomain extends DomainCommon {
  readonly type: 'blocked';
}
export interface IdentityDomain extends DomainCommon {
  readonly type: 'identity';
}

export class PagingDomain implements IoptDomain, DomainCommon {
  readonly minPageSize = 4096n;
  readonly apertureStart = 0n;
  readonly apertureEnd: bigint;
  /** live mappings, for views (the page table is the truth the hardware walks) */
  readonly mappings: MappedRange[] = [];
  /** the event being applied (shared with the core), so mappings and unmaps record their origin */
  get origin(): MappingOrigin {
    return this.originRef.current;
  }
  /**
   * Told after PTEs were cleared (the IOMMU driver decides when the IOTLB is invalidated: at once for
   * strict domains, later for a DMA-FQ flush queue).
   */
  readonly unmapListeners: ((iova: bigint, length: bigint, origin: MappingOrigin) => void)[] = [];

  constructor(
    readonly id: number,
    readonly type: 'dma' | 'dma-fq' | 'unmanaged',
    readonly table: PageTableOps,
    /** address width of the table: 39, 48 or 57 bits */
    readonly addressWidth: number,
    readonly flags: { nestParent: boolean; pasid: boolean } = { nestParent: false, pasid: false },
    private readonly originRef: { current: MappingOrigin } = { current: { event: '', time: 0 } },
  ) {
    this.apertureEnd = (1n << BigInt(addressWidth)) - 1n;
  }

  map(iova: bigint, pa: bigint, length: bigint, prot: Prot): Failure | null {
    const err = this.table.map(iova, pa, length, prot);
    if (!err) this.mappings.push({ iova, length, pa, prot, origin: this.origin });
    return err;
  }

  unmap(iova: bigint, length: bigint): void {
    this.table.unmap(iova, length);
    for (const l of this.unmapListeners) l(iova, length, this.origin);
    // Keep the view equal to the table: cut the range out of every mapping it overlaps.
    const end = iova + length;
    for (let i = this.mappings.length - 1; i >= 0; i--) {
      const m = this.mappings[i]!;
      const mEnd = m.iova + m.length;
      if (mEnd <= iova || m.iova >= end) continue;
      const pieces: MappedRange[] = [];
      if (m.iova < iova) pieces.push({ ...m, length: iova - m.iova });
      if (mEnd > end) pieces.push({ ...m, iova: end, pa: m.pa + (end - m.iova), length: mEnd - end });
      this.mappings.splice(i, 1, ...pieces);
    }
  }
}

/** VT-d stage-1 data of a nested HWPT (struct iommu_hwpt_vtd_s1). */
export interface VtdS1 {
  /** IOMMU_VTD_S1_SRE (1), IOMMU_VTD_S1_EAFE (2), IOMMU_VTD_S1_WPE (4) */
  flags: number;
  /** guest physical (stage-2 input) address of the first-level table */
  pgtblAddr: bigint;
  /** 48 or 57 */
  addrWidth: number;
}

export interface NestedDomain extends DomainCommon {
  readonly type: 'nested';
  readonly parent: PagingDomain;
  readonly s1: VtdS1;
}

export interface SvaDomain extends DomainCommon {
  readonly type: 'sva';
  /** the process whose page tables the device shares */
  readonly mm: number;
}

export type Domain = BlockedDomain | IdentityDomain | PagingDomain | NestedDomain | SvaDomain;

export function isPaging(d: Domain): d is PagingDomain {
  return d instanceof PagingDomain;
}

/** "DMA" domains in the kernel's sense: the default domains of the DMA API. */
export function isDmaApiDomain(d: Domain): boolean {
  return d.type === 'dma' || d.type === 'dma-fq';
}
