// The iommufd object table (drivers/iommu/iommufd/main.c): one id space starting at 1
// (XA_FLAGS_ALLOC1), a users count per object, and IOMMU_DESTROY that answers ENOENT for an unknown
// id and EBUSY while anything else holds the object. Objects become visible only when their verb
// succeeded (alloc then finalize), so a failed verb never consumes a visible id.
import { fail, type Failure } from '../errno';

export type ObjectType = 'ioas' | 'hwpt_paging' | 'hwpt_nested' | 'device';

export interface IommufdObject {
  id: number;
  type: ObjectType;
  /** references held by other objects (a HWPT on its IOAS, a device on its HWPT…) */
  users: number;
}

export class ObjectTable {
  private readonly objects = new Map<number, IommufdObject>();
  private nextId = 1;

  /** Reserves the next id; the object is not visible until finalize. */
  allocId(): number {
    return this.nextId++;
  }

  finalize<T extends IommufdObject>(obj: T): T {
    this.objects.set(obj.id, obj);
    return obj;
  }

  /** iommufd_get_object: the object with this id and type, or ENOENT. */
  get<T extends IommufdObject>(id: number, type: ObjectType | ObjectType[], what?: string): T | Failure {
    const obj = this.objects.get(id);
    const types = Array.isArray(type) ? type : [type];
    if (!obj || !types.includes(obj.type)) {
      return fail('ENOENT', `no ${what ?? types.join(' or ')} object with id ${id}`);
    }
    return obj as T;
  }

  any(id: number): IommufdObject | undefined {
    return this.objects.get(id);
  }

  /** IOMMU_DESTROY's checks; the caller tears the object down after a null answer. */
  checkDestroy(id: number): IommufdObject | Failure {
    const obj = this.objects.get(id);
    if (!obj) return fail('ENOENT', `no object with id ${id}`);
    if (obj.users > 0)
      return fail('EBUSY', `object ${id} (${obj.type}) is still in use by ${obj.users} other object(s)`);
    return obj;
  }

  remove(id: number): void {
    this.objects.delete(id);
  }

  all(): IommufdObject[] {
    return [...this.objects.values()].sort((a, b) => a.id - b.id);
  }
}

export function isFailure(x: unknown): x is Failure {
  return typeof x === 'object' && x !== null && (x as Failure).ok === false;
}
