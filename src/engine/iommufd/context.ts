// One iommufd context (an open /dev/iommu): the object table, the device layer, and IOMMU_DESTROY.
// It acts on the platform's IOMMU core, whose groups it takes DMA ownership of through bind.
import { fail, ok, type Result } from '../errno';
import type { IommuCore } from '../iommu/core';
import { DeviceLayer } from './device';
import { hwptDestroy, type Hwpt, type IommuCaps } from './hw-pagetable';
import type { Ioas } from './ioas';
import { ObjectTable } from './object-table';

export interface ContextCaps extends IommuCaps {
  /** interrupt remapping gives isolated MSI; without it bind fails unless unsafe interrupts are allowed */
  isolatedMsi: boolean;
  allowUnsafeInterrupts: boolean;
}

export class IommufdContext {
  readonly table = new ObjectTable();
  readonly devices: DeviceLayer;

  constructor(
    readonly core: IommuCore,
    readonly caps: ContextCaps,
  ) {
    this.devices = new DeviceLayer(this.table, core, caps, this);
  }

  /** IOMMU_DESTROY: ENOENT for an unknown id, EBUSY while referenced (a bound device always is). */
  destroy(id: number): Result<null> {
    const obj = this.table.checkDestroy(id);
    if ('ok' in obj) return obj;
    switch (obj.type) {
      case 'ioas':
        (obj as Ioas).iopt.unmapAll();
        this.table.remove(id);
        return ok(null);
      case 'hwpt_paging':
      case 'hwpt_nested':
        hwptDestroy(this.table, obj as Hwpt);
        return ok(null);
      default:
        return fail('EBUSY', `object ${id} (${obj.type}) is held by its driver: unbind it instead`);
    }
  }
}
