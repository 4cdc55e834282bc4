// IOMMU groups formed the way Linux forms them for PCI (drivers/iommu/iommu.c pci_device_group, as of
// v6.18, before the 2025 "Compute iommu_groups properly for PCIe switches" rework):
//   1. pci_for_each_dma_alias (drivers/pci/search.c): walk up; a PCIe-to-PCI bridge aliases everything
//      below it as (secondary bus, devfn 0), a conventional bridge as its own requester ID; the first
//      aliasing bridge that already has a group is the answer.
//   2. from the topmost alias, walk up until a bridge whose path to the root has ACS SV|RR|CR|UF
//      (pci_acs_path_enabled); a non-isolating bridge on the way that has a group is the answer.
//   3. get_pci_alias_group: explicit DMA aliases (either direction) that have a group.
//   4. get_pci_function_alias_group: other functions of a multifunction slot, both without ACS.
//   5. otherwise a new group.
// Devices are probed unit by unit in registration order, each unit's functions in PCI scan order, which
// fixes the group numbers (as "Adding to iommu group N" shows). Functions no unit translates get none.
import { acsEnabled, acsFlagNames, acsPathEnabled, describe } from './acs';
import { REQ_ACS_FLAGS, type PciFunction, type Platform } from './model';
import { devfnOf, KIND_NAMES, shortName } from './topology';

export interface IommuGroup {
  /** Linux's group number: allocation order */
  id: number;
  /** the IOMMU unit translating the group */
  iommu: string;
  /** full bdf texts, in the order Linux adds them */
  members: string[];
  /** why the group formed, as sentences */
  reason: string;
}

type Join =
  | { kind: 'new'; dev: PciFunction; pdev: PciFunction; isolatedBelow: PciFunction | null; quirked: string[] }
  | { kind: 'alias-bridge'; dev: PciFunction; bridge: PciFunction; rid: number }
  | { kind: 'upstream'; dev: PciFunction; holder: PciFunction; blocker: PciFunction; why: string }
  | { kind: 'dma-alias' | 'function'; dev: PciFunction; pdev: PciFunction; found: PciFunction };

interface Found {
  group: number;
  found: PciFunction;
  how: 'self' | 'dma-alias' | 'function';
}

const REQ = acsFlagNames(REQ_ACS_FLAGS);

/** Forms every IOMMU group of the platform, numbered as Linux numbers them. */
export function formGroups(platform: Platform): IommuGroup[] {
  const fns = platform.functions;
  const ordered = platform.scanOrder.map((k) => fns.get(k)!);
  const groupOf = new Map<string, number>();
  const groups: { id: number; iommu: string; members: string[]; joins: Join[] }[] = [];
  const up = (f: PciFunction) => (f.parent === null ? null : fns.get(f.parent)!);
  const sameBus = (a: PciFunction, b: PciFunction) =>
    a.bdf.segment === b.bdf.segment && a.bdf.bus === b.bdf.bus;
  const areDmaAliases = (a: PciFunction, b: PciFunction) =>
    a.dmaAliasDevfns.includes(devfnOf(b.bdf)) || b.dmaAliasDevfns.includes(devfnOf(a.bdf));

  // get_pci_alias_group: devfns already looked at are skipped (the kernel's bitmap).
  const aliasGroup = (p: PciFunction, seen: Set<number>): Found | null => {
    if (seen.has(devfnOf(p.bdf))) return null;
    seen.add(devfnOf(p.bdf));
    const own = groupOf.get(p.bdfText);
    if (own !== undefined) return { group: own, found: p, how: 'self' };
    for (const tmp of ordered) {
      if (tmp === p || !sameBus(tmp, p) || !areDmaAliases(p, tmp)) continue;
      const viaAlias = aliasGroup(tmp, seen);
      if (viaAlias) return { ...viaAlias, how: 'dma-alias' };
      const viaFunction = functionAliasGroup(tmp, seen);
      if (viaFunction) return { ...viaFunction, how: 'dma-alias' };
    }
    return null;
  };
  // get_pci_function_alias_group: only for a multifunction device that is not isolated itself.
  const functionAliasGroup = (p: PciFunction, seen: Set<number>): Found | null => {
    if (!p.multifunction || acsEnabled(p, REQ_ACS_FLAGS).enabled) return null;
    for (const tmp of ordered) {
      if (
        tmp === p ||
        !sameBus(tmp, p) ||
        tmp.bdf.dev !== p.bdf.dev ||
        acsEnabled(tmp, REQ_ACS_FLAGS).enabled
      )
        continue;
      const found = aliasGroup(tmp, seen);
      if (found) return { ...found, how: 'function' };
    }
    return null;
  };

  const deviceGroup = (dev: PciFunction): { group: number | null; join: Join } => {
    // 1. DMA aliases up the hierarchy.
    let data = dev;
    for (let self = up(dev); self; self = up(self)) {
      let rid: number;
      if (self.isPcie) {
        if (self.kind !== 'pcie-to-pci-bridge') continue; // root and switch ports do not alias
        rid = self.secondaryBus! << 8; // PCIe-to-PCI bridge spec 2.3: (secondary bus, devfn 0)
      } else rid = self.requesterId; // conventional bridge: takes ownership with its own ID
      data = self;
      const g = groupOf.get(self.bdfText);
      if (g !== undefined) return { group: g, join: { kind: 'alias-bridge', dev, bridge: self, rid } };
    }
    // 2. Up to the first bridge whose path to the root is ACS-isolated.
    let pdev = data;
    let isolatedBelow: PciFunction | null = null;
    let quirked: string[] = [];
    for (let self = up(pdev); self; self = up(self)) {
      const path = acsPathEnabled(platform, self, REQ_ACS_FLAGS);
      if (path.enabled) {
        isolatedBelow = self;
        quirked = path.quirked.map((q) => `${shortName(q.fn.bdfText)} ${q.why}`);
        break;
      }
      pdev = self;
      const g = groupOf.get(self.bdfText);
      if (g !== undefined)
        return {
          group: g,
          join: { kind: 'upstream', dev, holder: self, blocker: path.blocker!, why: path.blockerWhy },
        };
    }
    // 3, 4. Aliases and non-isolated sibling functions of the device reached.
    const seen = new Set<number>();
    const found = aliasGroup(pdev, seen) ?? functionAliasGroup(pdev, seen);
    if (found) {
      const kind = found.how === 'function' ? 'function' : 'dma-alias';
      return { group: found.group, join: { kind, dev, pdev, found: found.found } };
    }
    return { group: null, join: { kind: 'new', dev, pdev, isolatedBelow, quirked } };
  };

  for (const unit of platform.iommus) {
    for (const key of unit.functions) {
      const dev = fns.get(key)!;
      const { group, join } = deviceGroup(dev);
      let g = group === null ? undefined : groups[group];
      if (!g) {
        g = { id: groups.length, iommu: unit.id, members: [], joins: [] };
        groups.push(g);
      }
      g.members.push(key);
      g.joins.push(join);
      groupOf.set(key, g.id);
    }
  }
  return groups.map((g) => ({ id: g.id, iommu: g.iommu, members: g.members, reason: explain(g.joins) }));
}

const list = (fs: PciFunction[]) => fs.map((f) => shortName(f.bdfText)).join(', ');

function slotText(fs: PciFunction[]): string {
  const first = shortName(fs[0]!.bdfText);
  const fnsText = [...new Set(fs.map((f) => f.bdf.fn))].sort((a, b) => a - b).join(',');
  return `${first.slice(0, -2)}.{${fnsText}}`;
}

function explain(joins: Join[]): string {
  const sentences: string[] = [];
  const members = joins.map((j) => j.dev);
  const byKey = <J extends Join>(kind: J['kind'], key: (j: J) => string) => {
    const out = new Map<string, J[]>();
    for (const j of joins) {
      if (j.kind !== kind) continue;
      const k = key(j as J);
      out.set(k, [...(out.get(k) ?? []), j as J]);
    }
    return out;
  };

  type AliasJoin = Extract<Join, { kind: 'alias-bridge' }>;
  for (const js of byKey<AliasJoin>('alias-bridge', (j) => j.bridge.bdfText).values()) {
    const bridge = js[0]!.bridge;
    const ridText = `${(js[0]!.rid >> 8).toString(16).padStart(2, '0')}:${((js[0]!.rid >> 3) & 0x1f).toString(16).padStart(2, '0')}.${js[0]!.rid & 7}`;
    sentences.push(
      `behind ${KIND_NAMES[bridge.kind]} ${shortName(bridge.bdfText)}: requester ID ${ridText} aliases ${list(js.map((j) => j.dev))}`,
    );
  }

  type UpJoin = Extract<Join, { kind: 'upstream' }>;
  for (const js of byKey<UpJoin>('upstream', (j) => j.holder.bdfText).values()) {
    const { holder, blocker, why } = js[0]!;
    const below = list(js.map((j) => j.dev));
    let s =
      holder === blocker
        ? `${describe(blocker)} lacks ACS (${REQ}: ${why}); everything below it shares its group (${below})`
        : `${describe(blocker)} above ${shortName(holder.bdfText)} lacks ACS (${REQ}: ${why}); ${below} share ${shortName(holder.bdfText)}'s group`;
    if (holder.kind === 'switch-downstream' && holder.parent !== null)
      s += `; the walk of the downstream port itself stopped at upstream port ${shortName(holder.parent)}, whose path is isolated, so peer downstream ports keep their own groups`;
    sentences.push(s);
  }

  const fnJoins = joins.filter((j) => j.kind === 'function');
  if (fnJoins.length > 0) {
    const slots = new Map<string, PciFunction[]>();
    for (const f of members) {
      const k = `${f.bdf.segment}:${f.bdf.bus}:${f.bdf.dev}`;
      slots.set(k, [...(slots.get(k) ?? []), f]);
    }
    for (const fs of slots.values())
      if (fs.length > 1 && fs.some((f) => f.multifunction && !acsEnabled(f, REQ_ACS_FLAGS).enabled))
        sentences.push(
          `multifunction device ${slotText(fs)} without ACS (${REQ}): its functions can reach each other`,
        );
  }

  for (const j of joins)
    if (j.kind === 'dma-alias')
      sentences.push(
        `${shortName(j.pdev.bdfText)} and ${shortName(j.found.bdfText)} are DMA aliases (quirk): one requester ID stands for both`,
      );

  if (sentences.length === 0) {
    const j = joins[0]!;
    if (j.kind === 'new') {
      const d = shortName(j.dev.bdfText);
      let s =
        j.isolatedBelow === null
          ? `${d} is alone: on root bus ${j.dev.bdf.bus.toString(16).padStart(2, '0')}, with no DMA alias and no non-isolated sibling function`
          : `${d} is alone: ACS (${REQ}) isolates its path to the root from ${shortName(j.isolatedBelow.bdfText)} up`;
      const own = acsEnabled(j.dev, REQ_ACS_FLAGS);
      if (j.dev.multifunction && own.enabled)
        s += `; ACS keeps it apart from the other functions of its slot (${own.why})`;
      if (j.quirked.length > 0) s += `; ${j.quirked.join('; ')}`;
      sentences.push(s);
    }
  }
  return sentences.join('. ');
}
