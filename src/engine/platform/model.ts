// The loaded platform: what loadPlatform returns once a description is valid. Plain data (no methods),
// addresses as bigint, PCI functions keyed by their full address "SSSS:BB:DD.F". Every function here
// is reachable from its root bus; bridges carry their secondary..subordinate range; each function
// knows the IOMMU unit that translates it (Linux device_lookup_iommu), or null when none does.
import type { Bdf } from '../bdf';

/** PCIe ACS capability/control bits (PCIe r6, 7.7.8; Linux include/uapi/linux/pci_regs.h PCI_ACS_*). */
export const ACS = {
  SV: 0x01, // Source Validation
  TB: 0x02, // Translation Blocking
  RR: 0x04, // P2P Request Redirect
  CR: 0x08, // P2P Completion Redirect
  UF: 0x10, // Upstream Forwarding
  EC: 0x20, // P2P Egress Control
  DT: 0x40, // Direct Translated P2P
} as const;

/** drivers/iommu/iommu.c REQ_ACS_FLAGS: what Linux needs for a port to isolate what is below it. */
export const REQ_ACS_FLAGS = ACS.SV | ACS.RR | ACS.CR | ACS.UF;

/**
 * What a function is, as far as the IOMMU core cares (the PCIe Device/Port Type, PCI_EXP_TYPE_*, or a
 * conventional PCI function that has no PCI Express capability at all).
 */
export type FunctionKind =
  | 'root-port' // PCI_EXP_TYPE_ROOT_PORT
  | 'switch-upstream' // PCI_EXP_TYPE_UPSTREAM
  | 'switch-downstream' // PCI_EXP_TYPE_DOWNSTREAM
  | 'pcie-to-pci-bridge' // PCI_EXP_TYPE_PCI_BRIDGE
  | 'endpoint' // PCI_EXP_TYPE_ENDPOINT
  | 'rciep' // PCI_EXP_TYPE_RC_END, root-complex integrated endpoint
  | 'pci-bridge' // conventional PCI-to-PCI bridge (no PCIe capability)
  | 'pci-device'; // conventional PCI function (no PCIe capability), e.g. a host bridge or a device behind a PCIe-to-PCI bridge

export const FUNCTION_KINDS: readonly FunctionKind[] = [
  'root-port',
  'switch-upstream',
  'switch-downstream',
  'pcie-to-pci-bridge',
  'endpoint',
  'rciep',
  'pci-bridge',
  'pci-device',
];

export const BRIDGE_KINDS: ReadonlySet<FunctionKind> = new Set([
  'root-port',
  'switch-upstream',
  'switch-downstream',
  'pcie-to-pci-bridge',
  'pci-bridge',
]);

/** Kinds without a PCI Express capability (Linux pci_is_pcie() is false). */
export const CONVENTIONAL_KINDS: ReadonlySet<FunctionKind> = new Set(['pci-bridge', 'pci-device']);

export interface AcsRegisters {
  /** ACS Capability register (16 bits) */
  cap: number;
  /** ACS Control register as firmware left it (16 bits); Linux then sets SV|RR|CR|UF where cap has them */
  ctrl: number;
}

export interface PciFunction {
  bdf: Bdf;
  /** "SSSS:BB:DD.F", the key of Platform.functions */
  bdfText: string;
  /** bus<<8 | dev<<3 | fn */
  requesterId: number;
  name: string;
  /** 24-bit class code: base class, subclass, programming interface */
  classCode: number;
  vendorId: number | null;
  deviceId: number | null;
  kind: FunctionKind;
  isBridge: boolean;
  /** has a PCI Express capability (Linux pci_is_pcie) */
  isPcie: boolean;
  /** the bridge whose secondary bus this function sits on, or null on a root bus */
  parent: string | null;
  /** for bridges: secondary..subordinate bus range; null otherwise */
  secondaryBus: number | null;
  subordinateBus: number | null;
  /** functions on this bridge's secondary bus, in devfn order */
  children: string[];
  multifunction: boolean;
  /** null when the function has no ACS extended capability */
  acs: AcsRegisters | null;
  /** PASID width in bits, 0 when the function has no PASID capability */
  pasidWidth: number;
  ats: boolean;
  pri: boolean;
  tdisp: boolean;
  /** explicit DMA alias quirks (Linux pci_add_dma_alias): devfns on this function's own bus */
  dmaAliasDevfns: number[];
  /** id of the IOMMU unit translating this function (device_lookup_iommu), null when none does */
  iommu: string | null;
}

export type SlLevel = 3 | 4 | 5;
export type Superpage = '2M' | '1G';

export interface IommuCapabilities {
  /** supported second-level paging levels (SAGAW: 3 = 39-bit, 4 = 48-bit, 5 = 57-bit) */
  slLevels: SlLevel[];
  /** maximum guest address width (CAP.MGAW + 1) in bits */
  mgaw: number;
  /** host address width (DMAR table HAW + 1) in bits */
  haw: number;
  superpages: Superpage[];
  scalableMode: boolean;
  passThrough: boolean;
  nesting: boolean;
  firstLevel: boolean;
  /** ECAP.PSS + 1: PASID bits supported, 0 = no PASID */
  pasidBits: number;
  deviceTlb: boolean;
}

export interface IommuUnit {
  id: string;
  segment: number;
  registerBase: bigint;
  includeAll: boolean;
  /** device scope as written (full bdf text); a bridge in scope covers everything below it */
  scope: string[];
  mode: 'legacy' | 'scalable';
  capabilities: IommuCapabilities;
  /** functions this unit translates, in PCI scan order */
  functions: string[];
}

export interface Rmrr {
  /** position in the description's reservedMemory list */
  index: number;
  name: string;
  segment: number;
  base: bigint;
  /** inclusive, as in the ACPI DMAR RMRR structure */
  end: bigint;
  scope: string[];
}

export interface MemoryRange {
  base: bigint;
  /** inclusive, as e820 prints it */
  end: bigint;
  type: 'ram' | 'reserved';
}

/** TEE-IO private/shared split of DMA addresses (PCIe TDISP; §7 of the model reference). */
export type TeeIoSplit =
  | { kind: 'boundary'; boundary: bigint } // addresses below are private (AMD SEV-SNP vTOM style)
  | { kind: 'shared-bit'; sharedBit: number; sharedMask: bigint }; // bit set = shared (TDX GPA.SHARED style)

export interface KernelOptions {
  /** iommu.passthrough= / iommu.strict= result: the default domain type of every group */
  defaultDomain: 'identity' | 'dma' | 'dma-fq';
  /** iommu.strict: invalidate the IOTLB on every unmap */
  strict: boolean;
  /** CONFIG_INTEL_IOMMU_FLOPPY_WA: 1:1 map the first 16 MiB for ISA bridges (direct-relaxable) */
  floppyWorkaround: boolean;
}

export interface PciSegment {
  segment: number;
  busStart: number;
  busEnd: number;
  ecamBase: bigint | null;
  /** bus numbers of the root buses (functions with no parent), ascending */
  rootBuses: number[];
}

export interface LocatedError {
  /** JSON path, e.g. "devices[2].acs.ctrl" */
  path: string;
  message: string;
}

export interface Platform {
  name: string;
  description: string;
  segments: PciSegment[];
  /** every PCI function, keyed by "SSSS:BB:DD.F" */
  functions: ReadonlyMap<string, PciFunction>;
  /** the order Linux enumerates functions (segment, root bus, then each bus's devfns before its bridges' subtrees) */
  scanOrder: string[];
  /** in the order Linux registers them: units with a device scope (reverse table order), then INCLUDE_PCI_ALL units */
  iommus: IommuUnit[];
  rmrrs: Rmrr[];
  memoryMap: MemoryRange[];
  teeIo: TeeIoSplit | null;
  kernel: KernelOptions;
  /** things Linux accepts but complains about (e.g. an RMRR outside reserved memory); never fatal */
  warnings: LocatedError[];
}

export type LoadResult<T> = { ok: true; value: T } | { ok: false; errors: LocatedError[] };
