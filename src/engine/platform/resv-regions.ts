// Per-device reserved regions, as the Intel driver reports them (drivers/iommu/intel/iommu.c
// intel_iommu_get_resv_regions), typed like include/linux/iommu.h enum iommu_resv_type:
//   - each RMRR whose scope names the device, or a bridge above it (is_downstream_to_pci_bridge):
//     direct-relaxable for USB controllers (class 0x0c03xx) and display devices (0x03xxxx), which is
//     device_rmrr_is_relaxable with IS_USB_DEVICE / IS_GFX_DEVICE; direct for everything else
//   - ISA bridges (class 0x0601xx) with CONFIG_INTEL_IOMMU_FLOPPY_WA: 0..16 MiB direct-relaxable
//   - every device: the interrupt window 0xfee00000-0xfeefffff, type msi
// Regions are sorted by start, then by type in enum order (iommu_insert_resv_region's order); ends are
// inclusive; length = end - start + 1. Intel never reports 'reserved' or 'sw-msi' (ARM/virtio do).
import type { PciFunction, Platform } from './model';
import { functionOrThrow, scopeCovers } from './topology';

export type ResvType = 'direct' | 'direct-relaxable' | 'reserved' | 'msi' | 'sw-msi';

/** include/linux/iommu.h enum iommu_resv_type order. */
export const RESV_TYPE_ORDER: readonly ResvType[] = [
  'direct',
  'direct-relaxable',
  'reserved',
  'msi',
  'sw-msi',
];

export interface ReservedRegion {
  start: bigint;
  /** inclusive */
  end: bigint;
  length: bigint;
  type: ResvType;
  /** where it comes from, e.g. "RMRR 0 (IGD stolen memory)" */
  source: string;
  /** index into Platform.rmrrs when the region is an RMRR */
  rmrr: number | null;
}

export const IOAPIC_RANGE_START = 0xfee00000n;
export const IOAPIC_RANGE_END = 0xfeefffffn;

/** device_rmrr_is_relaxable: IS_USB_DEVICE (class >> 8 == 0x0c03) or IS_GFX_DEVICE (class >> 16 == 0x03). */
export function rmrrIsRelaxable(fn: PciFunction): boolean {
  return fn.classCode >> 8 === 0x0c03 || fn.classCode >> 16 === 0x03;
}

const region = (
  start: bigint,
  end: bigint,
  type: ResvType,
  source: string,
  rmrr: number | null,
): ReservedRegion => ({
  start,
  end,
  length: end - start + 1n,
  type,
  source,
  rmrr,
});

/**
 * The reserved regions of one function (bdf "SSSS:BB:DD.F" or "BB:DD.F"). A function no IOMMU unit
 * translates has none. Throws when the platform has no such function.
 */
export function reservedRegions(platform: Platform, bdf: string): ReservedRegion[] {
  const fn = functionOrThrow(platform, bdf);
  if (fn.iommu === null) return [];
  const out: ReservedRegion[] = [];
  const relaxable = rmrrIsRelaxable(fn);
  platform.rmrrs.forEach((r, idx) => {
    for (const s of r.scope) {
      if (!scopeCovers(platform.functions, s, fn)) continue;
      const why = relaxable ? (fn.classCode >> 8 === 0x0c03 ? 'USB controller' : 'graphics device') : null;
      const source = `RMRR ${r.index} (${r.name})${why ? `, relaxable: ${why}` : ''}`;
      out.push(region(r.base, r.end, relaxable ? 'direct-relaxable' : 'direct', source, idx));
    }
  });
  if (platform.kernel.floppyWorkaround && fn.classCode >> 8 === 0x0601)
    out.push(
      region(
        0n,
        (1n << 24n) - 1n,
        'direct-relaxable',
        'ISA bridge floppy workaround (CONFIG_INTEL_IOMMU_FLOPPY_WA)',
        null,
      ),
    );
  out.push(region(IOAPIC_RANGE_START, IOAPIC_RANGE_END, 'msi', 'interrupt (MSI) address window', null));
  return out
    .map((r, i) => ({ r, i }))
    .sort(
      (a, b) =>
        (a.r.start < b.r.start ? -1 : a.r.start > b.r.start ? 1 : 0) ||
        RESV_TYPE_ORDER.indexOf(a.r.type) - RESV_TYPE_ORDER.indexOf(b.r.type) ||
        a.i - b.i,
    )
    .map(({ r }) => r);
}

/**
 * True when firmware asks for a 1:1 mapping that may not be relaxed (a 'direct' region): Linux then
 * sets dev->iommu->require_direct and refuses blocking domains, so VFIO/iommufd cannot own the device.
 */
export function requiresDirect(platform: Platform, bdf: string): boolean {
  return reservedRegions(platform, bdf).some((r) => r.type === 'direct');
}
