// Root-cause hints: for each fault cluster, the first of these explicit rules that matches, judged on
// the cluster's first fault, its classes (src/engine/replay.ts), the lab's state when it happened, and
// the run's hazards. Each hint names the team expected to act and says what to fix.
//   1 unknown-requester     class unknown-requester: no function owns the requester ID
//   2 tbit-mismatch         TEE-IO reasons 0x101–0x103 (T bit versus TDISP state or private/shared memory)
//   3 beyond-address-width  class beyond-address-width (reasons 0x04, 0x83)
//   4 rmrr-user             the group is owned by user space while the device has a relaxable RMRR
//   5 dma-while-blocked     class dma-while-blocked (the group is on its blocking domain)
//   6 missing-rmrr          class rmrr-without-unity-map (inside an RMRR, no unity map) or
//                           firmware-reserved-memory (e820-reserved memory no RMRR of the device covers)
//   7 stale-iotlb           a use-after-unmap hazard of the same requester inside the cluster's pages
//   8 pasid-not-attached    a request with a PASID that nothing is attached to in the device's group
//   9 permission            permission reasons (0x05/0x06/0x85/0x86/0x79…) with a present leaf entry lacking the permission
//  10 not-mapped            the same reasons where the walk finds no present leaf
//  11 other                 everything else: the fault reason says what the hardware refused
// Pure.
import type { CoreDevice } from '../engine/iommu/core';
import type { PlatformLab } from '../engine/lab';
import { faultBdf, type Fault, type Hazard } from '../engine/replay';
import type { UnmapRecord } from '../engine/vtd/intel-driver';
import type { FaultCluster } from './clusters';
import type { HintRule, ReportHint, ReportWalk } from './report-schema';

/** The lab's state for a cluster's requester at its first fault. */
export interface FirstState {
  walk: ReportWalk | null;
  /** type of the domain in force for the requester ID, null when no device owns it */
  domainType: string | null;
  ownedByUser: boolean;
  /** whether the fault's PASID had a domain attached (null for requests without PASID) */
  pasidAttached: boolean | null;
}

export interface HintContext {
  lab: PlatformLab;
  device: CoreDevice | undefined;
  hazards: readonly Hazard[];
  unmaps: readonly UnmapRecord[];
  /** id of the IOMMU unit translating the requester, null when none does */
  unitId: string | null;
}

/** Permission faults: legacy 0x05/0x06, scalable 0x85/0x86, second-level R/W 0x79, nested first-level 0x76/0x77. */
export const PERMISSION_REASONS: ReadonlySet<number> = new Set([0x05, 0x06, 0x85, 0x86, 0x79, 0x76, 0x77]);

const hx = (v: number | bigint): string => `0x${v.toString(16)}`;
const short = (bdf: string): string => bdf.replace(/^0000:/, '');

function hint(rule: HintRule, title: string, team: ReportHint['team'], detail: string): ReportHint {
  return { rule, title, team, detail };
}

/** The leaf page-table entry of a walk: present, and its read/write permission. */
export function walkLeaf(
  walk: ReportWalk | null,
): { present: boolean; read: boolean; write: boolean } | null {
  if (!walk) return null;
  const ptes = walk.steps.filter((s) => s.structure.endsWith('-pte'));
  const last = ptes[ptes.length - 1];
  if (!last) return null;
  const f = last.fields;
  if (last.structure === 'first-level-pte') {
    return { present: f.p === true, read: f.p === true, write: f.p === true && f.rw === true };
  }
  return { present: f.r === true || f.w === true, read: f.r === true, write: f.w === true };
}

export function chooseHint(c: FaultCluster, state: FirstState, ctx: HintContext): ReportHint {
  const f: Fault = c.first;
  const classes = c.classes;
  const dev = ctx.device;
  const bdf = dev?.bdf ?? faultBdf(f);
  const addr = hx(f.pageAddr);

  if (classes.has('unknown-requester')) {
    return hint(
      'unknown-requester',
      'Unknown requester',
      'platform',
      `No PCI function of the platform has requester ID ${hx(f.requesterId)} (${short(bdf)}): a phantom function, a DMA alias ` +
        'the DMAR device scope misses, or a device absent from the platform description. Check the ' +
        "device's DMA aliases (quirks) and the DRHD/RMRR device scopes.",
    );
  }
  if (f.reason >= 0x101 && f.reason <= 0x103) {
    const why =
      f.reason === 0x101
        ? 'the TDI sent T=1 requests while not in RUN: lock and start the interface (TDISP) before trusted DMA'
        : f.reason === 0x102
          ? 'a T=1 request resolved to shared memory: the trusted mapping points outside private memory'
          : 'a T=0 request reached private memory: the untrusted path maps private memory';
    return hint('tbit-mismatch', 'T-bit mismatch', 'os', `${short(bdf)} at ${addr}: ${why}.`);
  }
  if (classes.has('beyond-address-width')) {
    const width = dev?.group.addressWidth;
    return hint(
      'beyond-address-width',
      'Beyond address width',
      'driver',
      `${addr} is beyond the ${width ?? 'domain'}-bit input address width of ${short(bdf)}'s domain: the ` +
        "driver's DMA mask is wider than the IOMMU's (MGAW/SAGAW), or the device emits a corrupt address.",
    );
  }
  const rmrrs = dev?.regions.filter((r) => r.source.startsWith('RMRR')) ?? [];
  const relaxable = rmrrs.filter((r) => r.type === 'direct-relaxable');
  if (dev && state.ownedByUser && relaxable.length) {
    const r = relaxable[0]!;
    return hint(
      'rmrr-user',
      'RMRR-encumbered device given to a user',
      'os',
      `Group ${dev.group.id} is owned by user space while ${short(dev.bdf)} has a relaxable RMRR ` +
        `(${hx(r.start)}–${hx(r.end)}, ${r.source}): its unity map is gone, so firmware-driven DMA faults. ` +
        'Keep the device with its kernel driver, or have the VMM map the RMRR range 1:1.',
    );
  }
  if (classes.has('dma-while-blocked')) {
    return hint(
      'dma-while-blocked',
      'DMA while blocked',
      'driver',
      `${short(bdf)} issued DMA while group ${dev?.group.id ?? '?'} was on its blocking domain (claimed by ` +
        'user space and not attached yet, or detached): quiesce the device before handing it over.',
    );
  }
  if (classes.has('rmrr-without-unity-map') || classes.has('firmware-reserved-memory')) {
    const a = BigInt(f.pageAddr);
    const inRmrr = rmrrs.find((r) => a >= r.start && a <= r.end);
    if (inRmrr) {
      return hint(
        'missing-rmrr',
        'Missing RMRR unity map',
        'os',
        `${addr} lies in ${inRmrr.source} (${hx(inRmrr.start)}–${hx(inRmrr.end)}) of ${short(bdf)}, but ` +
          `the ${state.domainType ?? 'current'} domain in force has no unity map for it.`,
      );
    }
    const e820 = ctx.lab.platform.memoryMap.find((m) => m.type === 'reserved' && a >= m.base && a <= m.end);
    const have = rmrrs.length
      ? `its RMRRs cover ${rmrrs.map((r) => `${hx(r.start)}–${hx(r.end)}`).join(', ')}`
      : 'it has no RMRR';
    const range = e820 ? `${hx(e820.base)}-${hx(e820.end)}` : `${addr}-${hx(f.pageAddr + 0xfff)}`;
    return hint(
      'missing-rmrr',
      'Missing RMRR',
      'firmware',
      `${short(bdf)} ${f.write ? 'writes' : 'reads'} ${addr}, firmware-reserved memory` +
        `${e820 ? ` (e820 ${hx(e820.base)}–${hx(e820.end)})` : ''}, but ${have}: the BIOS's RMRR is ` +
        `missing or too short. Try the fix before flashing: iommu-lab what-if … --set rmrr.add=${range}@${dev?.bdf ?? hx(f.requesterId)}`,
    );
  }
  const lo = c.lowestPage;
  const hi = c.highestPage + 0xfff;
  const hz = ctx.hazards.find((h) => h.requesterId === f.requesterId && h.addr >= lo && h.addr <= hi);
  if (hz) return staleIotlbHint(bdf, hz);
  if (f.pasid !== null && state.pasidAttached === false) {
    return hint(
      'pasid-not-attached',
      'PASID not attached',
      'driver',
      `${short(bdf)} issued requests with PASID ${f.pasid}, but nothing is attached to PASID ${f.pasid} in group ` +
        `${dev?.group.id ?? '?'}: attach a domain (iommufd pasid_attach, SVA bind) before the device uses it.`,
    );
  }
  if (PERMISSION_REASONS.has(f.reason)) {
    const leaf = walkLeaf(state.walk);
    const need = f.write ? 'write' : 'read';
    if (leaf?.present) {
      return hint(
        'permission',
        'Permission',
        'driver',
        `${addr} is mapped for ${short(bdf)} (leaf entry ${leaf.read ? 'R' : '-'}${leaf.write ? 'W' : '-'}) ` +
          `but the request needs ${need} permission: the buffer was mapped with the wrong direction ` +
          `(e.g. DMA_TO_DEVICE), or the device ${need}s where it must not.`,
      );
    }
    const unmap = lastUnmapCovering(ctx.unmaps, ctx.unitId, f);
    return hint(
      'not-mapped',
      'Not mapped',
      'driver',
      `${addr} is not mapped in ${short(bdf)}'s ${state.domainType ?? ''} domain` +
        (unmap
          ? `: ${unmap.origin.event} unmapped it at t=${unmap.origin.time} ns (use after unmap).`
          : ': the driver never mapped it, or the device uses a stale or corrupt address.'),
    );
  }
  return hint(
    'other',
    'See the fault reason',
    'os',
    `${short(bdf)} at ${addr}: the hardware stopped at the ${f.stage} stage (reason ${hx(f.reason)}); the ` +
      'page walk shows which entry refused the request.',
  );
}

/** Rule 7's hint for a use-after-unmap hazard of device `bdf` (the details pane gives it to hazards too). */
export function staleIotlbHint(
  bdf: string,
  hz: Pick<Hazard, 'addr' | 'time' | 'unmapOrigin' | 'unmapTime'>,
): ReportHint {
  return hint(
    'stale-iotlb',
    'Stale IOTLB (use after unmap)',
    'driver',
    `${short(bdf)} used ${hx(hz.addr)} after ${hz.unmapOrigin} unmapped it: an access ${hz.time - hz.unmapTime} ns ` +
      'after the unmap still went through a stale IOTLB entry (DMA-FQ flushes lazily), later ones fault. ' +
      "Fix the driver's buffer lifetime (stop the device's DMA before unmapping); iommu.strict=1 makes it fault at once.",
  );
}

function lastUnmapCovering(
  unmaps: readonly UnmapRecord[],
  unitId: string | null,
  f: Fault,
): UnmapRecord | null {
  const a = BigInt(f.pageAddr);
  let found: UnmapRecord | null = null;
  for (const u of unmaps) {
    if (u.origin.time > f.time) break;
    if (u.unit === unitId && a >= u.iova && a < u.iova + u.length) found = u;
  }
  return found;
}
