// The whole pipeline on the matched ThinkPad X1 Carbon Gen 9 (one machine's DMAR, lspci -vvnn and
// dmesg): units, reserved regions, groups and findings, with the groups checked against the kernel's
// own "Adding to iommu group" lines of the same boot. Then the other input forms of the same table, and
// inputs that cannot be used.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as B from './acpi-table-builder';
import { buildPlatformReport } from './build-platform';
import { readKernelLog } from './kernel-log';
import { summarize } from './summary';

const SAMPLES = fileURLToPath(new URL('../../../shared/reference/samples', import.meta.url));
const T = `${SAMPLES}/matched/lenovo-thinkpad-x1-carbon-gen9`;
// Without the samples the suite is skipped; its body still runs to register tests.
const input = (path: string, file = path.split('/').pop()!) => ({
  file,
  bytes: existsSync(path) ? new Uint8Array(readFileSync(path)) : new Uint8Array(0),
});
const text = (file: string, s: string) => ({ file, bytes: new TextEncoder().encode(s) });

describe.skipIf(!existsSync(T))('platform report: ThinkPad X1 Carbon Gen 9', () => {
  const r = buildPlatformReport([input(`${T}/dmar.dat`), input(`${T}/lspci.txt`), input(`${T}/dmesg.txt`)]);

  it('recognises each input', () => {
    expect(r.inputs.map((i) => i.kind)).toEqual(['acpi-binary', 'lspci', 'kernel-log']);
    expect(r.tables).toMatchObject([
      { signature: 'DMAR', checksumValid: true, hostAddressWidth: 39, flags: 5 },
    ]);
  });

  it('lists the four units with their scopes resolved through the hierarchy', () => {
    expect(r.units.map((u) => [u.kind, 'id' in u && u.id, u.base, u.includeAll])).toEqual([
      ['drhd', 'dmar0', '0xfed90000', false],
      ['drhd', 'dmar1', '0xfed85000', false],
      ['drhd', 'dmar2', '0xfed86000', false],
      ['drhd', 'dmar3', '0xfed91000', true],
    ]);
    const scopes = r.units.map((u) =>
      u.kind === 'drhd' ? u.scope.map((s) => [s.type, s.bdf, s.status]) : [],
    );
    expect(scopes).toEqual([
      [['endpoint', '0000:00:02.0', 'resolved']],
      [['bridge', '0000:00:07.0', 'resolved']],
      [['bridge', '0000:00:07.2', 'resolved']],
      [
        ['ioapic', null, 'not-pci'],
        ['hpet', null, 'not-pci'],
      ],
    ]);
  });

  it('reports the IGD RMRR and its direct-relaxable region', () => {
    expect(r.reservedRegions).toMatchObject([
      { kind: 'rmrr', start: '0x9c000000', end: '0xa07fffff', offset: 0x98 },
    ]);
    const igd = r.devices!.find((d) => d.bdf === '0000:00:02.0')!;
    expect(igd.reservedRegions.map((x) => [x.start, x.end, x.type])).toEqual([
      ['0x9c000000', '0xa07fffff', 'direct-relaxable'],
      ['0xfee00000', '0xfeefffff', 'msi'],
    ]);
  });

  it('forms the 18 groups the kernel formed, numbered as the kernel numbered them', () => {
    const { hints } = readKernelLog(readFileSync(`${T}/dmesg.txt`, 'utf8'));
    expect(hints.groups).toHaveLength(25);
    const kernel = new Map<number, string[]>();
    for (const g of hints.groups) kernel.set(g.group, [...(kernel.get(g.group) ?? []), g.bdf]);
    expect(r.groups!.map((g) => [g.id, g.members])).toEqual([...kernel.entries()]);
    expect(r.groups!.every((g) => g.kernelGroup === g.id)).toBe(true);
  });

  it('has no firmware findings', () => {
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.findings.map((f) => f.code)).toEqual(['groups-match-kernel', 'kernel-firmware-bug']);
  });

  it('builds a platform description the engine loads, with the kernel capabilities', () => {
    expect(r.platform!.iommus!.map((u) => [u.id, u.scope ?? 'all', u.capabilities.scalableMode])).toEqual([
      ['dmar0', ['0000:00:02.0'], false], // ecap 29a00f0505e: SMTS (bit 43) clear
      ['dmar1', ['0000:00:07.0'], false],
      ['dmar2', ['0000:00:07.2'], false],
      ['dmar3', 'all', false],
    ]);
    expect(r.platform!.kernel).toEqual({ defaultDomain: 'dma-fq' });
  });

  it('gives the same units from the iasl disassembly shipped with it', () => {
    const viaDsl = buildPlatformReport([
      input(`${T}/dmar.dsl`),
      input(`${T}/lspci.txt`),
      input(`${T}/dmesg.txt`),
    ]);
    expect(viaDsl.inputs[0]!.kind).toBe('iasl-dsl');
    expect(viaDsl.units).toEqual(r.units);
    expect(viaDsl.groups).toEqual(r.groups);
  });

  it('summarises it readably', () => {
    const s = summarize(r);
    expect(s).toContain(
      'dmar3  DRHD  segment 0  base 0xfed91000   flags 0x01  INCLUDE_PCI_ALL, IOAPIC 2 (00:1e.7), HPET 0 (00:1e.6)',
    );
    expect(s).toContain('RMRR 0  0x9c000000-0xa07fffff  segment 0  00:02.0 (endpoint)');
    expect(s).toContain('   15  dmar3  00:1f.0 00:1f.3 00:1f.4 00:1f.5');
    expect(s).toContain('Findings: 0 error(s), 0 warning(s), 2 note(s)');
  });
});

describe('platform report: inputs and findings', () => {
  const lspci = [
    '00:00.0 Host bridge [0600]: Intel Corporation Device [8086:9a14]',
    '\tStatus: Cap+ 66MHz- UDF- FastB2B+',
    '00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:9a49] (prog-if 00 [VGA controller])',
    '\tCapabilities: [70] Express (v2) Root Complex Integrated Endpoint, MSI 00',
    '00:14.0 USB controller [0c03]: Intel Corporation Device [8086:a0ed] (rev 20) (prog-if 30 [XHCI])',
    '\tStatus: Cap+ 66MHz- UDF- FastB2B+',
    '00:1c.0 PCI bridge [0604]: Intel Corporation Device [8086:a0b8] (rev 20) (prog-if 00 [Normal decode])',
    '\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0',
    '\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00',
    '01:00.0 Network controller [0280]: Intel Corporation Device [8086:2723]',
    '\tCapabilities: [40] Express (v2) Endpoint, MSI 00',
    '',
  ].join('\n');
  const table = B.dmar({
    structures: [
      B.drhd({ base: 0xfed90000n, scopes: [B.scope({ type: 1, bus: 0, path: [[2, 0]] })] }),
      B.drhd({
        base: 0xfed91000n,
        flags: 1,
        scopes: [B.scope({ type: 3, bus: 0, path: [[0x1e, 7]], enumerationId: 2 })],
      }),
      B.rmrr({
        base: 0x3e2e0000n,
        end: 0x3e2fffffn,
        scopes: [B.scope({ type: 1, bus: 0, path: [[0x14, 0]] })],
      }),
      B.rmrr({
        base: 0x3e300000n,
        end: 0x3e2fffffn,
        scopes: [B.scope({ type: 1, bus: 0, path: [[0x1f, 6]] })],
      }),
    ],
  });

  it('reports lint findings with file and offset, and still builds the groups', () => {
    const r = buildPlatformReport([{ file: 'dmar.bin', bytes: table }, text('lspci.txt', lspci)]);
    expect(r.findings.map((f) => [f.severity, f.code, f.file, f.offset])).toEqual([
      ['error', 'dmar-rmrr-end-before-start', 'dmar.bin', 0x80 + 16],
      ['warning', 'dmar-scope-absent', 'dmar.bin', 0x80 + 24],
    ]);
    expect(r.groups!.map((g) => g.members)).toEqual([
      ['0000:00:02.0'],
      ['0000:00:00.0'],
      ['0000:00:14.0'],
      ['0000:00:1c.0', '0000:01:00.0'],
    ]);
    const xhci = r.devices!.find((d) => d.bdf === '0000:00:14.0')!;
    expect(xhci.reservedRegions[0]).toMatchObject({ start: '0x3e2e0000', type: 'direct-relaxable' });
  });

  it('without lspci gives units, regions and findings but no devices or groups', () => {
    const r = buildPlatformReport([{ file: 'dmar.bin', bytes: table }]);
    expect(r.devices).toBeUndefined();
    expect(r.groups).toBeUndefined();
    expect(r.platform).toBeNull();
    expect(r.units).toHaveLength(2);
    expect(r.reservedRegions).toHaveLength(2);
    const rmrr = r.reservedRegions[0]!;
    expect(rmrr.kind === 'rmrr' && rmrr.scope[0]).toMatchObject({
      bdf: '0000:00:14.0',
      status: 'no-hierarchy',
    });
  });

  it('marks an unrecognised input and a Linux-fatal table', () => {
    const bad = B.dmar({ structures: [B.drhd({ base: 0n, flags: 1 })] });
    const r = buildPlatformReport([
      { file: 'x.bin', bytes: bad },
      text('notes.txt', 'hello world\n'),
      text('lspci.txt', lspci),
    ]);
    expect(r.inputs.map((i) => i.kind)).toEqual(['acpi-binary', 'unknown', 'lspci']);
    expect(r.findings.map((f) => f.code)).toContain('input-unrecognized');
    expect(r.findings.map((f) => f.code)).toContain('dmar-drhd-zero-base');
    expect(r.groups).toEqual([]);
    expect(r.devices!.every((d) => d.iommu === null)).toBe(true);
  });

  it('uses the kernel log to check RMRRs against e820 and to compare groups', () => {
    const log = [
      '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000003e2fffff] usable',
      '[    0.000000] BIOS-e820: [mem 0x000000003e300000-0x000000003fffffff] reserved',
      '[    0.722269] pci 0000:00:02.0: Adding to iommu group 0',
      '[    0.722269] pci 0000:00:00.0: Adding to iommu group 1',
    ].join('\n');
    const r = buildPlatformReport([
      { file: 'dmar.bin', bytes: table },
      text('lspci.txt', lspci),
      text('dmesg', log),
    ]);
    expect(r.findings.map((f) => f.code)).toEqual([
      'dmar-rmrr-end-before-start',
      'dmar-rmrr-not-reserved',
      'dmar-scope-absent',
      'groups-match-kernel',
    ]);
  });
});

describe('platform report: an AMD machine (IVRS)', () => {
  const lspci = [
    '00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Device [1022:1630]',
    '\tStatus: Cap- 66MHz-',
    '00:00.2 IOMMU [0806]: Advanced Micro Devices, Inc. [AMD] Device [1022:1631]',
    '\tCapabilities: [40] Secure device <?>',
    '00:08.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Device [1022:1632]',
    '\tStatus: Cap- 66MHz-',
    '00:08.1 PCI bridge [0604]: Advanced Micro Devices, Inc. [AMD] Device [1022:1635]',
    '\tBus: primary=00, secondary=04, subordinate=04, sec-latency=0',
    '\tCapabilities: [58] Express (v2) Root Port (Slot-), MSI 00',
    '\tCapabilities: [2a0 v1] Access Control Services',
    '\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans+',
    '\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-',
    '04:00.0 VGA compatible controller [0300]: Advanced Micro Devices, Inc. [AMD/ATI] Device [1002:1638]',
    '\tCapabilities: [64] Express (v2) Legacy Endpoint, MSI 00',
    '04:00.3 USB controller [0c03]: Advanced Micro Devices, Inc. [AMD] Device [1022:1639] (prog-if 30 [XHCI])',
    '\tCapabilities: [64] Express (v2) Endpoint, MSI 00',
    '',
  ].join('\n');
  const table = B.ivrs({
    blocks: [
      B.ivhd({
        type: 0x40,
        devid: 0x0002,
        base: 0xfd200000n,
        entries: [
          B.dev4(3, 0x0000),
          B.dev4(4, 0x00ff),
          B.alias(0x42, 0x0403, 0, 0x0400),
          B.dev4(2, 0x0400),
          B.special(0x21, 0xa0, 1),
        ],
      }),
      B.ivmd({ type: 0x21, flags: 0x07, devid: 0x0403, start: 0x9d000000n, length: 0x2000n }),
    ],
  });
  const r = buildPlatformReport([{ file: 'ivrs.dat', bytes: table }, text('lspci.txt', lspci)]);

  it('lists the IVHD with its entries and the IVMD', () => {
    expect(r.units).toMatchObject([
      { kind: 'ivhd', id: 'ivhd0', used: true, deviceId: '0000:00:00.2', base: '0xfd200000' },
    ]);
    expect(r.reservedRegions).toMatchObject([
      { kind: 'ivmd', start: '0x9d000000', end: '0x9d001fff', scope: [{ first: '0000:04:00.3' }] },
    ]);
  });

  it('translates what the entries name, never the IOMMU itself, and turns the same-bus alias into a DMA alias', () => {
    const iommuOf = Object.fromEntries(r.devices!.map((d) => [d.bdf, d.iommu]));
    expect(iommuOf).toEqual({
      '0000:00:00.0': 'ivhd0',
      '0000:00:00.2': null,
      '0000:00:08.0': 'ivhd0',
      '0000:00:08.1': 'ivhd0',
      '0000:04:00.0': 'ivhd0',
      '0000:04:00.3': 'ivhd0',
    });
    expect(r.platform!.devices.find((d) => d.bdf === '0000:04:00.3')!.dmaAliases).toEqual(['0000:04:00.0']);
    // 04:00.3 uses 04:00.0's requester id: one group (and the multifunction slot has no ACS anyway)
    expect(r.groups!.map((g) => g.members)).toContainEqual(['0000:04:00.0', '0000:04:00.3']);
  });

  it('gives the xHCI its IVMD as a direct region, with the MSI window and the HyperTransport hole', () => {
    const xhci = r.devices!.find((d) => d.bdf === '0000:04:00.3')!;
    expect(xhci.reservedRegions.map((x) => [x.start, x.end, x.type])).toEqual([
      ['0x9d000000', '0x9d001fff', 'direct'],
      ['0xfee00000', '0xfeefffff', 'msi'],
      ['0xfd00000000', '0xffffffffff', 'reserved'],
    ]);
  });

  it('flags what no IVHD covers', () => {
    const r2 = buildPlatformReport([
      {
        file: 'ivrs.dat',
        bytes: B.ivrs({
          blocks: [
            B.ivhd({
              type: 0x10,
              devid: 2,
              base: 0xfd200000n,
              entries: [B.dev4(2, 0x0000), B.special(0x21, 0xa0, 1)],
            }),
          ],
        }),
      },
      text('lspci.txt', lspci),
    ]);
    expect(
      r2.findings.filter((f) => f.code === 'ivrs-device-not-covered').map((f) => f.message.slice(0, 7)),
    ).toEqual(['00:08.0', '00:08.1', '04:00.0', '04:00.3']);
  });
});
