// The kernel's IOMMU core for one platform (drivers/iommu/iommu.c): groups with their default
// domains (RESV_DIRECT and RESV_DIRECT_RELAXABLE regions unity-mapped into DMA domains, as
// iommu_create_device_direct_mappings does), driver binding, default-domain type changes through
// sysfs, the DMA API's map/unmap on default domains, and PASID attachment. User ownership and
// iommufd's attachments go through the same Group objects.
import { ErrnoError, fail, type Failure, type Result, ok } from '../errno';
import type { Prot } from '../iommufd/io-pagetable';
import {
  PagingDomain,
  type BlockedDomain,
  type Domain,
  type IdentityDomain,
  type MappingOrigin,
  type PageTableOps,
} from './domain';
import { Group, type GroupDevice } from './group';
import type { ReservedRegion } from '../platform/index';

/** What the core needs of a reserved region (src/engine/platform/resv-regions.ts makes them). */
export type ResvRegion = Pick<ReservedRegion, 'start' | 'end' | 'type' | 'source'>;
import { TdispInterface } from './tdisp';

export type DefaultDomainType = 'identity' | 'dma' | 'dma-fq';

export interface CoreDeviceSpec {
  bdf: string;
  requesterId: number;
  name: string;
  pasidWidth: number;
  tdisp: boolean;
  regions: ResvRegion[];
}

export interface CoreGroupSpec {
  id: number;
  members: string[];
  reason: string;
  /** the group's IOMMU unit, when it differs from the platform-wide defaults below */
  addressWidth?: number;
  passThrough?: boolean;
}

export interface CoreSpec {
  devices: CoreDeviceSpec[];
  groups: CoreGroupSpec[];
  /** the kernel's default (iommu.passthrough / iommu.strict) */
  defaultDomainType: DefaultDomainType;
  /** ECAP.PT: without pass-through the kernel cannot use identity domains (default for groups) */
  passThrough: boolean;
  /** second-level address width of paging domains: 39, 48 or 57 (default for groups) */
  addressWidth: number;
}

export interface CoreDevice extends GroupDevice {
  group: Group;
  regions: ResvRegion[];
  tdisp: TdispInterface | null;
}

/** Makes the page table of a new paging domain for a group (its unit decides levels and superpages). */
export type TableFactory = (group: Group) => PageTableOps;

const PAGE = 4096n;

export class IommuCore {
  readonly groups: Group[] = [];
  readonly devices = new Map<string, CoreDevice>();
  readonly blocked: BlockedDomain;
  readonly identity: IdentityDomain;
  private nextDomainId = 1;
  /** the event being applied; paging domains record it with each mapping and unmap */
  readonly origin: { current: MappingOrigin } = { current: { event: 'boot', time: 0 } };
  private readonly passThroughOf = new Map<Group, boolean>();

  constructor(
    readonly spec: CoreSpec,
    private readonly newTable: TableFactory,
  ) {
    this.blocked = { id: this.nextDomainId++, type: 'blocked' };
    this.identity = { id: this.nextDomainId++, type: 'identity' };
    const specs = new Map(spec.devices.map((d) => [d.bdf, d]));
    for (const g of spec.groups) {
      const members: CoreDevice[] = [];
      const group = new Group(g.id, g.reason, [], this.blocked, this.blocked);
      group.addressWidth = g.addressWidth ?? spec.addressWidth;
      this.passThroughOf.set(group, g.passThrough ?? spec.passThrough);
      for (const bdf of g.members) {
        const d = specs.get(bdf);
        if (!d) throw new Error(`group ${g.id} names ${bdf}, which the platform lacks`);
        const dev: CoreDevice = {
          bdf,
          requesterId: d.requesterId,
          name: d.name,
          maxPasids: d.pasidWidth > 0 ? 2 ** d.pasidWidth : 0,
          // iommu_create_device_direct_mappings sets require_direct for any IOMMU_RESV_DIRECT region
          requireDirect: d.regions.some((r) => r.type === 'direct'),
          driver: null,
          warnings: [],
          group,
          regions: d.regions,
          tdisp: d.tdisp ? new TdispInterface() : null,
        };
        members.push(dev);
        group.devices.push(dev);
        this.devices.set(bdf, dev);
      }
      const def = this.makeDefaultDomain(group, spec.defaultDomainType, members);
      group.defaultDomain = def;
      group.domain = def;
      this.groups.push(group);
    }
  }

  allocDomainId(): number {
    return this.nextDomainId++;
  }

  newPagingDomain(
    type: 'dma' | 'dma-fq' | 'unmanaged',
    group: Group,
    flags?: { nestParent: boolean; pasid: boolean },
  ): PagingDomain {
    return new PagingDomain(
      this.allocDomainId(),
      type,
      this.newTable(group),
      group.addressWidth,
      flags,
      this.origin,
    );
  }

  device(bdf: string): CoreDevice | Failure {
    return this.devices.get(bdf) ?? fail('ENODEV', `no device ${bdf} in the platform`);
  }

  /** iommu_setup_default_domain + iommu_create_device_direct_mappings */
  private makeDefaultDomain(group: Group, type: DefaultDomainType, members: CoreDevice[]): Domain {
    if (type === 'identity' && this.passThroughOf.get(group)) return this.identity;
    const domain = this.newPagingDomain(type === 'identity' ? 'dma' : type, group);
    for (const dev of members) this.unityMap(domain, dev);
    return domain;
  }

  /** Maps a device's direct regions 1:1, skipping pages another device of the group already mapped. */
  private unityMap(domain: PagingDomain, dev: CoreDevice): void {
    for (const r of dev.regions) {
      if (r.type !== 'direct' && r.type !== 'direct-relaxable') continue;
      const start = (r.start / PAGE) * PAGE;
      const end = ((r.end + PAGE) / PAGE) * PAGE; // exclusive, page-rounded
      const saved = this.origin.current;
      this.origin.current = { event: `unity map of ${r.source} for ${dev.bdf}`, time: saved.time };
      let runStart: bigint | null = null;
      for (let p = start; p <= end; p += PAGE) {
        const free = p < end && !domain.mappings.some((m) => p >= m.iova && p < m.iova + m.length);
        if (free && runStart === null) runStart = p;
        if (!free && runStart !== null) {
          domain.map(runStart, runStart, p - runStart, { read: true, write: true });
          runStart = null;
        }
      }
      this.origin.current = saved;
    }
  }

  /** A kernel driver binds: iommu_device_use_default_domain. */
  driverBind(bdf: string, driver: string): Result<null> {
    const dev = this.device(bdf);
    if ('ok' in dev) return dev;
    if (dev.driver) return fail('EBUSY', `${bdf} is already bound to ${dev.driver}`);
    const err = dev.group.useDefaultDomain();
    if (err) return err;
    dev.driver = driver;
    return ok(null);
  }

  driverUnbind(bdf: string): Result<null> {
    const dev = this.device(bdf);
    if ('ok' in dev) return dev;
    if (!dev.driver) return fail('ENODEV', `${bdf} has no driver bound`);
    dev.group.unuseDefaultDomain();
    dev.driver = null;
    return ok(null);
  }

  /**
   * `echo TYPE > /sys/kernel/iommu_groups/N/type` (iommu_group_store_type): DMA → DMA-FQ converts in
   * place; any other change needs the group free of drivers and users (EPERM otherwise).
   */
  setDefaultDomainType(groupId: number, type: DefaultDomainType): Result<Domain> {
    const group = this.groups.find((g) => g.id === groupId);
    if (!group) return fail('ENOENT', `no IOMMU group ${groupId}`);
    const cur = group.defaultDomain;
    if (type === 'dma-fq' && cur.type === 'dma') {
      (cur as { type: string }).type = 'dma-fq';
      return ok(cur);
    }
    if (group.ownerCnt) return fail('EPERM', `group ${groupId} has a driver bound or a user: unbind first`);
    if (type === 'identity' && !this.passThroughOf.get(group)) {
      return fail('EINVAL', 'the IOMMU has no pass-through (ECAP.PT=0): identity domains are not supported');
    }
    if (cur.type === type) return ok(cur);
    const next = this.makeDefaultDomain(group, type, group.devices as CoreDevice[]);
    const err = group.domain === cur ? group.setDomain(next) : null;
    if (err) return err;
    group.defaultDomain = next;
    return ok(next);
  }

  /** The DMA API maps a buffer for a kernel driver (dma_map_*), on the group's default DMA domain. */
  dmaMap(bdf: string, iova: bigint, pa: bigint, size: bigint, prot: Prot): Result<null> {
    const dev = this.device(bdf);
    if ('ok' in dev) return dev;
    if (!dev.driver) return fail('EINVAL', `${bdf}: DMA API use without a bound driver`);
    const d = dev.group.domain;
    if (d.type === 'identity') return ok(null); // dma-direct: bus address = physical address
    if (!(d instanceof PagingDomain) || (d.type !== 'dma' && d.type !== 'dma-fq')) {
      return fail('EINVAL', `${bdf}: group ${dev.group.id} is on a ${d.type} domain, not a DMA API domain`);
    }
    return d.map(iova, pa, size, prot) ?? ok(null);
  }

  dmaUnmap(bdf: string, iova: bigint, size: bigint): Result<null> {
    const dev = this.device(bdf);
    if ('ok' in dev) return dev;
    const d = dev.group.domain;
    if (d.type === 'identity') return ok(null);
    if (!(d instanceof PagingDomain))
      return fail('EINVAL', `${bdf}: group ${dev.group.id} has no DMA API domain`);
    try {
      d.unmap(iova, size);
    } catch (e) {
      if (e instanceof ErrnoError) return fail(e.errno, `${bdf}: ${e.message}`);
      throw e;
    }
    return ok(null);
  }
}
