// The DMA remapping units Linux makes of a DMAR table, and which one translates a PCI function:
//   - units are numbered dmar0, dmar1, … in table order (alloc_iommu → dmar_alloc_seq_id); a DRHD with
//     the same segment and register base as an earlier one is the same unit (dmar_find_dmaru);
//   - dmar_register_drhd_unit puts INCLUDE_PCI_ALL units at the tail of the list and every other unit at
//     the head, so the list runs: scoped units in reverse table order, then INCLUDE_PCI_ALL units;
//   - dmar_find_matched_drhd_unit takes the first unit in that order that is INCLUDE_PCI_ALL for the
//     function's segment or whose device scope names the function or a bridge above it.
import type { Drhd, DmarTable } from './dmar';
import type { PciFunctionInfo, PciTopology } from './pci-topology';
import { resolveScope } from './dmar-scope';

export interface DmarUnit {
  /** "dmar0": seq id in table order */
  id: string;
  drhd: Drhd;
  /** DRHDs that repeat this unit's segment and base (ignored by Linux) */
  duplicates: Drhd[];
}

export function dmarUnits(table: DmarTable): DmarUnit[] {
  const units: DmarUnit[] = [];
  for (const s of table.structures) {
    if (s.kind !== 'drhd') continue;
    const same = units.find((u) => u.drhd.segment === s.segment && u.drhd.base === s.base);
    if (same) same.duplicates.push(s);
    else units.push({ id: `dmar${units.length}`, drhd: s, duplicates: [] });
  }
  return units;
}

/** Units in Linux's list order (dmar_drhd_units after every dmar_register_drhd_unit). */
export function registrationOrder(units: readonly DmarUnit[]): DmarUnit[] {
  const scoped = units.filter((u) => !u.drhd.includeAll).reverse();
  const all = units.filter((u) => u.drhd.includeAll);
  return [...scoped, ...all];
}

/** The functions a unit's PCI scope entries resolve to (endpoint and bridge entries that Linux matches). */
export function scopeFunctions(topo: PciTopology, unit: DmarUnit): PciFunctionInfo[] {
  const out: PciFunctionInfo[] = [];
  for (const sc of unit.drhd.scopes) {
    if (sc.type !== 'endpoint' && sc.type !== 'bridge') continue;
    const r = resolveScope(topo, unit.drhd.segment, sc);
    if (r.status === 'resolved' || r.status === 'workaround') {
      const f = topo.functions.get(r.bdf);
      if (f) out.push(f);
    }
  }
  return out;
}

function below(f: PciFunctionInfo, bridge: PciFunctionInfo): boolean {
  return (
    bridge.isBridge &&
    bridge.secondary !== null &&
    bridge.subordinate !== null &&
    f.segment === bridge.segment &&
    f.bus >= bridge.secondary &&
    f.bus <= bridge.subordinate
  );
}

/** The unit that translates `f` (dmar_find_matched_drhd_unit), or null. */
export function unitFor(
  topo: PciTopology,
  ordered: readonly DmarUnit[],
  f: PciFunctionInfo,
): DmarUnit | null {
  for (const u of ordered) {
    if (u.drhd.includeAll) {
      if (u.drhd.segment === f.segment) return u;
      continue;
    }
    if (u.drhd.segment !== f.segment) continue;
    for (const s of scopeFunctions(topo, u)) if (s.bdf === f.bdf || below(f, s)) return u;
  }
  return null;
}
