import { describe, expect, it } from 'vitest';
import { acsEnabled, acsPathEnabled, effectiveAcsCtrl } from './acs';
import { loadPlatform } from './load';
import { REQ_ACS_FLAGS, type Platform } from './model';

// Expected answers follow drivers/pci/pci.c pci_acs_enabled / pci_acs_flags_enabled /
// pci_std_enable_acs and the drivers/pci/quirks.c pci_dev_acs_enabled[] entries named per case.

type Dev = Record<string, unknown>;
function load(devices: Dev[]): Platform {
  const r = loadPlatform({
    format: 'iommu-lab/platform',
    version: 1,
    name: 'acs',
    segments: [{ segment: 0, busStart: 0, busEnd: 255 }],
    devices,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}
const rootPort = (bdf: string, sec: number, extra: Dev = {}): Dev => ({
  bdf: `0000:${bdf}`,
  name: 'rp',
  class: '060400',
  kind: 'root-port',
  parent: null,
  secondary: sec,
  subordinate: sec,
  ...extra,
});
const fnOf = (p: Platform, bdf: string) => p.functions.get(`0000:${bdf}`)!;
const enabled = (p: Platform, bdf: string) => acsEnabled(fnOf(p, bdf), REQ_ACS_FLAGS).enabled;

describe('ACS', () => {
  it('turns on SV, RR, CR and UF where the capability has them, as pci_std_enable_acs does', () => {
    // cap 0x5f = SV|TB|RR|CR|UF|DT; TB is enabled only for untrusted/external ports, DT never.
    const p = load([rootPort('00:01.0', 1, { acs: { cap: '0x005f', ctrl: '0x0000' } })]);
    expect(effectiveAcsCtrl(fnOf(p, '00:01.0'))).toBe(0x1d);
  });

  it('judges root and downstream ports by their ACS capability', () => {
    const p = load([
      rootPort('00:01.0', 1, { acs: { cap: '0x001f', ctrl: '0x0000' } }),
      rootPort('00:02.0', 2),
      // No UF in the capability: pci_acs_flags_enabled treats missing features as hard-wired on.
      rootPort('00:03.0', 3, { acs: { cap: '0x000d', ctrl: '0x0000' } }),
    ]);
    expect(enabled(p, '00:01.0')).toBe(true);
    expect(enabled(p, '00:02.0')).toBe(false);
    expect(acsEnabled(fnOf(p, '00:02.0'), REQ_ACS_FLAGS).why).toBe('no ACS capability');
    expect(enabled(p, '00:03.0')).toBe(true);
  });

  it('applies the PCIe type rules to bridges, endpoints and conventional functions', () => {
    const p = load([
      rootPort('00:01.0', 1, { subordinate: 2, acs: { cap: '0x001f', ctrl: '0x001d' } }),
      { bdf: '0000:00:1f.0', name: 'lpc', class: '060100', kind: 'pci-device', parent: null },
      {
        bdf: '0000:01:00.0',
        name: 'b',
        class: '060400',
        kind: 'pcie-to-pci-bridge',
        parent: '0000:00:01.0',
        secondary: 2,
        subordinate: 2,
      },
      rootPort('00:02.0', 3, { acs: { cap: '0x001f', ctrl: '0x001d' } }),
      { bdf: '0000:03:00.0', name: 'nic', class: '020000', kind: 'endpoint', parent: '0000:00:02.0' },
      rootPort('00:03.0', 4, { acs: { cap: '0x001f', ctrl: '0x001d' } }),
      {
        bdf: '0000:04:00.0',
        name: 'f0',
        class: '020000',
        kind: 'endpoint',
        parent: '0000:00:03.0',
        multifunction: true,
      },
      {
        bdf: '0000:04:00.1',
        name: 'f1',
        class: '020000',
        kind: 'endpoint',
        parent: '0000:00:03.0',
        multifunction: true,
      },
    ]);
    expect(enabled(p, '00:1f.0')).toBe(false); // conventional PCI never supports ACS
    expect(enabled(p, '01:00.0')).toBe(false); // PCI_EXP_TYPE_PCI_BRIDGE: never applicable
    expect(enabled(p, '03:00.0')).toBe(true); // single-function endpoint: 6.12.1.3
    expect(enabled(p, '04:00.0')).toBe(false); // multifunction endpoint without an ACS capability
  });

  it('consults the quirk table first, by vendor:device and PCIe type', () => {
    const p = load([
      // pci_quirk_intel_pch_acs: 8086:1c10 (Cougar Point root port) isolates without a capability.
      rootPort('00:1c.0', 1, { ids: '8086:1c10' }),
      // pci_quirk_intel_spt_pch_acs: 8086:a110 reads the (misplaced) capability; without one, -ENOTTY.
      rootPort('00:1d.0', 2, { ids: '8086:a110' }),
      rootPort('00:1e.0', 3, { ids: '8086:a111', acs: { cap: '0x001f', ctrl: '0x0000' } }),
      // pci_quirk_rciep_acs: Intel RC_END isolates even when multifunction without ACS; others do not.
      {
        bdf: '0000:00:0a.0',
        name: 'a',
        class: '088000',
        kind: 'rciep',
        parent: null,
        multifunction: true,
        ids: '8086:09a6',
      },
      {
        bdf: '0000:00:0a.1',
        name: 'b',
        class: '088000',
        kind: 'rciep',
        parent: null,
        multifunction: true,
        ids: '8086:09a7',
      },
      {
        bdf: '0000:00:0b.0',
        name: 'c',
        class: '088000',
        kind: 'rciep',
        parent: null,
        multifunction: true,
        ids: '1022:1234',
      },
      {
        bdf: '0000:00:0b.1',
        name: 'd',
        class: '088000',
        kind: 'rciep',
        parent: null,
        multifunction: true,
        ids: '1022:1235',
      },
      // pci_quirk_mf_endpoint_acs lists Broadcom 14e4:16d7 but not 14e4:165f (BCM5720).
      rootPort('00:01.0', 4, { acs: { cap: '0x001f', ctrl: '0x0000' } }),
      {
        bdf: '0000:04:00.0',
        name: 'x',
        class: '020000',
        kind: 'endpoint',
        parent: '0000:00:01.0',
        multifunction: true,
        ids: '14e4:16d7',
      },
      {
        bdf: '0000:04:00.1',
        name: 'y',
        class: '020000',
        kind: 'endpoint',
        parent: '0000:00:01.0',
        multifunction: true,
        ids: '14e4:165f',
      },
    ]);
    expect(acsEnabled(fnOf(p, '00:1c.0'), REQ_ACS_FLAGS)).toMatchObject({ enabled: true });
    expect(acsEnabled(fnOf(p, '00:1c.0'), REQ_ACS_FLAGS).quirk?.kernel).toBe('pci_quirk_intel_pch_acs');
    expect(enabled(p, '00:1d.0')).toBe(false);
    expect(acsEnabled(fnOf(p, '00:1e.0'), REQ_ACS_FLAGS).quirk?.kernel).toBe('pci_quirk_intel_spt_pch_acs');
    expect(enabled(p, '00:1e.0')).toBe(true);
    expect(enabled(p, '00:0a.0')).toBe(true);
    expect(enabled(p, '00:0b.0')).toBe(false);
    expect(enabled(p, '04:00.0')).toBe(true);
    expect(enabled(p, '04:00.1')).toBe(false);
  });

  it('requires ACS on every device from the start up to the root bus (pci_acs_path_enabled)', () => {
    const p = load([
      rootPort('00:01.0', 1, { subordinate: 3 }),
      {
        bdf: '0000:01:00.0',
        name: 'usp',
        class: '060400',
        kind: 'switch-upstream',
        parent: '0000:00:01.0',
        secondary: 2,
        subordinate: 3,
      },
      {
        bdf: '0000:02:00.0',
        name: 'dsp',
        class: '060400',
        kind: 'switch-downstream',
        parent: '0000:01:00.0',
        secondary: 3,
        subordinate: 3,
        acs: { cap: '0x001f', ctrl: '0x001d' },
      },
    ]);
    const path = acsPathEnabled(p, fnOf(p, '02:00.0'), REQ_ACS_FLAGS);
    expect(path.enabled).toBe(false);
    expect(path.blocker?.bdfText).toBe('0000:00:01.0');
  });
});
