// The platform tree view: IOMMU units → groups → devices → PASIDs, at the replay's current time.
// Built by src/engine/inspect/platform-tree.ts, shown by the renderer's PlatformTree.
import { z } from 'zod';

export const platformTreeParams = z.object({}).strict();

/** IOMMU domain types (include/linux/iommu.h IOMMU_DOMAIN_*, as the lab names them). */
export type TreeDomainType = 'blocked' | 'identity' | 'dma' | 'dma-fq' | 'unmanaged' | 'nested' | 'sva';

/** The domain a group (or one PASID of it) uses. */
export interface TreeDomain {
  type: TreeDomainType;
  /** the lab's domain number, unique across units ("domain 3") */
  id: number;
  /**
   * the VT-d domain ID the unit programmed for it (context or PASID entry DID), or null when none is
   * programmed (blocked: the entry is cleared; SVA: first-level over a process, not modelled)
   */
  did: number | null;
}

export interface TreeResvRegion {
  /** kernel type: direct, direct-relaxable, msi, reserved, sw-msi */
  type: string;
  /** first byte, hex ("0x7b800000") */
  start: string;
  /** last byte (inclusive), hex */
  end: string;
  /** where it comes from (an RMRR, the MSI window…) */
  source: string;
}

export interface TreePasid {
  pasid: number;
  domain: TreeDomain;
}

export interface TreeDevice {
  bdf: string;
  name: string;
  /** PCI class code as 6 hex digits */
  classCode: string;
  /** what the function is: endpoint, rciep, root-port, pci-device… */
  kind: string;
  /** the domain its requests without PASID go through (the group's) */
  domain: TreeDomain;
  /** who owns the group's DMA: the device's kernel driver's name, 'user' (iommufd/VFIO), or 'none' */
  owner: string;
  /** bound kernel driver, or null */
  driver: string | null;
  /** reserved regions, as the Intel driver reports them (sorted by start) */
  resv: TreeResvRegion[];
  /** firmware requires a 1:1 mapping (an IOMMU_RESV_DIRECT region): no blocking or user domain */
  requireDirect: boolean;
  /** TDISP state of the device interface, or null when the device is not TEE-IO capable */
  tdisp: string | null;
  /** PASID capability width in bits, 0 without PASID */
  pasidWidth: number;
  /** PASIDs attached (group->pasid_array: iommufd, SVA or a driver), ascending; empty without PASID */
  pasids: TreePasid[];
  /** TLPs and faults so far with the device's own requester ID */
  tlps: number;
  faults: number;
}

export interface TreeGroup {
  /** Linux's group number */
  id: number;
  /** why these devices share a group (ACS, bridge alias, multifunction…), in words */
  reason: string;
  /** the domain requests without PASID go through now */
  domain: TreeDomain;
  /** the default domain's type (the kernel's; what the group returns to) */
  defaultDomainType: TreeDomainType;
  /** 'kernel' (a driver uses the default domain), 'user' (claimed through iommufd/VFIO) or 'none' */
  owner: 'kernel' | 'user' | 'none';
  devices: TreeDevice[];
}

export interface TreeUnit {
  /** the DRHD / IOMMU unit's name (dmar0…) */
  name: string;
  segment: number;
  /** register base address, hex */
  base: string;
  /** legacy or scalable translation mode */
  mode: 'legacy' | 'scalable';
  /** INCLUDE_PCI_ALL: translates every function of its segment no other unit claims */
  includeAll: boolean;
  groups: TreeGroup[];
}

export interface PlatformTreeView {
  /** the trace time the state is of, ns */
  time: number;
  /** the platform's name */
  platform: string;
  units: TreeUnit[];
  /** functions no IOMMU unit translates (they have no group), in PCI scan order */
  untranslated: { bdf: string; name: string }[];
}
