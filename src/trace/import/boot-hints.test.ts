// Platform hints from boot lines: real lines from the reference samples (file named in each test).
import { describe, expect, it } from 'vitest';
import { importText } from './session';
import type { PlatformHint } from './types';

const hints = (text: string): Array<[string, unknown]> =>
  importText(text, { kind: 'kernel-log' })
    .records.filter((r): r is PlatformHint => r.type === 'hint')
    .map((h) => [h.kind, h.fields]);

describe('boot hints', () => {
  it('DMAR table lines, RMRR, firmware bugs in syslog (syslog-intel-dmar-boot-rmrr-firmware-bug-t450s.txt)', () => {
    expect(
      hints(
        [
          'May 30 17:32:17 localhost kernel: [    0.168626] DMAR: Host address width 39',
          'May 30 17:32:17 localhost kernel: [    0.168629] DMAR: DRHD base: 0x000000fed90000 flags: 0x0',
          'May 30 17:32:17 localhost kernel: [    0.168640] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap 1c0000c40660462 ecap 7e1ff0505e',
          'May 30 17:32:17 localhost kernel: [    0.168655] DMAR: RMRR base: 0x0000009d800000 end: 0x0000009fffffff',
          'May 30 17:32:17 localhost kernel: [    0.168658] DMAR: [Firmware Bug]: No firmware reserved region can cover this RMRR [0x000000009d800000-0x000000009fffffff], contact BIOS vendor for fixes',
          'May 30 17:32:17 localhost kernel: [    0.168671] BIOS vendor: LENOVO; Ver: JBET73WW (1.37 ); Product Version: ThinkPad T450s',
          'May 30 17:32:17 localhost kernel: [    0.168675] DMAR-IR: IOAPIC id 2 under DRHD base  0xfed91000 IOMMU 1',
          'May 30 17:32:17 localhost kernel: [    0.168677] DMAR-IR: HPET id 0 under DRHD base 0xfed91000',
          'May 30 17:32:17 localhost kernel: [    2.574095] DMAR: No ATSR found',
          'May 30 17:32:17 localhost kernel: [    2.580411] pci 0000:00:1f.2: Adding to iommu group 9',
        ].join('\n'),
      ),
    ).toEqual([
      ['haw', { bits: 39 }],
      ['drhd', { base: '0xfed90000', flags: 0 }],
      [
        'dmar-unit',
        {
          iommu: 'dmar0',
          base: '0xfed90000',
          version: '1:0',
          cap: '0x1c0000c40660462',
          ecap: '0x7e1ff0505e',
        },
      ],
      ['rmrr', { base: '0x9d800000', end: '0x9fffffff' }],
      [
        'firmware-bug',
        {
          level: 'Bug',
          message:
            'No firmware reserved region can cover this RMRR [0x000000009d800000-0x000000009fffffff], contact BIOS vendor for fixes',
          start: '0x9d800000',
          end: '0x9fffffff',
        },
      ],
      [
        'firmware-bug',
        { biosVendor: 'LENOVO', biosVersion: 'JBET73WW (1.37 )', productVersion: 'ThinkPad T450s' },
      ],
      ['ioapic', { id: 2, drhdBase: '0xfed91000', iommu: 1 }],
      ['hpet', { id: 0, drhdBase: '0xfed91000' }],
      ['no-structure', { structure: 'ATSR' }],
      ['group', { device: '0000:00:1f.2', bdf: '0000:00:1f.2', driver: 'pci', group: 9, action: 'add' }],
    ]);
  });

  it('3.2-era lines without DMAR-IR: tags (dmesg-intel-dmar-boot-rmrr-kernel3.2-legacy-prefixes.txt)', () => {
    expect(
      hints(
        [
          '[    0.018091] IOMMU 0: reg_base_addr fed90000 ver 1:0 cap c0000020e60262 ecap f0101a',
          '[    0.018097] DMAR: RMRR base: 0x000000d9fa8000 end: 0x000000d9fc4fff',
          '[    0.018168] IOAPIC id 2 under DRHD base  0xfed91000 IOMMU 1',
          '[    0.018284] Enabled IRQ remapping in x2apic mode',
        ].join('\n'),
      ),
    ).toEqual([
      [
        'dmar-unit',
        { iommu: 'dmar0', base: '0xfed90000', version: '1:0', cap: '0xc0000020e60262', ecap: '0xf0101a' },
      ],
      ['rmrr', { base: '0xd9fa8000', end: '0xd9fc4fff' }],
      ['ioapic', { id: 2, drhdBase: '0xfed91000', iommu: 1 }],
    ]);
  });

  it('ineligible device and relaxable RMRRs in journalctl -o short-precise (journal-intel-dmar-rmrr-ineligible-and-relaxable.txt)', () => {
    const r = importText(
      [
        'Jan 09 10:03:12.035211 hp-129-tink-system kernel: vfio-pci 0000:04:00.1: DMAR: Device is ineligible for IOMMU domain attach due to platform RMRR requirement.  Contact your platform vendor.',
        '[    0.050195] DMAR: Intel-IOMMU: assuming all RMRRs are relaxable. This can lead to instability or data loss',
      ].join('\n'),
      { kind: 'kernel-log' },
    );
    expect(r.records[0]).toMatchObject({
      kind: 'ineligible',
      fields: { device: '0000:04:00.1', bdf: '0000:04:00.1', driver: 'vfio-pci', reason: 'rmrr' },
      time: null,
      clock: 'wall',
      timeRaw: 'Jan 09 10:03:12.035211',
    });
    expect(r.records[1]).toMatchObject({ kind: 'relaxable-rmrr' });
  });

  it('BIOS-e820 lines, current and pre-2.6.37 (qemu-real-scalable/guest-console.log; old form from arch/x86 e820 print)', () => {
    expect(
      hints(
        [
          '[    0.000000] BIOS-e820: [mem 0x000000003ffd7000-0x000000003fffffff] reserved\r',
          '[    0.000000] BIOS-e820: 000000000009fc00 - 00000000000a0000 (reserved)',
        ].join('\n'),
      ),
    ).toEqual([
      ['e820', { start: '0x3ffd7000', end: '0x3fffffff', type: 'reserved', source: 'BIOS-e820' }],
      ['e820', { start: '0x9fc00', end: '0x9ffff', type: 'reserved', source: 'BIOS-e820' }],
    ]);
  });

  it('AMD-Vi IOMMU and IVRS lines (dmesg-amd-vi-boot-multisegment-ivrs-dump-velinux.txt) and Xen IVMD errors (xen-amd-vi-ivmd-error-qubes10931.txt)', () => {
    expect(
      hints(
        [
          '[    0.265221] AMD-Vi: AMD-Vi:   DEV_SPECIAL(IOAPIC[251])               devid: 0002:80:00.1',
          '[    1.037825] pci 0001:c0:00.2: AMD-Vi: Found IOMMU cap 0x40',
          '[    1.037827] AMD-Vi: Extended features (0xa5bf732fa2295afe): PPR X2APIC NX GT [5] IA GA PC GA_vAPIC',
          '(XEN) IVMD: [0, 0] is not (entirely) in reserved memory',
          '(XEN) AMD-Vi: Error initialization',
        ].join('\n'),
      ),
    ).toEqual([
      ['ivrs-special', { variety: 'IOAPIC', handle: 251, devid: '0002:80:00.1', bdf: '0002:80:00.1' }],
      ['amd-iommu', { bdf: '0001:c0:00.2', cap: '0x40' }],
      [
        'amd-efr',
        {
          bdf: null,
          efr: '0xa5bf732fa2295afe',
          efr2: null,
          features: 'PPR X2APIC NX GT [5] IA GA PC GA_vAPIC',
        },
      ],
      ['ivmd', { start: '0x0', end: '0x0', problem: 'not in reserved memory' }],
      ['firmware-bug', { message: 'AMD-Vi: Error initialization' }],
    ]);
  });
});
