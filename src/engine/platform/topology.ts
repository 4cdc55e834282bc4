// PCI topology helpers over loaded functions: how Linux names and orders them and which IOMMU unit
// owns each. Pure functions; no validation here (load.ts has already checked the hierarchy).
//   scanOrder          drivers/pci/probe.c pci_scan_child_bus: a bus's functions in devfn order, then
//                      each bridge's subtree in turn (the order devices are added, hence probed)
//   isDownstreamOf     drivers/iommu/intel/iommu.c is_downstream_to_pci_bridge
//   lookupIommu        drivers/iommu/intel/iommu.c device_lookup_iommu, over units in registration order
import { formatBdf, formatBusDevFn, parseBdf, type Bdf } from '../bdf';
import type { IommuUnit, PciFunction, Platform } from './model';

/** "00:1c.0" on segment 0 (as Linux prints DMAR faults), "0001:00:1c.0" elsewhere. */
export function shortName(bdfText: string): string {
  const b = parseBdf(bdfText);
  if (!b) return bdfText;
  return b.segment === 0 ? formatBusDevFn(b) : formatBdf(b);
}

/** Normalises "00:14.0" or "0000:00:14.0" to "0000:00:14.0"; null when malformed. */
export function normalizeBdf(text: string): string | null {
  const b = parseBdf(text);
  return b ? formatBdf(b) : null;
}

export const devfnOf = (b: Bdf): number => (b.dev << 3) | b.fn;

export function functionOrThrow(platform: Platform, bdfText: string): PciFunction {
  const key = normalizeBdf(bdfText);
  const fn = key === null ? undefined : platform.functions.get(key);
  if (!fn) throw new Error(`no PCI function ${bdfText} in platform "${platform.name}"`);
  return fn;
}

/** Linux is_downstream_to_pci_bridge: dev's bus lies in bridge's secondary..subordinate range. */
export function isDownstreamOf(dev: PciFunction, bridge: PciFunction): boolean {
  return (
    bridge.secondaryBus !== null &&
    bridge.subordinateBus !== null &&
    dev.bdf.segment === bridge.bdf.segment &&
    dev.bdf.bus >= bridge.secondaryBus &&
    dev.bdf.bus <= bridge.subordinateBus
  );
}

/** True when `scopeEntry` names `dev` or a bridge above it (DMAR device-scope matching). */
export function scopeCovers(
  functions: ReadonlyMap<string, PciFunction>,
  scopeEntry: string,
  dev: PciFunction,
): boolean {
  if (scopeEntry === dev.bdfText) return true;
  const bridge = functions.get(scopeEntry);
  return bridge !== undefined && isDownstreamOf(dev, bridge);
}

/** Functions in the order Linux enumerates and adds them (pci_scan_child_bus, depth-first by bridge). */
export function computeScanOrder(functions: ReadonlyMap<string, PciFunction>): string[] {
  const all = [...functions.values()];
  const byDevfn = (a: PciFunction, b: PciFunction) => devfnOf(a.bdf) - devfnOf(b.bdf);
  const roots = all
    .filter((f) => f.parent === null)
    .sort((a, b) => a.bdf.segment - b.bdf.segment || a.bdf.bus - b.bdf.bus || byDevfn(a, b));
  const order: string[] = [];
  const scanBus = (onBus: PciFunction[]) => {
    for (const f of onBus) order.push(f.bdfText);
    for (const f of onBus) {
      if (!f.isBridge) continue;
      scanBus(f.children.map((c) => functions.get(c)!).sort(byDevfn));
    }
  };
  // Root buses one after the other, each scanned fully before the next (one host bridge at a time).
  let i = 0;
  while (i < roots.length) {
    const first = roots[i]!;
    let j = i;
    while (
      j < roots.length &&
      roots[j]!.bdf.segment === first.bdf.segment &&
      roots[j]!.bdf.bus === first.bdf.bus
    )
      j++;
    scanBus(roots.slice(i, j));
    i = j;
  }
  return order;
}

/**
 * Linux dmar_register_drhd_unit puts units with a device scope at the head of the list (so the last one
 * in the table comes first) and INCLUDE_PCI_ALL units at the tail; intel_iommu_init registers them in
 * that list order. Returns indexes into `units` in that order.
 */
export function registrationOrder(units: readonly { includeAll: boolean }[]): number[] {
  const scoped = units.map((u, i) => ({ u, i })).filter(({ u }) => !u.includeAll);
  const all = units.map((u, i) => ({ u, i })).filter(({ u }) => u.includeAll);
  return [...scoped.reverse().map(({ i }) => i), ...all.map(({ i }) => i)];
}

/** Linux device_lookup_iommu: first unit (registration order) whose scope covers dev, else INCLUDE_PCI_ALL. */
export function lookupIommu(
  functions: ReadonlyMap<string, PciFunction>,
  unitsInOrder: readonly Pick<IommuUnit, 'id' | 'segment' | 'scope' | 'includeAll'>[],
  dev: PciFunction,
): string | null {
  for (const unit of unitsInOrder) {
    if (unit.segment !== dev.bdf.segment) continue;
    if (unit.scope.some((s) => scopeCovers(functions, s, dev))) return unit.id;
    if (unit.includeAll) return unit.id;
  }
  return null;
}

/** The function's upstream bridge (Linux pdev->bus->self), null on a root bus. */
export function upstreamOf(platform: Platform, fn: PciFunction): PciFunction | null {
  return fn.parent === null ? null : (platform.functions.get(fn.parent) ?? null);
}

/** Human names of kinds, for reasons and errors. */
export const KIND_NAMES: Record<PciFunction['kind'], string> = {
  'root-port': 'root port',
  'switch-upstream': 'switch upstream port',
  'switch-downstream': 'switch downstream port',
  'pcie-to-pci-bridge': 'PCIe-to-PCI bridge',
  endpoint: 'PCIe endpoint',
  rciep: 'root-complex integrated endpoint',
  'pci-bridge': 'PCI-to-PCI bridge',
  'pci-device': 'conventional PCI function',
};
