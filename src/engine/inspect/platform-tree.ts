// The 'platformTree' view: the platform's IOMMU units (registration order) → the groups each
// translates (Linux's numbers, with the reason src/engine/platform/groups.ts recorded when it formed
// them) → their devices (the order Linux added them) → the PASIDs attached, each with its domain, owner,
// reserved regions and TDISP state at the replay's current time. Read-only: domain IDs are those the
// intel-iommu driver model already programmed (never allocated here), counts come from the Replay's
// per-requester arrays.
import type { CoreDevice } from '../iommu/core';
import type { Domain } from '../iommu/domain';
import type { Group } from '../iommu/group';
import type { Replay } from '../replay';
import { FLPT_DEFAULT_DID, type DriverUnit } from '../vtd/intel-driver';
import type {
  PlatformTreeView,
  TreeDevice,
  TreeDomain,
  TreeGroup,
  TreeUnit,
} from '../../shared/views/platform-tree';

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** The domain as the tree shows it; `unit` is the driver's unit the group sits on, if any. */
export function treeDomain(d: Domain, unit: DriverUnit | undefined): TreeDomain {
  let did: number | null = null;
  if (unit) {
    if (d.type === 'identity' && unit.scalable) did = FLPT_DEFAULT_DID;
    else if (d.type !== 'blocked') did = unit.dids.get(d) ?? null;
  }
  return { type: d.type, id: d.id, did };
}

/** Who owns a group's DMA: a user (iommufd/VFIO claim), the kernel (drivers on the default domain), nobody. */
export function groupOwner(g: Group): TreeGroup['owner'] {
  if (g.owner !== null) return 'user';
  return g.ownerCnt > 0 ? 'kernel' : 'none';
}

function treeDevice(replay: Replay, dev: CoreDevice, unit: DriverUnit | undefined): TreeDevice {
  const fn = replay.lab.platform.functions.get(dev.bdf)!;
  const g = dev.group;
  // The intel driver programs the group's PASID attachments for every device of the group; only a
  // device with a PASID capability can issue requests that use them.
  const pasids =
    dev.maxPasids > 0
      ? [...g.pasids.entries()]
          .sort(([a], [b]) => a - b)
          .map(([pasid, d]) => ({ pasid, domain: treeDomain(d, unit) }))
      : [];
  return {
    bdf: dev.bdf,
    name: dev.name,
    classCode: fn.classCode.toString(16).padStart(6, '0'),
    kind: fn.kind,
    domain: treeDomain(g.domain, unit),
    owner: g.owner !== null ? 'user' : (dev.driver ?? 'none'),
    driver: dev.driver,
    resv: dev.regions.map((r) => ({ type: r.type, start: hex(r.start), end: hex(r.end), source: r.source })),
    requireDirect: dev.requireDirect,
    tdisp: dev.tdisp?.state ?? null,
    pasidWidth: fn.pasidWidth,
    pasids,
    tlps: replay.tlpsByRid[dev.requesterId & 0xffff]!,
    faults: replay.faultsByRid[dev.requesterId & 0xffff]!,
  };
}

/** Builds the tree of a replay's lab at its current time. */
export function platformTree(replay: Replay): PlatformTreeView {
  const { platform, core, groups } = replay.lab;
  const coreGroups = new Map(core.groups.map((g) => [g.id, g]));
  const units: TreeUnit[] = platform.iommus.map((u) => {
    const unit = replay.driver.units.get(u.id);
    const mine = groups.filter((g) => g.iommu === u.id);
    return {
      name: u.id,
      segment: u.segment,
      base: hex(u.registerBase),
      mode: u.mode,
      includeAll: u.includeAll,
      groups: mine.map((spec) => {
        const g = coreGroups.get(spec.id)!;
        return {
          id: g.id,
          reason: g.reason,
          domain: treeDomain(g.domain, unit),
          defaultDomainType: g.defaultDomain.type,
          owner: groupOwner(g),
          devices: spec.members.map((bdf) => treeDevice(replay, core.devices.get(bdf)!, unit)),
        };
      }),
    };
  });
  const untranslated = platform.scanOrder
    .filter((bdf) => !core.devices.has(bdf))
    .map((bdf) => ({ bdf, name: platform.functions.get(bdf)!.name }));
  return { time: replay.time, platform: platform.name, units, untranslated };
}
