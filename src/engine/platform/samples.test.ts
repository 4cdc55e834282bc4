// The shipped sample platforms (traces/platforms/*.platform.json): each loads cleanly, and its groups
// and reserved regions are the ones worked out by hand from the Linux rules cited per expectation.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formGroups } from './groups';
import { loadPlatform } from './load';
import type { Platform } from './model';
import { requiresDirect, reservedRegions } from './resv-regions';

function sample(name: string): Platform {
  const file = fileURLToPath(new URL(`../../../traces/platforms/${name}.platform.json`, import.meta.url));
  const r = loadPlatform(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r.errors, null, 1)}`);
  return r.value;
}
const short = (bdf: string) => bdf.slice(5);
const groupsOf = (p: Platform) => formGroups(p).map((g) => [g.iommu, ...g.members.map(short)]);
const regions = (p: Platform, bdf: string) =>
  reservedRegions(p, bdf).map((r) => `${r.start.toString(16)}-${r.end.toString(16)} ${r.type}`);
const MSI = 'fee00000-feefffff msi';

describe('laptop sample', () => {
  const p = sample('laptop');

  it('loads without warnings (both RMRRs lie in reserved memory)', () => {
    expect(p.warnings).toEqual([]);
    expect(p.iommus.map((u) => [u.id, u.registerBase])).toEqual([
      ['dmar0', 0xfed90000n],
      ['dmar1', 0xfed91000n],
    ]);
  });

  it('forms the groups Linux forms', () => {
    // dmar0 (IGD only) registers first, so 00:02.0 is group 0; then dmar1 (INCLUDE_PCI_ALL) in scan order.
    // 00:14.x and 00:1f.x are conventional multifunction slots: pci_acs_enabled is false for non-PCIe
    // functions, so get_pci_function_alias_group merges each slot. 00:1c.0 has no ACS capability and
    // 8086:a0b8 is in no quirk list, so the Wi-Fi card takes its group; 00:1d.0 has ACS, so the NVMe
    // drive is alone.
    expect(groupsOf(p)).toEqual([
      ['dmar0', '00:02.0'],
      ['dmar1', '00:00.0'],
      ['dmar1', '00:14.0', '00:14.2'],
      ['dmar1', '00:1c.0', '01:00.0'],
      ['dmar1', '00:1d.0'],
      ['dmar1', '00:1f.0', '00:1f.3', '00:1f.4', '00:1f.5'],
      ['dmar1', '02:00.0'],
    ]);
    const reasons = formGroups(p).map((g) => g.reason);
    expect(reasons[3]).toBe(
      '00:1c.0 root port lacks ACS (SV|RR|CR|UF: no ACS capability); everything below it shares its group (01:00.0)',
    );
    expect(reasons[2]).toContain('multifunction device 00:14.{0,2} without ACS');
    expect(reasons[6]).toContain('ACS (SV|RR|CR|UF) isolates its path to the root from 00:1d.0 up');
  });

  it('reports the RMRRs as direct-relaxable (IGD: IS_GFX_DEVICE, xHCI: IS_USB_DEVICE) and the ISA floppy window', () => {
    expect(regions(p, '00:02.0')).toEqual(['7b800000-7fffffff direct-relaxable', MSI]);
    expect(regions(p, '00:14.0')).toEqual(['3e2e0000-3e2fffff direct-relaxable', MSI]);
    expect(regions(p, '00:14.2')).toEqual([MSI]); // the RMRR scope names 00:14.0 only
    expect(regions(p, '00:1f.0')).toEqual(['0-ffffff direct-relaxable', MSI]); // class 0601: ISA bridge
    expect(regions(p, '01:00.0')).toEqual([MSI]);
    expect(p.scanOrder.filter((b) => requiresDirect(p, b))).toEqual([]);
  });
});

describe('server sample', () => {
  const p = sample('server');

  it('registers the CPU-stack unit before the INCLUDE_PCI_ALL unit', () => {
    expect(p.iommus.map((u) => u.id)).toEqual(['dmar1', 'dmar0']);
    expect(p.iommus[0]!.functions.map(short)).toEqual([
      '17:00.0',
      '18:00.0',
      '19:08.0',
      '19:10.0',
      '1a:00.0',
      '1b:00.0',
    ]);
    expect(p.segments[0]!.rootBuses).toEqual([0x00, 0x17]);
  });

  it('forms the groups Linux forms', () => {
    // dmar1 first. The PEX 8747 has no ACS: each endpoint joins its downstream port (pci_acs_path_enabled
    // fails at the port), while each downstream port stops at the single-function upstream port whose
    // path through ACS root port 17:00.0 is isolated, so the two ports do not share a group.
    // dmar0: 01:00.0 is a PCIe-to-PCI bridge, so 02:00.0 and 02:01.0 alias to (02, devfn 0) and join it
    // (pci_for_each_dma_alias); the BCM5720 (14e4:165f, not in pci_quirk_mf_endpoint_acs) is a
    // multifunction endpoint without ACS, so its ports share a group; 00:1f.x likewise as conventional PCI.
    expect(groupsOf(p)).toEqual([
      ['dmar1', '17:00.0'],
      ['dmar1', '18:00.0'],
      ['dmar1', '19:08.0', '1a:00.0'],
      ['dmar1', '19:10.0', '1b:00.0'],
      ['dmar0', '00:00.0'],
      ['dmar0', '00:14.0'],
      ['dmar0', '00:1c.0'],
      ['dmar0', '00:1c.4'],
      ['dmar0', '00:1f.0', '00:1f.4'],
      ['dmar0', '01:00.0', '02:00.0', '02:01.0'],
      ['dmar0', '03:00.0', '03:00.1'],
    ]);
    const reasons = formGroups(p).map((g) => g.reason);
    expect(reasons[9]).toBe(
      'behind PCIe-to-PCI bridge 01:00.0: requester ID 02:00.0 aliases 02:00.0, 02:01.0',
    );
    expect(reasons[10]).toContain('multifunction device 03:00.{0,1} without ACS');
    expect(reasons[2]).toContain('19:08.0 switch downstream port lacks ACS');
  });

  it('makes the BMC shared-NIC RMRR direct, so the LOM ports require a 1:1 mapping', () => {
    // device_rmrr_is_relaxable: class 0x0200 is neither USB nor graphics.
    expect(regions(p, '03:00.0')).toEqual(['6f3fc000-6f3fffff direct', MSI]);
    expect(regions(p, '03:00.1')).toEqual(['6f3fc000-6f3fffff direct', MSI]);
    expect(regions(p, '00:14.0')).toEqual(['6c1d8000-6c1e7fff direct-relaxable', MSI]);
    expect(p.scanOrder.filter((b) => requiresDirect(p, b)).map(short)).toEqual(['03:00.0', '03:00.1']);
    expect(p.kernel).toEqual({ defaultDomain: 'dma', strict: true, floppyWorkaround: true });
  });
});

describe('TEE-IO sample', () => {
  const p = sample('tee-io');

  it('describes the TDISP NIC, the scalable-mode unit and the private/shared boundary', () => {
    expect(p.teeIo).toEqual({ kind: 'boundary', boundary: 0x400000000000n });
    expect(p.functions.get('0000:16:00.0')).toMatchObject({
      tdisp: true,
      pasidWidth: 20,
      ats: true,
      pri: true,
    });
    expect(p.iommus[0]).toMatchObject({
      mode: 'scalable',
      capabilities: { scalableMode: true, nesting: true, firstLevel: true, pasidBits: 20, slLevels: [4, 5] },
    });
  });

  it('gives the NIC a group of its own below the ACS root port, with only the MSI window reserved', () => {
    expect(groupsOf(p)).toEqual([
      ['dmar0', '00:00.0'],
      ['dmar0', '15:01.0'],
      ['dmar0', '16:00.0'],
    ]);
    expect(regions(p, '16:00.0')).toEqual([MSI]);
    expect(requiresDirect(p, '16:00.0')).toBe(false);
  });
});

describe('docs/platform-format.md example', () => {
  it('loads and yields the groups and regions the document states', () => {
    const md = readFileSync(
      fileURLToPath(new URL('../../../docs/platform-format.md', import.meta.url)),
      'utf8',
    );
    const json = /```json\n([\s\S]*?)\n```/.exec(md)![1]!;
    const r = loadPlatform(JSON.parse(json));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(groupsOf(r.value)).toEqual([
      ['dmar0', '00:02.0'],
      ['dmar1', '00:14.0'],
      ['dmar1', '00:1c.0', '01:00.0'],
    ]);
    expect(regions(r.value, '00:02.0')).toEqual(['7b800000-7fffffff direct-relaxable', MSI]);
  });
});
