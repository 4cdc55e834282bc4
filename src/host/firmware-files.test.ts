// Firmware files read together: a DMAR table alone gives its findings and asks for lspci; with lspci
// the platform is built and loads. The table is built here (acpi-table-builder): one DRHD with
// INCLUDE_PCI_ALL at 0xfed90000 and the DMAR flags' INTR_REMAP bit set but no IOAPIC in any scope,
// which is what Linux complains about as "ioapic N has no mapping iommu" (dmar-no-ioapic-scope).
import { describe, expect, it } from 'vitest';
import * as B from '../firmware/acpi-table-builder';
import { firmwareState } from './firmware-files';

const dmar = B.dmar({ haw: 38, flags: 1, structures: [B.drhd({ flags: 1, base: 0xfed90000n })] });
const lspci = new TextEncoder().encode(
  '00:00.0 Host bridge: Intel Corporation Device 9a14 (rev 01)\n' +
    '00:14.0 USB controller: Intel Corporation Tiger Lake-LP USB 3.2 xHCI Host Controller (rev 20)\n' +
    '\tKernel driver in use: xhci_hcd\n',
);

describe('firmwareState', () => {
  it('lists a lone DMAR table’s findings and says lspci is missing', () => {
    const s = firmwareState([{ file: 'dmar.dat', bytes: dmar }]);
    expect(s.platform).toBeNull();
    expect(s.findings.map((f) => [f.severity, f.code])).toEqual([['warning', 'dmar-no-ioapic-scope']]);
    expect(s.findings[0]!.message).toMatch(/^dmar\.dat: /);
    // where: the DMAR's Flags byte (offset 37: after the 36-byte ACPI header and the 1-byte HAW)
    expect(s.findings[0]).toMatchObject({ file: 'dmar.dat', table: 'DMAR', offset: 37 });
    expect(s.findings[0]!.line).toBeUndefined();
    expect(s.note).toBe(
      'DMAR; 0 errors, 1 warnings, 0 notes; open the machine’s lspci -vvv output too to build its platform',
    );
  });

  it('builds a loadable platform once lspci is there too', () => {
    const s = firmwareState([
      { file: 'dmar.dat', bytes: dmar },
      { file: 'lspci.txt', bytes: lspci },
    ]);
    expect(s.platform?.name).toBe('firmware: dmar.dat + lspci.txt');
    expect([...s.platform!.platform.functions.keys()]).toEqual(['0000:00:00.0', '0000:00:14.0']);
    expect(s.note).toMatch(/platform built \(1 units\)$/);
  });
});
