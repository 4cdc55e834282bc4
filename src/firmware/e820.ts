// The firmware memory map (e820) as the kernel log prints it, and the coverage test Linux applies to an
// RMRR: arch/x86/include/asm/iommu.h arch_rmrr_sanity_check() asks e820__get_entry_type(start, end),
// which walks the sorted map (arch/x86/kernel/e820.c __e820__mapped_all with type 0): each entry that
// overlaps the range and starts at or before the uncovered start moves the start past its end; the type
// of the entry that completes the coverage is returned. The RMRR passes when that type is reserved
// (E820_TYPE_RESERVED) or ACPI NVS (E820_TYPE_NVS).
import type { E820Entry } from './kernel-log';

/** The e820 type covering [start, endInclusive] the way __e820__mapped_all finds it, or null. */
export function e820CoveringType(
  map: readonly E820Entry[],
  start: bigint,
  endInclusive: bigint,
): string | null {
  const end = endInclusive + 1n;
  let s = start;
  const sorted = [...map].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (const e of sorted) {
    const eEnd = e.end + 1n;
    if (e.start >= end || eEnd <= s) continue;
    if (e.start <= s) s = eEnd;
    if (s >= end) return e.type;
  }
  return null;
}

/** True when Linux accepts the range as firmware-reserved (reserved or ACPI NVS). */
export function e820Reserves(map: readonly E820Entry[], start: bigint, endInclusive: bigint): boolean {
  const t = e820CoveringType(map, start, endInclusive);
  return t === 'reserved' || t === 'ACPI NVS';
}

/** True when every byte of [start, endInclusive] lies in entries of one of `types` (e820_all_mapped per type set). */
export function e820AllOfTypes(
  map: readonly E820Entry[],
  start: bigint,
  endInclusive: bigint,
  types: readonly string[],
): boolean {
  const end = endInclusive + 1n;
  let s = start;
  const sorted = map
    .filter((e) => types.includes(e.type))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (const e of sorted) {
    const eEnd = e.end + 1n;
    if (e.start >= end || eEnd <= s) continue;
    if (e.start > s) return false;
    s = eEnd;
    if (s >= end) return true;
  }
  return s >= end;
}
