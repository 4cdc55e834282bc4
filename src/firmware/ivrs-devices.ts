// What Linux makes of an IVRS table's device entries and memory definitions (drivers/iommu/amd/init.c):
//   - per PCI segment, last_bdf: the highest device id named by select, range-end, alias and extended
//     select entries of the IVHDs in use, or ffff when one has a select-all entry (find_last_devid_*);
//   - per IVHD in use, the device ids it translates (the rlookup table init_iommu_from_acpi fills:
//     select, ranges, aliases and both ends of an alias, special devices' source ids, ACPI HID devices;
//     never the IOMMU's own device id) and the alias table (alias select/range: devid → requester id);
//   - per segment, the unity-map entries of IVMDs with the unity or exclusion flag
//     (init_unity_map_range): start rounded up to a page, end = start + length rounded up to a page.
//     Each becomes an IOMMU_RESV_DIRECT region of the devices in its range (amd_iommu_get_resv_regions;
//     exclusion ranges are unity-mapped read/write since 2021, so they are direct too).
import { PAGE_SIZE } from './bytes';
import type { Ivhd, IvrsTable } from './ivrs';

export interface IvhdCoverage {
  ivhd: Ivhd;
  /** "ivhd0": the index Linux gives in use order */
  id: string;
  /** inclusive device id ranges this IOMMU translates */
  ranges: [number, number][];
  /** device ids [first, last] that use requester id `to` (alias select and alias ranges), in table order */
  aliases: { first: number; last: number; to: number }[];
  includeAll: boolean;
}

export interface UnityMap {
  segment: number;
  devidStart: number;
  devidEnd: number;
  /** page aligned start, and exclusive end, as the kernel computes them */
  addressStart: bigint;
  addressEnd: bigint;
  exclusion: boolean;
  read: boolean;
  write: boolean;
  offset: number;
}

const pageAlign = (v: bigint) => (v + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n) & 0xffff_ffff_ffff_ffffn;

export function lastBdfPerSegment(table: IvrsTable): Map<number, number> {
  const out = new Map<number, number>();
  for (const b of table.blocks) {
    if (b.kind !== 'ivhd' || !b.used) continue;
    let last = out.get(b.segment) ?? 0;
    for (const e of b.entries) {
      if (e.kind === 'all') last = 0xffff;
      else if (
        e.kind === 'select' ||
        e.kind === 'range-end' ||
        e.kind === 'alias-select' ||
        e.kind === 'ext-select'
      )
        last = Math.max(last, e.devid);
    }
    out.set(b.segment, last);
  }
  return out;
}

export function ivhdCoverage(table: IvrsTable): IvhdCoverage[] {
  const lastBdf = lastBdfPerSegment(table);
  const out: IvhdCoverage[] = [];
  for (const b of table.blocks) {
    if (b.kind !== 'ivhd' || !b.used) continue;
    const ranges: [number, number][] = [];
    const aliases: IvhdCoverage['aliases'] = [];
    let includeAll = false;
    let start = 0;
    let aliasTo = 0;
    let alias = false;
    for (const e of b.entries) {
      switch (e.kind) {
        case 'all':
          includeAll = true;
          ranges.push([0, lastBdf.get(b.segment) ?? 0xffff]);
          break;
        case 'select':
        case 'ext-select':
          ranges.push([e.devid, e.devid]);
          break;
        case 'range-start':
        case 'ext-range-start':
          start = e.devid;
          alias = false;
          break;
        case 'alias-select':
          ranges.push([e.devid, e.devid], [e.aliasTo!, e.aliasTo!]);
          aliases.push({ first: e.devid, last: e.devid, to: e.aliasTo! });
          break;
        case 'alias-range-start':
          start = e.devid;
          aliasTo = e.aliasTo!;
          alias = true;
          break;
        case 'range-end':
          if (alias) {
            if (start <= e.devid) aliases.push({ first: start, last: e.devid, to: aliasTo });
            ranges.push([aliasTo, aliasTo]);
          }
          if (start <= e.devid) ranges.push([start, e.devid]);
          break;
        case 'special':
          ranges.push([e.source!, e.source!]);
          break;
        case 'acpi-hid':
          if (b.typeCode === 0x40 && e.hid) ranges.push([e.devid, e.devid]);
          break;
        default:
          break;
      }
    }
    out.push({ ivhd: b, id: `ivhd${out.length}`, ranges, aliases, includeAll });
  }
  return out;
}

/** The requester id `devid` uses per the IVRS alias entries (the last entry naming it wins), or null. */
export function aliasOf(c: IvhdCoverage, devid: number): number | null {
  let to: number | null = null;
  for (const a of c.aliases) if (devid >= a.first && devid <= a.last) to = a.to;
  return to;
}

/** True when the coverage translates `devid` (the IOMMU itself never translates its own id). */
export function covers(c: IvhdCoverage, devid: number): boolean {
  if (devid === c.ivhd.devid) return false;
  return c.ranges.some(([a, b]) => devid >= a && devid <= b);
}

export function unityMaps(table: IvrsTable): UnityMap[] {
  const lastBdf = lastBdfPerSegment(table);
  const out: UnityMap[] = [];
  for (const b of table.blocks) {
    if (b.kind !== 'ivmd' || !(b.flags & 0x09)) continue;
    const [devidStart, devidEnd] =
      b.typeCode === 0x20
        ? [0, lastBdf.get(b.segment) ?? 0xffff]
        : b.typeCode === 0x22
          ? [b.devid, b.aux]
          : [b.devid, b.devid];
    const addressStart = pageAlign(b.start);
    const exclusion = (b.flags & 0x08) !== 0;
    out.push({
      segment: b.segment,
      devidStart,
      devidEnd,
      addressStart,
      addressEnd: addressStart + pageAlign(b.rangeLength),
      exclusion,
      read: exclusion || (b.flags & 0x02) !== 0,
      write: exclusion || (b.flags & 0x04) !== 0,
      offset: b.offset,
    });
  }
  return out;
}
