// Test support: a page table that records mappings page by page (no PTE layout). For tests of the
// ownership and attach rules, where what matters is which domain a group uses, not the PTE bits;
// the real VT-d tables are tested in src/engine/vtd.
import { fail } from '../errno';
import type { PageTableOps } from '../iommu/domain';

export function fakePageTable(): PageTableOps & { pages: Map<bigint, bigint> } {
  const pages = new Map<bigint, bigint>();
  return {
    root: 0,
    pages,
    map(iova, pa, size) {
      for (let o = 0n; o < size; o += 4096n) if (pages.has(iova + o)) return fail('EEXIST', 'already mapped');
      for (let o = 0n; o < size; o += 4096n) pages.set(iova + o, pa + o);
      return null;
    },
    unmap(iova, size) {
      let n = 0n;
      for (let o = 0n; o < size; o += 4096n) if (pages.delete(iova + o)) n += 4096n;
      return n;
    },
  };
}
