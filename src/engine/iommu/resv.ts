// Reserved-region types as the IOMMU core uses them (include/linux/iommu.h enum iommu_resv_type).
export type ResvType = 'direct' | 'direct-relaxable' | 'reserved' | 'msi' | 'sw-msi';

export interface ResvRegion {
  start: bigint;
  /** inclusive */
  end: bigint;
  type: ResvType;
  /** where it comes from, e.g. "RMRR 0x3e2e0000-0x3e2fffff" or "x86 MSI window" */
  source: string;
}
