// Builds a lab from a loaded platform: the IOMMU groups Linux would form, each device's reserved
// regions, the kernel's IOMMU core with default domains over real VT-d second-level tables in one
// simulated physical memory, and an iommufd context. Pure; the caller loads the platform.
import type { Lab } from './control';
import { IommuCore, type CoreSpec } from './iommu/core';
import type { PageTableOps } from './iommu/domain';
import { IommufdContext } from './iommufd/context';
import { PhysMem } from './mem/phys-mem';
import {
  formGroups,
  reservedRegions,
  type IommuGroup,
  type IommuUnit,
  type Platform,
} from './platform/index';
import { PageTableError, SlPageTable, type SlLevels } from './vtd/sl-pagetable';
import { ErrnoError, fail } from './errno';

export interface PlatformLab extends Lab {
  platform: Platform;
  groups: IommuGroup[];
  mem: PhysMem;
}

/**
 * The input address width Linux gives a unit's paging domains: the widest supported second-level
 * table (SAGAW) that does not exceed MGAW (intel iommu_calculate_agaw / __iommu_calculate_agaw).
 */
export function unitAddressWidth(unit: IommuUnit): number {
  const widths = unit.capabilities.slLevels
    .map((l) => 12 + 9 * l)
    .filter((w) => w <= Math.max(unit.capabilities.mgaw, 39));
  return widths.length ? Math.max(...widths) : 12 + 9 * Math.min(...unit.capabilities.slLevels);
}

function slTable(mem: PhysMem, unit: IommuUnit | undefined, addressWidth: number): PageTableOps {
  const levels = ((addressWidth - 12) / 9) as SlLevels;
  const sp = unit?.capabilities.superpages ?? [];
  const t = new SlPageTable(mem, {
    levels,
    superpages: { mib2: sp.includes('2M'), gib1: sp.includes('1G') },
  });
  return {
    root: t.root,
    map(iova, pa, size, prot) {
      const r = t.map(iova, pa, size, prot);
      return r.ok ? null : fail(r.error, r.reason);
    },
    unmap(iova, size) {
      try {
        return t.unmap(iova, size);
      } catch (e) {
        // e.g. part of a superpage: refuse rather than let the table and the domain's view disagree
        if (e instanceof PageTableError) throw new ErrnoError('EINVAL', e.message);
        throw e;
      }
    },
  };
}

export function buildLab(platform: Platform): PlatformLab {
  const groups = formGroups(platform);
  const units = new Map(platform.iommus.map((u) => [u.id, u]));
  const first = platform.iommus[0];
  const spec: CoreSpec = {
    defaultDomainType: platform.kernel.defaultDomain,
    passThrough: first?.capabilities.passThrough ?? false,
    addressWidth: first ? unitAddressWidth(first) : 48,
    groups: groups.map((g) => {
      const unit = units.get(g.iommu);
      return {
        id: g.id,
        members: g.members,
        reason: g.reason,
        addressWidth: unit ? unitAddressWidth(unit) : undefined,
        passThrough: unit?.capabilities.passThrough,
      };
    }),
    devices: groups.flatMap((g) =>
      g.members.map((bdf) => {
        const fn = platform.functions.get(bdf)!;
        return {
          bdf,
          requesterId: fn.requesterId,
          name: fn.name,
          pasidWidth: fn.pasidWidth,
          tdisp: fn.tdisp,
          regions: reservedRegions(platform, bdf),
        };
      }),
    ),
  };
  const mem = new PhysMem();
  const unitOfGroup = new Map(groups.map((g) => [g.id, units.get(g.iommu)]));
  const core = new IommuCore(spec, (group) => slTable(mem, unitOfGroup.get(group.id), group.addressWidth));
  const anyCap = (f: (u: IommuUnit) => boolean): boolean => platform.iommus.some(f);
  const ctx = new IommufdContext(core, {
    nesting: anyCap((u) => u.capabilities.nesting),
    pasid: anyCap((u) => u.capabilities.pasidBits > 0),
    dirtyTracking: false,
    // VT-d with interrupt remapping gives isolated MSI; the lab assumes it is enabled.
    isolatedMsi: true,
    allowUnsafeInterrupts: false,
  });
  return { platform, groups, mem, core, ctx, names: new Map() };
}
