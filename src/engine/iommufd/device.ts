// Device objects (drivers/iommu/iommufd/device.c): bind claims DMA ownership of the device's group
// for the iommufd context; attach, replace and detach connect the device (its RID, or one PASID) to
// a HWPT. Every device of a group uses the same HWPT for the same PASID; the hardware attach happens
// with the group's first device and the detach with its last. A device's reserved regions are
// enforced in the IOAS when its RID is attached to a paging HWPT.
import { fail, ok, type Failure, type Result } from '../errno';
import type { CoreDevice, IommuCore } from '../iommu/core';
import type { Domain } from '../iommu/domain';
import {
  hwptDestroy,
  hwptPagingAlloc,
  HWPT_ALLOC_FLAGS,
  type Hwpt,
  type HwptPaging,
  type IommuCaps,
} from './hw-pagetable';
import type { Ioas } from './ioas';
import { isFailure, type IommufdObject, type ObjectTable } from './object-table';

/** IOMMU_NO_PASID: requests without a PASID use the RID attachment. */
export const NO_PASID = 0;

export interface IommufdDevice extends IommufdObject {
  type: 'device';
  dev: CoreDevice;
}

/** Per (group, PASID): the HWPT and the devices attached to it (struct iommufd_attach). */
interface Attach {
  hwpt: Hwpt;
  devices: Set<IommufdDevice>;
}

export class DeviceLayer {
  /** group id → PASID → attach */
  private readonly attaches = new Map<number, Map<number, Attach>>();

  constructor(
    private readonly table: ObjectTable,
    private readonly core: IommuCore,
    private readonly caps: IommuCaps & { isolatedMsi: boolean; allowUnsafeInterrupts: boolean },
    /** the iommufd context's identity as a DMA owner */
    private readonly owner: object,
  ) {}

  private groupAttaches(groupId: number): Map<number, Attach> {
    let m = this.attaches.get(groupId);
    if (!m) this.attaches.set(groupId, (m = new Map()));
    return m;
  }

  /** The HWPT a device's RID or PASID is attached to, if any. */
  attachedHwpt(idev: IommufdDevice, pasid: number): Hwpt | null {
    const a = this.attaches.get(idev.dev.group.id)?.get(pasid);
    return a && a.devices.has(idev) ? a.hwpt : null;
  }

  getDevice(id: number): IommufdDevice | Failure {
    return this.table.get<IommufdDevice>(id, 'device', 'device');
  }

  /** iommufd_device_bind */
  bind(bdf: string): Result<IommufdDevice> {
    const dev = this.core.device(bdf);
    if (isFailure(dev)) return dev;
    if (dev.driver && dev.driver !== 'vfio-pci') {
      return fail(
        'EBUSY',
        `${bdf} is bound to ${dev.driver}: unbind it before handing the device to user space`,
      );
    }
    if (!this.caps.isolatedMsi && !this.caps.allowUnsafeInterrupts) {
      return fail('EPERM', 'no interrupt remapping (isolated MSI) and allow_unsafe_interrupts is off');
    }
    if ([...this.table.all()].some((o) => o.type === 'device' && (o as IommufdDevice).dev === dev)) {
      return fail('EEXIST', `${bdf} is already bound to this iommufd`);
    }
    const err = dev.group.claimDeviceOwner(this.owner);
    if (err) return err;
    // The driver (VFIO) holds a reference for as long as the device is bound.
    return ok(
      this.table.finalize<IommufdDevice>({ id: this.table.allocId(), type: 'device', users: 1, dev }),
    );
  }

  /** iommufd_device_unbind: detaches whatever is still attached and releases DMA ownership. */
  unbind(idev: IommufdDevice): void {
    const attaches = this.attaches.get(idev.dev.group.id);
    for (const [pasid, a] of [...(attaches ?? new Map<number, Attach>())])
      if (a.devices.has(idev)) this.detach(idev, pasid);
    idev.dev.group.releaseDeviceOwner();
    this.table.remove(idev.id);
  }

  /** Resolves pt_id for attach/replace: a HWPT, or an IOAS (auto domain). */
  private resolve(
    idev: IommufdDevice,
    pasid: number,
    ptId: number,
    replace: boolean,
  ): Result<{ hwpt: Hwpt; made: boolean }> {
    const pt = this.table.any(ptId);
    if (!pt) return fail('ENOENT', `no object with id ${ptId}`);
    if (pt.type === 'hwpt_paging' || pt.type === 'hwpt_nested') return ok({ hwpt: pt as Hwpt, made: false });
    if (pt.type !== 'ioas') return fail('EINVAL', `pt_id ${ptId} is a ${pt.type}, not an IOAS or a HWPT`);
    if (pasid !== NO_PASID && replace) return fail('EINVAL', 'a PASID cannot be replaced onto an IOAS');
    const ioas = pt as Ioas;
    // iommufd_device_auto_get_domain: reuse a compatible auto HWPT of this IOAS, else make one.
    for (const o of this.table.all()) {
      const h = o as HwptPaging;
      if (h.type === 'hwpt_paging' && h.auto && h.ioas === ioas && (pasid === NO_PASID || h.pasidCompat)) {
        return ok({ hwpt: h, made: false });
      }
    }
    const bits = pasid !== NO_PASID || idev.dev.maxPasids > 0 ? HWPT_ALLOC_FLAGS.PASID : 0;
    const made = hwptPagingAlloc(
      this.table,
      this.core,
      this.caps,
      ioas,
      this.caps.pasid ? bits : 0,
      true,
      idev.dev.group,
    );
    return made.ok ? ok({ hwpt: made.value, made: true }) : made;
  }

  /** iommufd_hwpt_pasid_compat */
  private pasidCompat(groupId: number, hwpt: Hwpt, pasid: number): Failure | null {
    const attaches = this.groupAttaches(groupId);
    if (pasid === NO_PASID) {
      const anyPasid = [...attaches.keys()].some((p) => p !== NO_PASID);
      if (!hwpt.pasidCompat && anyPasid)
        return fail('EINVAL', `HWPT ${hwpt.id} is not PASID-compatible while PASIDs are attached`);
      return null;
    }
    if (!hwpt.pasidCompat)
      return fail('EINVAL', `HWPT ${hwpt.id} was not allocated with IOMMU_HWPT_ALLOC_PASID`);
    const rid = attaches.get(NO_PASID);
    if (rid && !rid.hwpt.pasidCompat)
      return fail('EINVAL', `the RID's HWPT ${rid.hwpt.id} is not PASID-compatible`);
    return null;
  }

  private checkPasid(idev: IommufdDevice, pasid: number): Failure | null {
    if (pasid === NO_PASID) return null;
    if (idev.dev.maxPasids === 0) return fail('EINVAL', `${idev.dev.bdf} has no PASID capability`);
    if (pasid >= idev.dev.maxPasids)
      return fail('EINVAL', `PASID ${pasid} is beyond ${idev.dev.bdf}'s width`);
    return null;
  }

  private paging(hwpt: Hwpt): HwptPaging {
    return hwpt.type === 'hwpt_paging' ? hwpt : hwpt.parent;
  }

  /** Reserves the device's regions (all but DIRECT_RELAXABLE) in the HWPT's IOAS. */
  private enforceRegions(idev: IommufdDevice, hwpt: Hwpt): Failure | null {
    const iopt = this.paging(hwpt).ioas.iopt;
    for (const r of idev.dev.regions) {
      if (r.type === 'direct-relaxable') continue;
      const err = iopt.reserve(r.start, r.end, idev, `${r.type} region of ${idev.dev.bdf}: ${r.source}`);
      if (err) {
        iopt.removeReserved(idev);
        return err;
      }
    }
    return null;
  }

  private hwAttach(idev: IommufdDevice, pasid: number, domain: Domain): Failure | null {
    const group = idev.dev.group;
    if (pasid === NO_PASID) {
      // __iommu_attach_group: only from the default or blocking domain
      if (group.domain !== group.defaultDomain && group.domain !== group.blockingDomain) {
        return fail('EBUSY', `group ${group.id} is already attached to another domain`);
      }
      return group.setDomain(domain);
    }
    if (group.pasids.has(pasid))
      return fail('EBUSY', `PASID ${pasid} of group ${group.id} is already attached`);
    group.setPasid(pasid, domain);
    return null;
  }

  private hwDetach(idev: IommufdDevice, pasid: number): void {
    const group = idev.dev.group;
    if (pasid === NO_PASID) group.domain = group.blockingDomain;
    else group.setPasid(pasid, null);
  }

  /** iommufd_device_attach (RID when pasid is NO_PASID). Returns the HWPT id. */
  attach(idev: IommufdDevice, pasid: number, ptId: number): Result<number> {
    const bad = this.checkPasid(idev, pasid);
    if (bad) return bad;
    const attaches = this.groupAttaches(idev.dev.group.id);
    const existing = attaches.get(pasid);
    if (existing?.devices.has(idev)) {
      return fail(
        'EBUSY',
        `${idev.dev.bdf} ${pasid === NO_PASID ? 'RID' : `PASID ${pasid}`} is already attached to HWPT ${existing.hwpt.id}: use replace`,
      );
    }
    const r = this.resolve(idev, pasid, ptId, false);
    if (!r.ok) return r;
    const { hwpt, made } = r.value;
    const undo = (): void => {
      if (made) {
        const h = hwpt;
        if (h.users === 0) hwptDestroy(this.table, h);
      }
    };
    if (existing && existing.hwpt !== hwpt) {
      undo();
      return fail(
        'EINVAL',
        `group ${idev.dev.group.id} is attached to HWPT ${existing.hwpt.id}: all its devices must use the same HWPT`,
      );
    }
    const compat = this.pasidCompat(idev.dev.group.id, hwpt, pasid);
    if (compat) {
      undo();
      return compat;
    }
    if (pasid === NO_PASID) {
      const err = this.enforceRegions(idev, hwpt);
      if (err) {
        undo();
        return err;
      }
    }
    if (!existing) {
      const err = this.hwAttach(idev, pasid, hwpt.domain);
      if (err) {
        if (pasid === NO_PASID) this.paging(hwpt).ioas.iopt.removeReserved(idev);
        undo();
        return err;
      }
      attaches.set(pasid, { hwpt, devices: new Set([idev]) });
    } else {
      existing.devices.add(idev);
    }
    hwpt.users++;
    return ok(hwpt.id);
  }

  /** iommufd_device_detach: the last device of the group leaves the domain; the RID goes to blocked. */
  detach(idev: IommufdDevice, pasid: number): Result<null> {
    const attaches = this.groupAttaches(idev.dev.group.id);
    const a = attaches.get(pasid);
    if (!a || !a.devices.has(idev)) return ok(null); // detaching what is not attached is a no-op
    a.devices.delete(idev);
    if (pasid === NO_PASID) this.paging(a.hwpt).ioas.iopt.removeReserved(idev);
    if (a.devices.size === 0) {
      this.hwDetach(idev, pasid);
      attaches.delete(pasid);
    }
    this.put(a.hwpt);
    return ok(null);
  }

  /** Drops an attachment's reference; an auto HWPT goes with its last user. */
  private put(hwpt: Hwpt): void {
    hwpt.users--;
    if (hwpt.type === 'hwpt_paging' && hwpt.auto && hwpt.users === 0) hwptDestroy(this.table, hwpt);
  }

  /** iommufd_device_replace: atomically moves the whole group's attachment to another HWPT. */
  replace(idev: IommufdDevice, pasid: number, ptId: number): Result<number> {
    const bad = this.checkPasid(idev, pasid);
    if (bad) return bad;
    const attaches = this.groupAttaches(idev.dev.group.id);
    const old = attaches.get(pasid);
    if (!old || !old.devices.has(idev)) {
      return fail(
        'EINVAL',
        `${idev.dev.bdf} ${pasid === NO_PASID ? 'RID' : `PASID ${pasid}`} is not attached: nothing to replace`,
      );
    }
    const r = this.resolve(idev, pasid, ptId, true);
    if (!r.ok) return r;
    const { hwpt, made } = r.value;
    if (hwpt === old.hwpt) return ok(hwpt.id);
    const undo = (): void => {
      if (made && hwpt.users === 0) hwptDestroy(this.table, hwpt);
    };
    const compat = this.pasidCompat(idev.dev.group.id, hwpt, pasid);
    if (compat) {
      undo();
      return compat;
    }
    const oldIoas = this.paging(old.hwpt).ioas;
    const newIoas = this.paging(hwpt).ioas;
    if (pasid === NO_PASID && oldIoas !== newIoas) {
      for (const d of old.devices) {
        const err = this.enforceRegions(d, hwpt);
        if (err) {
          for (const u of old.devices) newIoas.iopt.removeReserved(u);
          undo();
          return err;
        }
      }
      for (const d of old.devices) oldIoas.iopt.removeReserved(d);
    }
    const group = idev.dev.group;
    if (pasid === NO_PASID) group.domain = hwpt.domain;
    else group.setPasid(pasid, hwpt.domain);
    const moved = old.devices.size;
    const prev = old.hwpt;
    old.hwpt = hwpt;
    hwpt.users += moved;
    for (let i = 0; i < moved; i++) this.put(prev);
    return ok(hwpt.id);
  }
}
