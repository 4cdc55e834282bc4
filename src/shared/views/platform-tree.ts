// The platform tree view: IOMMU units → groups → devices → PASIDs, at the replay's current time.
// Built by src/engine/inspect/platform-tree.ts, shown by the renderer's PlatformTree.
import { z } from 'zod';

export const platformTreeParams = z.object({}).strict();

export interface TreeResvRegion {
  /** kernel type: direct, direct-relaxable, msi, reserved, sw-msi */
  type: string;
  start: string;
  end: string;
  /** where it comes from (an RMRR, the MSI window…) */
  source: string;
}

export interface TreePasid {
  pasid: number;
  domainType: string;
  domainId: number | null;
}

export interface TreeDevice {
  bdf: string;
  name: string;
  classCode: string;
  domainType: string;
  domainId: number | null;
  /** who owns the group's DMA: the kernel driver's name, 'user' (iommufd/VFIO), or 'none' */
  owner: string;
  resv: TreeResvRegion[];
  /** TDISP state of the device interface, or null when the device is not TEE-IO capable */
  tdisp: string | null;
  pasids: TreePasid[];
  tlps: number;
  faults: number;
}

export interface TreeGroup {
  id: number;
  /** why these devices share a group (ACS, bridge alias, multifunction…), in words */
  reason: string;
  devices: TreeDevice[];
}

export interface TreeUnit {
  /** the DRHD / IOMMU unit's name (dmar0…) */
  name: string;
  segment: number;
  /** register base address */
  base: string;
  groups: TreeGroup[];
}

export interface PlatformTreeView {
  /** the trace time the state is of, ns */
  time: number;
  units: TreeUnit[];
}
