import { describe, expect, it } from 'vitest';
import { loadPlatform } from './load';
import type { Platform } from './model';
import { requiresDirect, reservedRegions } from './resv-regions';

// Expected regions follow drivers/iommu/intel/iommu.c intel_iommu_get_resv_regions: RMRRs whose scope
// names the device or a bridge above it (is_downstream_to_pci_bridge), typed by
// device_rmrr_is_relaxable (IS_USB_DEVICE: class >> 8 == 0x0c03, IS_GFX_DEVICE: class >> 16 == 0x03),
// the ISA-bridge floppy window (CONFIG_INTEL_IOMMU_FLOPPY_WA), then IOAPIC_RANGE_START..END as MSI.

const MSI = { start: 0xfee00000n, end: 0xfeefffffn, length: 0x100000n, type: 'msi' };

function load(kernel: Record<string, unknown> = {}): Platform {
  const r = loadPlatform({
    format: 'iommu-lab/platform',
    version: 1,
    name: 'resv',
    segments: [{ segment: 0, busStart: 0, busEnd: 255 }],
    devices: [
      { bdf: '0000:00:00.0', name: 'host', class: '060000', kind: 'pci-device', parent: null },
      { bdf: '0000:00:02.0', name: 'igd', class: '030000', kind: 'rciep', parent: null },
      { bdf: '0000:00:14.0', name: 'ehci', class: '0c0320', kind: 'pci-device', parent: null },
      { bdf: '0000:00:1f.0', name: 'isa', class: '060100', kind: 'pci-device', parent: null },
      {
        bdf: '0000:00:1c.0',
        name: 'rp',
        class: '060400',
        kind: 'root-port',
        parent: null,
        secondary: 1,
        subordinate: 2,
        acs: { cap: 0x1f, ctrl: 0 },
      },
      {
        bdf: '0000:01:00.0',
        name: 'p2p',
        class: '060400',
        kind: 'pcie-to-pci-bridge',
        parent: '0000:00:1c.0',
        secondary: 2,
        subordinate: 2,
      },
      { bdf: '0000:02:00.0', name: 'vga', class: '030000', kind: 'pci-device', parent: '0000:01:00.0' },
      { bdf: '0000:02:01.0', name: 'uart', class: '070006', kind: 'pci-device', parent: '0000:01:00.0' },
    ],
    iommus: [
      {
        id: 'dmar0',
        segment: 0,
        registerBase: '0xfed91000',
        includeAll: true,
        mode: 'legacy',
        capabilities: { slLevels: [4], mgaw: 48, haw: 39 },
      },
    ],
    reservedMemory: [
      { name: 'stolen', base: '0x7b800000', end: '0x7fffffff', scope: ['0000:00:02.0'] },
      { name: 'usb', base: '0x3e2e0000', end: '0x3e2fffff', scope: ['0000:00:14.0'] },
      // Scoped to the bridge: applies to the bridge and everything on buses 02..02.
      { name: 'bmc', base: '0x6f000000', end: '0x6f0fffff', scope: ['0000:01:00.0'] },
      // Two RMRRs for one device, listed out of address order.
      { name: 'high', base: '0x90000000', end: '0x90000fff', scope: ['0000:02:01.0'] },
    ],
    kernel,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

const brief = (p: Platform, bdf: string) =>
  reservedRegions(p, bdf).map(({ start, end, length, type }) => ({ start, end, length, type }));

describe('reservedRegions', () => {
  const p = load();

  it('reports graphics and USB RMRRs as direct-relaxable, plus the MSI window', () => {
    expect(brief(p, '0000:00:02.0')).toEqual([
      { start: 0x7b800000n, end: 0x7fffffffn, length: 0x4800000n, type: 'direct-relaxable' },
      MSI,
    ]);
    expect(brief(p, '00:14.0')).toEqual([
      { start: 0x3e2e0000n, end: 0x3e2fffffn, length: 0x20000n, type: 'direct-relaxable' },
      MSI,
    ]);
    expect(reservedRegions(p, '00:02.0')[0]!.source).toContain('RMRR 0 (stolen)');
  });

  it('types an RMRR scoped to a bridge by each device below it', () => {
    const bmc = { start: 0x6f000000n, end: 0x6f0fffffn, length: 0x100000n };
    expect(brief(p, '01:00.0')).toEqual([{ ...bmc, type: 'direct' }, MSI]); // the bridge itself: class 0604
    expect(brief(p, '02:00.0')).toEqual([{ ...bmc, type: 'direct-relaxable' }, MSI]); // VGA: IS_GFX_DEVICE
    expect(brief(p, '02:01.0')).toEqual([
      { ...bmc, type: 'direct' },
      { start: 0x90000000n, end: 0x90000fffn, length: 0x1000n, type: 'direct' },
      MSI,
    ]);
    expect(brief(p, '00:1c.0')).toEqual([MSI]); // above the bridge in scope: not downstream
  });

  it('gives ISA bridges the first 16 MiB when the floppy workaround is built in', () => {
    expect(brief(p, '00:1f.0')).toEqual([
      { start: 0n, end: 0xffffffn, length: 0x1000000n, type: 'direct-relaxable' },
      MSI,
    ]);
    expect(brief(load({ floppyWorkaround: false }), '00:1f.0')).toEqual([MSI]);
  });

  it('says which devices need a 1:1 mapping that cannot be relaxed', () => {
    // iommu_create_device_direct_mappings sets require_direct for IOMMU_RESV_DIRECT only.
    expect(requiresDirect(p, '02:01.0')).toBe(true);
    expect(requiresDirect(p, '01:00.0')).toBe(true);
    expect(requiresDirect(p, '02:00.0')).toBe(false);
    expect(requiresDirect(p, '00:02.0')).toBe(false);
    expect(requiresDirect(p, '00:00.0')).toBe(false);
  });

  it('rejects an address the platform does not have', () => {
    expect(() => reservedRegions(p, '00:05.0')).toThrow(/no PCI function 00:05.0/);
  });
});
