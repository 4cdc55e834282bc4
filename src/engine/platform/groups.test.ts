import { describe, expect, it } from 'vitest';
import { formGroups } from './groups';
import { loadPlatform } from './load';
import type { Platform } from './model';

// Small hand-made topologies. Each expected grouping is worked out from the kernel functions named in
// the comment (drivers/iommu/iommu.c pci_device_group and helpers, drivers/pci/search.c, pci.c).

type Dev = Record<string, unknown>;
const CLASS: Record<string, string> = {
  'root-port': '060400',
  'switch-upstream': '060400',
  'switch-downstream': '060400',
  'pcie-to-pci-bridge': '060400',
  'pci-bridge': '060401',
  endpoint: '020000',
  rciep: '088000',
  'pci-device': '078000',
};
const dev = (bdf: string, kind: string, parent: string | null, extra: Dev = {}): Dev => ({
  bdf: `0000:${bdf}`,
  name: bdf,
  class: CLASS[kind],
  kind,
  parent: parent === null ? null : `0000:${parent}`,
  ...extra,
});
const bridge = (
  bdf: string,
  kind: string,
  parent: string | null,
  sec: number,
  sub: number,
  extra: Dev = {},
) => dev(bdf, kind, parent, { secondary: sec, subordinate: sub, ...extra });
const ACS_ON = { acs: { cap: '0x001f', ctrl: '0x0000' } };
const caps = { slLevels: [4], mgaw: 48, haw: 46 };
const includeAll = [
  {
    id: 'dmar0',
    segment: 0,
    registerBase: '0xfed91000',
    includeAll: true,
    mode: 'legacy',
    capabilities: caps,
  },
];

function load(devices: Dev[], iommus: unknown[] = includeAll): Platform {
  const r = loadPlatform({
    format: 'iommu-lab/platform',
    version: 1,
    name: 'fixture',
    segments: [{ segment: 0, busStart: 0, busEnd: 255 }],
    devices,
    iommus,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 1));
  return r.value;
}
const members = (p: Platform) => formGroups(p).map((g) => g.members.map((m) => m.slice(5)));

describe('formGroups', () => {
  it('puts a PCIe-to-PCI bridge and every conventional device behind it in one group', () => {
    // pci_for_each_dma_alias: at a PCI_EXP_TYPE_PCI_BRIDGE the alias is (secondary bus, devfn 0) and the
    // callback returns the bridge's group, which exists because the bridge was probed first (scan order).
    const p = load([
      bridge('00:1c.0', 'root-port', null, 1, 2, ACS_ON),
      bridge('01:00.0', 'pcie-to-pci-bridge', '00:1c.0', 2, 2),
      dev('02:03.0', 'pci-device', '01:00.0'),
      dev('02:05.0', 'pci-device', '01:00.0'),
    ]);
    const groups = formGroups(p);
    expect(members(p)).toEqual([['00:1c.0'], ['01:00.0', '02:03.0', '02:05.0']]);
    expect(groups[1]!.reason).toContain(
      'behind PCIe-to-PCI bridge 01:00.0: requester ID 02:00.0 aliases 02:03.0, 02:05.0',
    );
  });

  it('aliases devices behind a conventional PCI-to-PCI bridge to the bridge itself', () => {
    // pci_for_each_dma_alias, !pci_is_pcie(tmp): fn(tmp, PCI_DEVID(tmp->bus->number, tmp->devfn)).
    const p = load([
      dev('00:00.0', 'pci-device', null),
      bridge('00:1e.0', 'pci-bridge', null, 1, 1),
      dev('01:00.0', 'pci-device', '00:1e.0'),
      dev('01:01.0', 'pci-device', '00:1e.0'),
    ]);
    expect(members(p)).toEqual([['00:00.0'], ['00:1e.0', '01:00.0', '01:01.0']]);
    expect(formGroups(p)[1]!.reason).toContain('requester ID 00:1e.0 aliases 01:00.0, 01:01.0');
  });

  it('joins everything below a root port without ACS to the root port', () => {
    // pci_device_group: pci_acs_path_enabled(00:1c.0) fails (a root port without an ACS capability,
    // pci_acs_enabled → pci_acs_flags_enabled → false), so pdev = 00:1c.0 and its group is returned.
    const p = load([bridge('00:1c.0', 'root-port', null, 1, 1), dev('01:00.0', 'endpoint', '00:1c.0')]);
    expect(members(p)).toEqual([['00:1c.0', '01:00.0']]);
    expect(formGroups(p)[0]!.reason).toBe(
      '00:1c.0 root port lacks ACS (SV|RR|CR|UF: no ACS capability); everything below it shares its group (01:00.0)',
    );
  });

  it('groups the functions of a multifunction endpoint unless ACS or a quirk isolates them', () => {
    // get_pci_function_alias_group: multifunction && !pci_acs_enabled → same-slot functions without ACS.
    // 02:00.x advertise an ACS capability with no bits: pci_acs_flags_enabled masks the request with the
    // capability, so nothing is required and they are isolated. 03:00.x are Intel 82599 (8086:10fb),
    // listed for pci_quirk_mf_endpoint_acs in pci_dev_acs_enabled[].
    const none = { acs: { cap: 0, ctrl: 0 } };
    const p = load([
      bridge('00:01.0', 'root-port', null, 1, 1, ACS_ON),
      bridge('00:02.0', 'root-port', null, 2, 2, ACS_ON),
      bridge('00:03.0', 'root-port', null, 3, 3, ACS_ON),
      dev('01:00.0', 'endpoint', '00:01.0', { multifunction: true }),
      dev('01:00.1', 'endpoint', '00:01.0', { multifunction: true }),
      dev('02:00.0', 'endpoint', '00:02.0', { multifunction: true, ...none }),
      dev('02:00.1', 'endpoint', '00:02.0', { multifunction: true, ...none }),
      dev('03:00.0', 'endpoint', '00:03.0', { multifunction: true, ids: '8086:10fb' }),
      dev('03:00.1', 'endpoint', '00:03.0', { multifunction: true, ids: '8086:10fb' }),
    ]);
    expect(members(p)).toEqual([
      ['00:01.0'],
      ['00:02.0'],
      ['00:03.0'],
      ['01:00.0', '01:00.1'],
      ['02:00.0'],
      ['02:00.1'],
      ['03:00.0'],
      ['03:00.1'],
    ]);
    const groups = formGroups(p);
    expect(groups[3]!.reason).toContain('multifunction device 01:00.{0,1} without ACS');
    expect(groups[6]!.reason).toContain('pci_quirk_mf_endpoint_acs (8086:10fb)');
  });

  it('trusts Intel PCH root ports listed for pci_quirk_intel_pch_acs, by vendor:device', () => {
    // 8086:9c90 (Wildcat Point-LP root port #1) has no ACS capability but is in
    // pci_quirk_intel_pch_acs_ids; 8086:a0b0 (Tiger Lake-LP root port #9) is not, so it is not isolating.
    const p = load([
      bridge('00:1c.0', 'root-port', null, 1, 1, { ids: '8086:9c90' }),
      bridge('00:1d.0', 'root-port', null, 2, 2, { ids: '8086:a0b0' }),
      dev('01:00.0', 'endpoint', '00:1c.0'),
      dev('02:00.0', 'endpoint', '00:1d.0'),
    ]);
    expect(members(p)).toEqual([['00:1c.0'], ['00:1d.0', '02:00.0'], ['01:00.0']]);
    expect(formGroups(p)[2]!.reason).toContain('pci_quirk_intel_pch_acs (8086:9c90)');
  });

  it('merges explicit DMA aliases, but a ghost alias alone changes nothing', () => {
    // get_pci_alias_group: pci_devs_are_dma_aliases(01:00.0, 01:00.1) through the alias mask; both
    // functions carry an empty ACS capability, so get_pci_function_alias_group would keep them apart.
    // 02:00.0 aliases 02:00.1, which does not exist (Marvell 88SE9123's phantom function 1).
    const none = { acs: { cap: 0, ctrl: 0 } };
    const p = load([
      bridge('00:01.0', 'root-port', null, 1, 1, ACS_ON),
      bridge('00:02.0', 'root-port', null, 2, 2, ACS_ON),
      dev('01:00.0', 'endpoint', '00:01.0', { multifunction: true, dmaAliases: ['0000:01:00.1'], ...none }),
      dev('01:00.1', 'endpoint', '00:01.0', { multifunction: true, ...none }),
      dev('02:00.0', 'endpoint', '00:02.0', { dmaAliases: ['0000:02:00.1'] }),
    ]);
    expect(members(p)).toEqual([['00:01.0'], ['00:02.0'], ['01:00.0', '01:00.1'], ['02:00.0']]);
    expect(formGroups(p)[2]!.reason).toContain('01:00.1 and 01:00.0 are DMA aliases');
    expect(p.functions.get('0000:02:00.0')!.dmaAliasDevfns).toEqual([1]);
  });

  it('gives each downstream port of a switch without ACS its own group, as pci_device_group does', () => {
    // For 03:00.0: bus 03's self is 02:00.0, whose pci_acs_path_enabled fails (no ACS), so it takes
    // 02:00.0's group. For 02:00.0 itself: bus 02's self is the upstream port 01:00.0, a single-function
    // PCI_EXP_TYPE_UPSTREAM (pci_acs_enabled → true) above an ACS root port, so the walk stops and the
    // port gets a group of its own; peer port 02:01.0 likewise (the behaviour the 2025 series
    // "iommu: Compute iommu_groups properly for PCIe switches" describes and changes).
    const p = load([
      bridge('00:01.0', 'root-port', null, 1, 4, ACS_ON),
      bridge('01:00.0', 'switch-upstream', '00:01.0', 2, 4),
      bridge('02:00.0', 'switch-downstream', '01:00.0', 3, 3),
      bridge('02:01.0', 'switch-downstream', '01:00.0', 4, 4),
      dev('03:00.0', 'endpoint', '02:00.0'),
      dev('04:00.0', 'endpoint', '02:01.0'),
    ]);
    expect(members(p)).toEqual([['00:01.0'], ['01:00.0'], ['02:00.0', '03:00.0'], ['02:01.0', '04:00.0']]);
  });

  it('isolates every endpoint below a switch whose downstream ports have ACS, and none below a non-ACS root port', () => {
    const switchBelow = (rootAcs: Dev) =>
      load([
        bridge('00:01.0', 'root-port', null, 1, 4, rootAcs),
        bridge('01:00.0', 'switch-upstream', '00:01.0', 2, 4),
        bridge('02:00.0', 'switch-downstream', '01:00.0', 3, 3, ACS_ON),
        bridge('02:01.0', 'switch-downstream', '01:00.0', 4, 4, ACS_ON),
        dev('03:00.0', 'endpoint', '02:00.0'),
        dev('04:00.0', 'endpoint', '02:01.0'),
      ]);
    expect(members(switchBelow(ACS_ON))).toEqual([
      ['00:01.0'],
      ['01:00.0'],
      ['02:00.0'],
      ['02:01.0'],
      ['03:00.0'],
      ['04:00.0'],
    ]);
    // pci_acs_path_enabled walks to the root: the root port without ACS fails every path below it.
    expect(members(switchBelow({}))).toEqual([
      ['00:01.0', '01:00.0', '02:00.0', '02:01.0', '03:00.0', '04:00.0'],
    ]);
  });

  it('numbers groups unit by unit in registration order, then PCI scan order', () => {
    // dmar_register_drhd_unit: scoped units go to the list head (so the table's last scoped unit is first),
    // INCLUDE_PCI_ALL to the tail; intel_iommu_init registers in list order and each registration probes
    // only the devices device_lookup_iommu maps to a registered unit.
    const unit = (id: string, extra: Dev) => ({
      id,
      segment: 0,
      registerBase: '0xfed90000',
      mode: 'legacy',
      capabilities: caps,
      ...extra,
    });
    const p = load(
      [
        dev('00:00.0', 'pci-device', null),
        dev('00:02.0', 'rciep', null),
        bridge('00:1d.0', 'root-port', null, 2, 2, ACS_ON),
        dev('00:1f.0', 'pci-device', null),
        dev('02:00.0', 'endpoint', '00:1d.0'),
      ],
      [
        unit('gfx', { scope: ['0000:00:02.0'] }),
        unit('nvme', { scope: ['0000:00:1d.0'], registerBase: '0xfed92000' }),
        unit('rest', { includeAll: true, registerBase: '0xfed91000' }),
      ],
    );
    expect(p.iommus.map((u) => u.id)).toEqual(['nvme', 'gfx', 'rest']);
    const groups = formGroups(p);
    expect(groups.map((g) => [g.iommu, g.members[0]!.slice(5)])).toEqual([
      ['nvme', '00:1d.0'],
      ['nvme', '02:00.0'],
      ['gfx', '00:02.0'],
      ['rest', '00:00.0'],
      ['rest', '00:1f.0'],
    ]);
  });

  it('gives no group to a function no unit translates', () => {
    const p = load(
      [dev('00:00.0', 'pci-device', null), dev('00:02.0', 'rciep', null)],
      [
        {
          id: 'gfx',
          segment: 0,
          registerBase: '0xfed90000',
          scope: ['0000:00:02.0'],
          mode: 'legacy',
          capabilities: caps,
        },
      ],
    );
    expect(p.functions.get('0000:00:00.0')!.iommu).toBeNull();
    expect(members(p)).toEqual([['00:02.0']]);
  });

  it('depends on probe order: a device probed before its PCIe-to-PCI bridge gets a group of its own', () => {
    // The scoped unit for 02:00.0 registers first. Its alias walk reaches bridge 01:00.0, which has no
    // group yet, so pci_device_group allocates a new one; 02:01.0, probed after the bridge, joins the
    // bridge (the ordering problem the 2025 PCIe-switch series lists first).
    const p = load(
      [
        bridge('00:1c.0', 'root-port', null, 1, 2, ACS_ON),
        bridge('01:00.0', 'pcie-to-pci-bridge', '00:1c.0', 2, 2),
        dev('02:00.0', 'pci-device', '01:00.0'),
        dev('02:01.0', 'pci-device', '01:00.0'),
      ],
      [
        {
          id: 'a',
          segment: 0,
          registerBase: '0xfed90000',
          scope: ['0000:02:00.0'],
          mode: 'legacy',
          capabilities: caps,
        },
        ...includeAll,
      ],
    );
    expect(members(p)).toEqual([['02:00.0'], ['00:1c.0'], ['01:00.0', '02:01.0']]);
  });
});
