// ACS the way Linux judges it for IOMMU groups (drivers/pci/pci.c, drivers/pci/quirks.c):
//   effectiveAcsCtrl   pci_std_enable_acs: the IOMMU driver called pci_request_acs(), so Linux sets
//                      SV|RR|CR|UF in ACS control wherever the capability has them
//   acsEnabled         pci_acs_enabled: quirk table first, then the PCIe type rules
//   acsPathEnabled     pci_acs_path_enabled(start, NULL, flags): every device from start to the root bus
// Each answer carries a human reason, used to explain why groups formed.
import { ACS_QUIRKS, quirkMatchesIds, type AcsQuirk } from './acs-quirks';
import { ACS, type PciFunction, type Platform } from './model';
import { KIND_NAMES, shortName } from './topology';

export interface AcsVerdict {
  enabled: boolean;
  /** why, e.g. "no ACS capability" or "pci_quirk_intel_pch_acs (8086:9c90)" */
  why: string;
  quirk: AcsQuirk | null;
}

const ENABLE_MASK = ACS.SV | ACS.RR | ACS.CR | ACS.UF;

/** ACS control after Linux's pci_std_enable_acs (SV, RR, CR, UF turned on where the capability has them). */
export function effectiveAcsCtrl(fn: PciFunction): number {
  if (!fn.acs) return 0;
  return fn.acs.ctrl | (fn.acs.cap & ENABLE_MASK);
}

/** Names of the bits in `flags`, "SV|RR|CR|UF". */
export function acsFlagNames(flags: number): string {
  return (Object.entries(ACS) as [string, number][])
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([n]) => n)
    .join('|');
}

const ids = (fn: PciFunction) =>
  `${fn.vendorId!.toString(16).padStart(4, '0')}:${fn.deviceId!.toString(16).padStart(4, '0')}`;

/** pci_acs_flags_enabled: capability bits absent are hard-wired on (except EC); control must have the rest. */
function flagsEnabled(fn: PciFunction, flags: number, ctrl: number): AcsVerdict {
  if (!fn.acs) return { enabled: false, why: 'no ACS capability', quirk: null };
  const needed = flags & (fn.acs.cap | ACS.EC);
  const missing = needed & ~ctrl;
  if (missing !== 0)
    return { enabled: false, why: `ACS control lacks ${acsFlagNames(missing)}`, quirk: null };
  return { enabled: true, why: `ACS capability 0x${fn.acs.cap.toString(16).padStart(4, '0')}`, quirk: null };
}

/** pci_dev_specific_acs_enabled: the first quirk that answers, or null (-ENOTTY). */
function quirkVerdict(fn: PciFunction, flags: number): AcsVerdict | null {
  if (fn.vendorId === null || fn.deviceId === null) return null;
  for (const q of ACS_QUIRKS) {
    if (!quirkMatchesIds(q, fn.vendorId, fn.deviceId)) continue;
    if (q.kinds && !q.kinds.includes(fn.kind)) continue;
    const tag = `${q.kernel} (${ids(fn)})`;
    if (q.provides === 'capability') {
      if (!fn.acs) continue;
      const v = flagsEnabled(fn, flags, effectiveAcsCtrl(fn));
      return { ...v, why: `${v.why}, read by ${tag}`, quirk: q };
    }
    const enabled = (flags & q.provides) === flags;
    return {
      enabled,
      why: enabled ? `isolates by design: ${tag}` : `${tag} lacks ${acsFlagNames(flags & ~q.provides)}`,
      quirk: q,
    };
  }
  return null;
}

/** Linux pci_acs_enabled(pdev, flags): does this function provide the ACS controls in `flags`? */
export function acsEnabled(fn: PciFunction, flags: number): AcsVerdict {
  const q = quirkVerdict(fn, flags);
  if (q) return q;
  if (!fn.isPcie)
    return {
      enabled: false,
      why: 'conventional PCI: any device on the bus can reach the others',
      quirk: null,
    };
  switch (fn.kind) {
    case 'pcie-to-pci-bridge':
      return { enabled: false, why: 'a PCIe-to-PCI bridge never implements ACS (PCIe 6.12.1)', quirk: null };
    case 'root-port':
    case 'switch-downstream':
      return flagsEnabled(fn, flags, effectiveAcsCtrl(fn));
    default:
      if (!fn.multifunction)
        return { enabled: true, why: 'single-function: ACS does not apply (PCIe 6.12.1.3)', quirk: null };
      return flagsEnabled(fn, flags, effectiveAcsCtrl(fn));
  }
}

export interface AcsPath {
  enabled: boolean;
  /** the first device on the way up that fails, when not enabled */
  blocker: PciFunction | null;
  blockerWhy: string;
  /** devices whose isolation came from a quirk, with the verdict text */
  quirked: { fn: PciFunction; why: string }[];
}

/** Linux pci_acs_path_enabled(start, NULL, flags): start and everything above it up to the root bus. */
export function acsPathEnabled(platform: Platform, start: PciFunction, flags: number): AcsPath {
  const quirked: AcsPath['quirked'] = [];
  let pdev: PciFunction | undefined = start;
  while (pdev) {
    const v = acsEnabled(pdev, flags);
    if (!v.enabled) return { enabled: false, blocker: pdev, blockerWhy: v.why, quirked };
    if (v.quirk) quirked.push({ fn: pdev, why: v.why });
    if (pdev.parent === null) return { enabled: true, blocker: null, blockerWhy: '', quirked };
    pdev = platform.functions.get(pdev.parent);
  }
  return { enabled: true, blocker: null, blockerWhy: '', quirked };
}

/** "00:1c.0 root port" */
export function describe(fn: PciFunction): string {
  return `${shortName(fn.bdfText)} ${KIND_NAMES[fn.kind]}`;
}
