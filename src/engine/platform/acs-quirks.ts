// A data-driven excerpt of Linux's ACS quirk table (drivers/pci/quirks.c pci_dev_acs_enabled[]), in
// the kernel's order: pci_dev_specific_acs_enabled() walks it and the first entry whose function
// answers (does not return -ENOTTY) decides, before pci_acs_enabled() ever reads the ACS capability.
// Entries match by vendor:device, so they apply only to functions whose description gives "ids".
// Ids are copied from the kernel source (v6.18); only a representative subset of vendors is kept.
import { ACS, type FunctionKind } from './model';

export interface AcsQuirk {
  vendor: number;
  /** device ids, or inclusive [first, last] ranges; 'any' is PCI_ANY_ID */
  devices: 'any' | readonly (number | readonly [number, number])[];
  /** the kernel function implementing the quirk */
  kernel: string;
  /** the PCIe device/port types the function accepts; other types fall through (-ENOTTY) */
  kinds?: readonly FunctionKind[];
  /**
   * ACS controls the hardware provides by design (pci_acs_ctrl_enabled's second argument), or
   * 'capability' when the quirk reads a (misplaced) ACS capability itself and falls through without one.
   */
  provides: number | 'capability';
  why: string;
}

const ISOLATED = ACS.SV | ACS.RR | ACS.CR | ACS.UF;
const MF_ENDPOINT = ACS.SV | ACS.TB | ACS.RR | ACS.CR | ACS.UF | ACS.DT;
const INTEL = 0x8086;

const mfEndpoint = (vendor: number, devices: readonly number[], why: string): AcsQuirk => ({
  vendor,
  devices,
  kernel: 'pci_quirk_mf_endpoint_acs',
  provides: MF_ENDPOINT,
  why,
});

/** Root ports of Intel PCHs that isolate without an ACS capability (Red Hat bugzilla 1037684). */
const INTEL_PCH_ROOT_PORTS: readonly number[] = [
  // Ibexpeak
  0x3b42, 0x3b43, 0x3b44, 0x3b45, 0x3b46, 0x3b47, 0x3b48, 0x3b49, 0x3b4a, 0x3b4b, 0x3b4c, 0x3b4d, 0x3b4e,
  0x3b4f, 0x3b50, 0x3b51,
  // Cougarpoint
  0x1c10, 0x1c11, 0x1c12, 0x1c13, 0x1c14, 0x1c15, 0x1c16, 0x1c17, 0x1c18, 0x1c19, 0x1c1a, 0x1c1b, 0x1c1c,
  0x1c1d, 0x1c1e, 0x1c1f,
  // Pantherpoint
  0x1e10, 0x1e11, 0x1e12, 0x1e13, 0x1e14, 0x1e15, 0x1e16, 0x1e17, 0x1e18, 0x1e19, 0x1e1a, 0x1e1b, 0x1e1c,
  0x1e1d, 0x1e1e, 0x1e1f,
  // Lynxpoint-H
  0x8c10, 0x8c11, 0x8c12, 0x8c13, 0x8c14, 0x8c15, 0x8c16, 0x8c17, 0x8c18, 0x8c19, 0x8c1a, 0x8c1b, 0x8c1c,
  0x8c1d, 0x8c1e, 0x8c1f,
  // Lynxpoint-LP
  0x9c10, 0x9c11, 0x9c12, 0x9c13, 0x9c14, 0x9c15, 0x9c16, 0x9c17, 0x9c18, 0x9c19, 0x9c1a, 0x9c1b,
  // Wildcat
  0x9c90, 0x9c91, 0x9c92, 0x9c93, 0x9c94, 0x9c95, 0x9c96, 0x9c97, 0x9c98, 0x9c99, 0x9c9a, 0x9c9b,
  // Patsburg (X79)
  0x1d10, 0x1d12, 0x1d14, 0x1d16, 0x1d18, 0x1d1a, 0x1d1c, 0x1d1e,
  // Wellsburg (X99)
  0x8d10, 0x8d11, 0x8d12, 0x8d13, 0x8d14, 0x8d15, 0x8d16, 0x8d17, 0x8d18, 0x8d19, 0x8d1a, 0x8d1b, 0x8d1c,
  0x8d1d, 0x8d1e,
  // Lynx Point (9 series)
  0x8c90, 0x8c92, 0x8c94, 0x8c96, 0x8c98, 0x8c9a, 0x8c9c, 0x8c9e,
];

export const ACS_QUIRKS: readonly AcsQuirk[] = [
  mfEndpoint(
    0x1924,
    [0x0903, 0x0923, 0x0a03],
    'Solarflare multifunction NICs do no peer-to-peer between functions',
  ),
  mfEndpoint(
    INTEL,
    [
      0x10c6, 0x10db, 0x10dd, 0x10e1, 0x10f1, 0x10f7, 0x10f8, 0x10f9, 0x10fa, 0x10fb, 0x10fc, 0x1507, 0x1514,
      0x151c, 0x1529, 0x152a, 0x154d, 0x154f, 0x1551, 0x1558,
      // 82580
      0x1509, 0x150e, 0x150f, 0x1510, 0x1511, 0x1516, 0x1527,
      // 82576
      0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x150a, 0x150d, 0x1518, 0x1526,
      // 82575
      0x10a7, 0x10a9, 0x10d6,
      // I350
      0x1521, 0x1522, 0x1523, 0x1524,
      // 82571
      0x105e, 0x105f, 0x1060, 0x10d9,
      // I219
      0x15b7, 0x15b8,
    ],
    'Intel multifunction NICs verified by Intel to do no peer-to-peer between functions',
  ),
  {
    vendor: INTEL,
    devices: 'any',
    kernel: 'pci_quirk_rciep_acs',
    kinds: ['rciep'],
    provides: ISOLATED,
    why: 'Intel RCiEPs allow peer-to-peer only on translated addresses (VT-d 3.1 §3.16)',
  },
  {
    vendor: 0x17cb,
    devices: [0x0400, 0x0401],
    kernel: 'pci_quirk_qcom_rp_acs',
    provides: ISOLATED,
    why: 'QCOM QDF2xxx root ports terminate all transactions; each is its own root complex',
  },
  {
    vendor: INTEL,
    devices: INTEL_PCH_ROOT_PORTS,
    kernel: 'pci_quirk_intel_pch_acs',
    kinds: ['root-port'],
    provides: ISOLATED,
    why: 'Intel PCH root port with ACS-like isolation but no ACS capability (enabled by pci_quirk_enable_intel_pch_acs once the IOMMU asks for ACS)',
  },
  {
    vendor: INTEL,
    devices: [
      [0xa110, 0xa11f],
      [0xa167, 0xa16a], // Sunrise Point
      [0xa290, 0xa29f],
      [0xa2e7, 0xa2ee], // Union Point
      [0x9d10, 0x9d1b], // 7th & 8th Gen mobile
    ],
    kernel: 'pci_quirk_intel_spt_pch_acs',
    kinds: ['root-port'],
    provides: 'capability',
    why: 'Sunrise/Union Point root ports keep ACS control at offset 8 (dword registers); the bits are standard',
  },
  mfEndpoint(0x19a2, [0x0710], 'Emulex BE3-R'),
  mfEndpoint(0x10df, [0x0720], 'Emulex Skyhawk-R'),
  mfEndpoint(
    0x14e4,
    [0x16d7, 0x1750, 0x1751, 0x1752, 0x1760, 0x1761, 0x1762, 0x1763],
    'Broadcom multifunction NICs do no peer-to-peer between functions',
  ),
  {
    vendor: 0x14e4,
    devices: [0xd714],
    kernel: 'pci_quirk_brcm_acs',
    provides: ISOLATED,
    why: 'Broadcom iProc PAXB root ports allow no peer-to-peer between root ports',
  },
];

export function quirkMatchesIds(q: AcsQuirk, vendor: number, device: number): boolean {
  if (q.vendor !== vendor) return false;
  if (q.devices === 'any') return true;
  return q.devices.some((d) => (typeof d === 'number' ? d === device : device >= d[0] && device <= d[1]));
}
