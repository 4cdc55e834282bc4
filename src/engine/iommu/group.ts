// An IOMMU group at run time (drivers/iommu/iommu.c struct iommu_group): its devices, default and
// blocking domains, the domain every device of the group currently uses for requests without PASID,
// the PASID attachments, and DMA ownership. The verbs mirror the kernel's:
// iommu_device_use_default_domain, iommu_device_claim_dma_owner, __iommu_take_dma_ownership,
// __iommu_device_set_domain (the RESV_DIRECT rule of commit a48ce36e2786), and their releases.
import { fail, type Failure } from '../errno';
import type { BlockedDomain, Domain } from './domain';

/** The warning Linux prints when a RESV_DIRECT device would lose its 1:1 mapping. */
export const REQUIRE_DIRECT_MESSAGE =
  'Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without a 1:1 mapping. Contact your platform vendor.';

export interface GroupDevice {
  bdf: string;
  requesterId: number;
  name: string;
  /** max_pasids: 1 << PASID width, 0 when the device has no PASID capability */
  maxPasids: number;
  /** has an IOMMU_RESV_DIRECT (non-relaxable) region */
  requireDirect: boolean;
  /** bound kernel driver, or null */
  driver: string | null;
  /** kernel warnings this device caused (dev_warn lines) */
  warnings: string[];
}

export type Owner = object;

export class Group {
  private currentDomain: Domain;
  /** bumped whenever the RID domain or a PASID attachment changes (the IOMMU driver reprograms) */
  generation = 0;
  owner: Owner | null = null;
  ownerCnt = 0;
  /** PASID → domain (group->pasid_array); change it through setPasid */
  readonly pasids = new Map<number, Domain>();
  /** input address width of paging domains made for this group (from its IOMMU unit): 39, 48 or 57 */
  addressWidth = 48;

  constructor(
    readonly id: number,
    readonly reason: string,
    readonly devices: GroupDevice[],
    public defaultDomain: Domain,
    readonly blockingDomain: BlockedDomain,
  ) {
    this.currentDomain = defaultDomain;
  }

  get domain(): Domain {
    return this.currentDomain;
  }

  set domain(d: Domain) {
    if (d !== this.currentDomain) this.generation++;
    this.currentDomain = d;
  }

  setPasid(pasid: number, d: Domain | null): void {
    if (d) this.pasids.set(pasid, d);
    else this.pasids.delete(pasid);
    this.generation++;
  }

  /** __iommu_device_set_domain's check, for every device of the group. */
  private canSet(domain: Domain): Failure | null {
    // The kernel also tests `domain == group->blocking_domain`: for drivers without a blocked domain
    // that is an empty paging domain. Here the blocking domain is always of type blocked.
    if (domain.type !== 'blocked') return null;
    const d = this.devices.find((x) => x.requireDirect);
    if (!d) return null;
    d.warnings.push(REQUIRE_DIRECT_MESSAGE);
    return fail('EINVAL', `${d.bdf}: ${REQUIRE_DIRECT_MESSAGE}`);
  }

  /** __iommu_group_set_domain */
  setDomain(domain: Domain): Failure | null {
    const err = this.canSet(domain);
    if (err) return err;
    this.domain = domain;
    return null;
  }

  /** iommu_device_use_default_domain: a kernel driver probes a device of the group. */
  useDefaultDomain(): Failure | null {
    if (this.ownerCnt) {
      if (this.domain !== this.defaultDomain || this.owner || this.pasids.size) {
        return fail(
          'EBUSY',
          this.owner
            ? `group ${this.id} is owned by user space`
            : `group ${this.id} is not on its default domain or has PASID attachments`,
        );
      }
    }
    this.ownerCnt++;
    return null;
  }

  /** iommu_device_unuse_default_domain */
  unuseDefaultDomain(): void {
    if (this.ownerCnt > 0 && !this.owner) this.ownerCnt--;
  }

  /** __iommu_take_dma_ownership: switch to the blocking domain and record the owner. */
  private take(owner: Owner): Failure | null {
    if (this.domain !== this.defaultDomain || this.pasids.size) {
      return fail('EBUSY', `group ${this.id} is not on its default domain or has PASID attachments`);
    }
    const err = this.setDomain(this.blockingDomain);
    if (err) return err;
    this.owner = owner;
    this.ownerCnt++;
    return null;
  }

  /** iommu_device_claim_dma_owner (iommufd, VFIO cdev): devices of a group may share one owner. */
  claimDeviceOwner(owner: Owner): Failure | null {
    if (this.ownerCnt) {
      if (this.owner !== owner) {
        return fail(
          'EPERM',
          this.owner
            ? `group ${this.id} is owned by another user`
            : `group ${this.id} is in use by a kernel driver`,
        );
      }
      this.ownerCnt++;
      return null;
    }
    return this.take(owner);
  }

  /** iommu_group_claim_dma_owner (legacy VFIO group): the whole group, only when nothing uses it. */
  claimGroupOwner(owner: Owner): Failure | null {
    if (this.ownerCnt) return fail('EPERM', `group ${this.id} is in use (${this.ownerCnt} user(s))`);
    return this.take(owner);
  }

  /** iommu_device_release_dma_owner: the last release returns the group to its default domain. */
  releaseDeviceOwner(): void {
    if (this.ownerCnt > 1) {
      this.ownerCnt--;
      return;
    }
    this.domain = this.defaultDomain; // __iommu_group_set_domain_nofail
    this.owner = null;
    this.ownerCnt = 0;
  }
}
