// HWPT objects (drivers/iommu/iommufd/hw_pagetable.c): a paging HWPT is an iommu_domain whose
// mappings come from its IOAS (loaded at allocation, iopt_table_add_domain); a nested HWPT is a user
// stage-1 over a NEST_PARENT paging HWPT. HWPT_ALLOC and HWPT_INVALIDATE check their input in the
// kernel's order and answer with its errnos (intel_iommu_domain_alloc_paging_flags and
// intel_iommu_domain_alloc_nested for the VT-d specifics).
import { fail, ok, type Result } from '../errno';
import type { IommuCore } from '../iommu/core';
import type { NestedDomain, PagingDomain, VtdS1 } from '../iommu/domain';
import type { Group } from '../iommu/group';
import type { Ioas } from './ioas';
import { isFailure, type IommufdObject, type ObjectTable } from './object-table';

export const HWPT_ALLOC_FLAGS = { NEST_PARENT: 1, DIRTY_TRACKING: 2, FAULT_ID_VALID: 4, PASID: 8 } as const;
export const VTD_S1_FLAGS = { SRE: 1, EAFE: 2, WPE: 4 } as const;

export interface HwptPaging extends IommufdObject {
  type: 'hwpt_paging';
  ioas: Ioas;
  domain: PagingDomain;
  /** created by attaching a device straight to an IOAS; destroyed with its last attachment */
  auto: boolean;
  nestParent: boolean;
  pasidCompat: boolean;
}

export interface Invalidation {
  /** 4 KiB-aligned stage-1 address; 0 with npages = U64_MAX means all */
  addr: bigint;
  npages: bigint;
  leaf: boolean;
}

export interface HwptNested extends IommufdObject {
  type: 'hwpt_nested';
  parent: HwptPaging;
  domain: NestedDomain;
  pasidCompat: boolean;
  /** stage-1 cache invalidations the user requested, oldest first (the hardware model applies them) */
  invalidations: Invalidation[];
}

export type Hwpt = HwptPaging | HwptNested;

export interface IommuCaps {
  nesting: boolean;
  dirtyTracking: boolean;
  pasid: boolean;
}

export interface HwptAllocCmd {
  devId: number;
  ptId: number;
  flags: string[];
  dataType: 'none' | 'vtd_s1';
  data?: VtdS1;
}

function flagBits(flags: string[]): number | null {
  let bits = 0;
  for (const f of flags) {
    if (!Object.hasOwn(HWPT_ALLOC_FLAGS, f)) return null;
    bits |= HWPT_ALLOC_FLAGS[f as keyof typeof HWPT_ALLOC_FLAGS];
  }
  return bits;
}

/** iommufd_hwpt_paging_alloc: a new domain on the IOAS, loaded with its areas. */
export function hwptPagingAlloc(
  table: ObjectTable,
  core: IommuCore,
  caps: IommuCaps,
  ioas: Ioas,
  bits: number,
  auto: boolean,
  /** the group of the device the HWPT is made for (its unit decides the table format) */
  group: Group,
): Result<HwptPaging> {
  if (
    bits &
    ~(
      HWPT_ALLOC_FLAGS.NEST_PARENT |
      HWPT_ALLOC_FLAGS.DIRTY_TRACKING |
      HWPT_ALLOC_FLAGS.PASID |
      HWPT_ALLOC_FLAGS.FAULT_ID_VALID
    )
  ) {
    return fail('EOPNOTSUPP', 'unknown HWPT flags');
  }
  if (bits & HWPT_ALLOC_FLAGS.FAULT_ID_VALID) return fail('EOPNOTSUPP', 'fault objects are not modelled');
  if (bits & HWPT_ALLOC_FLAGS.DIRTY_TRACKING && !caps.dirtyTracking) {
    return fail('EOPNOTSUPP', 'the IOMMU has no dirty tracking (ECAP.SSADS)');
  }
  if (bits & HWPT_ALLOC_FLAGS.NEST_PARENT && !caps.nesting)
    return fail('EOPNOTSUPP', 'the IOMMU has no nesting support');
  if (bits & HWPT_ALLOC_FLAGS.PASID && !caps.pasid)
    return fail('EOPNOTSUPP', 'the IOMMU has no PASID support');
  const nestParent = (bits & HWPT_ALLOC_FLAGS.NEST_PARENT) !== 0;
  const pasidCompat = (bits & HWPT_ALLOC_FLAGS.PASID) !== 0;
  const domain = core.newPagingDomain('unmanaged', group, { nestParent, pasid: pasidCompat });
  const err = ioas.iopt.addDomain(domain);
  if (err) return err;
  const hwpt: HwptPaging = {
    id: table.allocId(),
    type: 'hwpt_paging',
    users: 0,
    ioas,
    domain,
    auto,
    nestParent,
    pasidCompat,
  };
  ioas.users++;
  return ok(table.finalize(hwpt));
}

/** IOMMU_HWPT_ALLOC */
export function hwptAlloc(
  table: ObjectTable,
  core: IommuCore,
  caps: IommuCaps,
  cmd: HwptAllocCmd,
  /** the group of the device dev_id names, or null when it names no device */
  deviceGroup: (id: number) => Group | null,
): Result<Hwpt> {
  if ((cmd.dataType === 'none') !== (cmd.data === undefined))
    return fail('EINVAL', 'data_type and data_len disagree');
  const group = deviceGroup(cmd.devId);
  if (group === null) return fail('ENOENT', `no device object with id ${cmd.devId}`);
  const pt = table.any(cmd.ptId);
  if (!pt) return fail('ENOENT', `no object with id ${cmd.ptId}`);
  const bits = flagBits(cmd.flags);
  if (bits === null) return fail('EOPNOTSUPP', `unknown HWPT flag in ${cmd.flags.join(',')}`);
  if (pt.type === 'ioas') {
    if (cmd.dataType !== 'none') return fail('EOPNOTSUPP', 'paging HWPTs take no driver data');
    return hwptPagingAlloc(table, core, caps, pt as Ioas, bits, false, group);
  }
  if (pt.type !== 'hwpt_paging')
    return fail('EINVAL', `pt_id ${cmd.ptId} is a ${pt.type}, not an IOAS or a paging HWPT`);
  // iommufd_hwpt_nested_alloc
  const parent = pt as HwptPaging;
  if (
    bits & ~(HWPT_ALLOC_FLAGS.FAULT_ID_VALID | HWPT_ALLOC_FLAGS.PASID) ||
    cmd.dataType === 'none' ||
    !caps.nesting
  ) {
    return fail(
      'EOPNOTSUPP',
      'a nested HWPT needs stage-1 data, nesting support, and only FAULT_ID_VALID/PASID flags',
    );
  }
  if (parent.auto || !parent.nestParent) {
    return fail('EINVAL', `HWPT ${parent.id} was not allocated with NEST_PARENT`);
  }
  const s1 = cmd.data!;
  if (s1.flags & ~(VTD_S1_FLAGS.SRE | VTD_S1_FLAGS.EAFE | VTD_S1_FLAGS.WPE)) {
    return fail('EOPNOTSUPP', 'unknown VT-d stage-1 flags');
  }
  if (s1.addrWidth !== 48 && s1.addrWidth !== 57)
    return fail('EINVAL', `stage-1 address width ${s1.addrWidth}: 48 or 57`);
  if (s1.pgtblAddr & 0xfffn) return fail('EINVAL', 'stage-1 page-table pointer is not 4 KiB aligned');
  const domain: NestedDomain = { id: core.allocDomainId(), type: 'nested', parent: parent.domain, s1 };
  const hwpt: HwptNested = {
    id: table.allocId(),
    type: 'hwpt_nested',
    users: 0,
    parent,
    domain,
    pasidCompat: (bits & HWPT_ALLOC_FLAGS.PASID) !== 0,
    invalidations: [],
  };
  parent.users++;
  return ok(table.finalize(hwpt));
}

/** Tears a HWPT down after the object table allowed it (users == 0). */
export function hwptDestroy(table: ObjectTable, hwpt: Hwpt): void {
  if (hwpt.type === 'hwpt_paging') {
    hwpt.ioas.iopt.removeDomain(hwpt.domain);
    hwpt.ioas.users--;
  } else {
    hwpt.parent.users--;
  }
  table.remove(hwpt.id);
}

/**
 * IOMMU_HWPT_INVALIDATE for a VT-d nested HWPT: entries {addr, npages, flags LEAF}. Processing stops at
 * the first bad entry; the answer says how many were done (entry_num on return).
 */
export function hwptInvalidate(
  table: ObjectTable,
  hwptId: number,
  entries: { addr: bigint; npages: bigint; flags: string[] }[],
): Result<number> & { done?: number } {
  const hwpt = table.get<HwptNested>(hwptId, 'hwpt_nested', 'nested HWPT');
  if (isFailure(hwpt)) return hwpt;
  let done = 0;
  for (const e of entries) {
    if (e.flags.some((f) => f !== 'LEAF'))
      return { ...fail('EOPNOTSUPP', `entry ${done}: unknown flags`), done };
    const all = e.addr === 0n && e.npages === (1n << 64n) - 1n;
    if (!all && (e.addr & 0xfffn || e.npages === 0n)) {
      return { ...fail('EINVAL', `entry ${done}: address not 4 KiB aligned or zero pages`), done };
    }
    hwpt.invalidations.push({ addr: e.addr, npages: e.npages, leaf: e.flags.includes('LEAF') });
    done++;
  }
  return { ...ok(done), done };
}
