// The text readers: lspci (-vvv with and without -nn, non-root, the -tv tree, real output of this
// machine's lspci when it has one), acpidump text, iasl disassembly in its three layouts, kernel logs in
// their envelopes, and input detection.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as B from './acpi-table-builder';
import { readAcpidump } from './acpidump-text';
import { detectInput } from './detect';
import { decodeDmar } from './dmar';
import { readDsl } from './iasl-dsl';
import { readKernelLog, stripEnvelope } from './kernel-log';
import { mergeLspci, readLspci, readLspciTree } from './lspci';
import { classCodeFromName } from './pci-class-names';

const enc = (s: string) => new TextEncoder().encode(s);

describe('lspci', () => {
  it('reads -vvv -nn: class, ids, bridge buses, Express type, ACS, PASID (hex width), ATS, PRI', () => {
    const r = readLspci(
      [
        '0000:00:02.0 VGA compatible controller [0300]: Intel Corporation TigerLake-LP GT2 [Iris Xe Graphics] [8086:9a49] (rev 01) (prog-if 00 [VGA controller])',
        '\tCapabilities: [70] Express (v2) Root Complex Integrated Endpoint, MSI 00',
        '\tCapabilities: [100 v1] Process Address Space ID (PASID)',
        '\t\tPASIDCap: Exec- Priv-, Max PASID Width: 14',
        '\tCapabilities: [200 v1] Address Translation Service (ATS)',
        '\tCapabilities: [300 v1] Page Request Interface (PRI)',
        '\tIOMMU group: 2',
        '',
        '00:1c.0 PCI bridge [0604]: Intel Corporation Device [8086:a0b8] (rev 20) (prog-if 00 [Normal decode])',
        '\tBus: primary=00, secondary=08, subordinate=0a, sec-latency=0',
        '\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00',
        '\tCapabilities: [220 v1] Access Control Services',
        '\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-',
        '\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-',
      ].join('\n'),
    );
    expect(r.findings).toEqual([]);
    expect(r.functions[0]).toMatchObject({
      bdf: '0000:00:02.0',
      classCode: 0x030000,
      vendorId: 0x8086,
      deviceId: 0x9a49,
      express: 'rciep',
      pasidWidth: 20,
      ats: true,
      pri: true,
      iommuGroup: 2,
      capabilitiesKnown: true,
      name: 'Intel Corporation TigerLake-LP GT2 [Iris Xe Graphics]',
    });
    expect(r.functions[1]).toMatchObject({
      isBridge: true,
      secondary: 8,
      subordinate: 10,
      express: 'root-port',
      acs: { cap: 0x1f, ctrl: 0x1d },
    });
  });

  it('reads class names without -nn, numeric -n output, and says when capabilities are hidden', () => {
    const r = readLspci(
      [
        '00:14.0 USB controller: Intel Corporation Device a0ed (rev 20) (prog-if 30 [XHCI])',
        '\tCapabilities: <access denied>',
        '00:1f.0 0601: 8086:a082 (rev 20)',
        '\tControl: I/O+ Mem+',
      ].join('\n'),
    );
    expect(r.functions.map((f) => [f.classCode?.toString(16), f.vendorId, f.capabilitiesKnown])).toEqual([
      ['c0330', null, false],
      ['60100', 0x8086, true],
    ]);
    expect(r.findings.map((f) => f.code)).toEqual(['lspci-capabilities-hidden']);
    expect(classCodeFromName('Non-Volatile memory controller')).toBe(0x0108);
    expect(classCodeFromName('Class 0x80')).toBeNull();
  });

  it('reads the -tv tree: buses from the columns, bridges with their ranges, several root buses', () => {
    const tree = readLspciTree(
      [
        '-+-[0000:80]-+-00.0  Intel Corporation Device 09a2',
        ' |           \\-02.0-[81-82]----00.0-[82]--+-00.0  Intel Corporation Ethernet [8086:1563]',
        ' |                                         \\-00.1  Intel Corporation Ethernet [8086:1563]',
        ' \\-[0000:00]-+-00.0  Intel Corporation Host Bridge',
        '             +-07.0-[20-49]--',
        '             +-1c.0-[08]----00.0  Quectel Wireless Solutions Co., Ltd. EM120R-GL LTE Modem',
        '             \\-1f.5  Intel Corporation SPI Controller',
      ].join('\n'),
    );
    expect(
      tree.functions.map((f) => [
        f.bdf,
        f.isBridge ? `${f.secondary}-${f.subordinate}` : '',
        f.multifunction,
      ]),
    ).toEqual([
      ['0000:80:00.0', '', false],
      ['0000:80:02.0', '129-130', false],
      ['0000:81:00.0', '130-130', false],
      ['0000:82:00.0', '', true],
      ['0000:82:00.1', '', true],
      ['0000:00:00.0', '', false],
      ['0000:00:07.0', '32-73', false],
      ['0000:00:1c.0', '8-8', false],
      ['0000:08:00.0', '', false],
      ['0000:00:1f.5', '', false],
    ]);
    expect(tree.functions[3]).toMatchObject({ vendorId: 0x8086, deviceId: 0x1563 });
    expect(tree.findings.map((f) => f.code)).toEqual(['lspci-tree-only']);
  });

  let real: { tree: string; verbose: string } | null = null;
  try {
    real = {
      tree: execFileSync('lspci', ['-tv'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
      verbose: execFileSync('lspci', ['-vvvnn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    };
  } catch {
    real = null;
  }
  it.skipIf(!real || real.verbose.trim() === '')(
    'agrees with itself on this machine: lspci -tv and lspci -vvvnn name the same functions',
    () => {
      const t = readLspci(real!.tree);
      const v = readLspci(real!.verbose);
      expect(t.form).toBe('tree');
      expect(v.form).toBe('verbose');
      expect(t.functions.map((f) => f.bdf).sort()).toEqual(v.functions.map((f) => f.bdf).sort());
      for (const f of v.functions.filter((x) => x.isBridge)) {
        const tf = t.functions.find((x) => x.bdf === f.bdf)!;
        expect([tf.secondary, tf.subordinate]).toEqual([f.secondary, f.subordinate]);
      }
      expect(mergeLspci([t, v]).length).toBe(v.functions.length);
    },
  );
});

describe('acpidump text and iasl disassembly', () => {
  const table = B.dmar({
    structures: [
      B.drhd({ base: 0xfed91000n, flags: 1 }),
      B.rmrr({ base: 0x1000n, end: 0x1fffn, scopes: [B.scope({ type: 1, bus: 0, path: [[0x14, 0]] })] }),
    ],
  });
  const hexLines = (bytes: Uint8Array, indent = '    ', sep = '  ') => {
    const out: string[] = [];
    for (let o = 0; o < bytes.length; o += 16) {
      const row = Array.from(bytes.subarray(o, o + 16));
      out.push(
        `${indent}${o.toString(16).toUpperCase().padStart(4, '0')}: ${row.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ')}${sep}`,
      );
    }
    return out;
  };

  it('reads acpidump text, several tables, and notices a gap', () => {
    const text = [
      'DMAR @ 0x000000008f42a000',
      ...hexLines(table),
      '',
      'FACP @ 0x0000000000000000',
      '    0000: 46 41 43 50 10 00 00 00',
      '',
    ].join('\n');
    const ts = readAcpidump(text);
    expect(ts.map((t) => t.signature)).toEqual(['DMAR', 'FACP']);
    expect(Array.from(ts[0]!.bytes)).toEqual(Array.from(table));
    const gappy = ['DMAR @ 0x0', ...hexLines(table).filter((_, i) => i !== 1), ''].join('\n');
    expect(readAcpidump(gappy)[0]!.findings.map((f) => f.code)).toEqual(['acpidump-gap']);
    expect(detectInput(enc(text)).kind).toBe('acpidump');
  });

  it('reads the raw data block of a disassembly', () => {
    const dsl = [
      '[000h 0000   4]                    Signature : "DMAR"    [DMA Remapping table]',
      '',
      `Raw Table Data: Length ${table.length} (0x${table.length.toString(16).toUpperCase()})`,
      '',
      ...hexLines(table, '  ', '  // ....'),
    ].join('\n');
    const [t] = readDsl(dsl);
    expect(t!.source).toBe('raw-data');
    expect(Array.from(t!.bytes)).toEqual(Array.from(table));
  });

  it('splits a whole-machine disassembly into its tables', () => {
    const dmarDsl = [
      '[000h 0000   4]                    Signature : "DMAR"    [DMA Remapping table]',
      `Raw Table Data: Length ${table.length} (0x${table.length.toString(16)})`,
      ...hexLines(table, '  ', '  // ....'),
    ];
    const dump = [
      '/*',
      ' * Intel ACPI Component Architecture',
      ' */',
      'DefinitionBlock ("", "DSDT", 2, "LENOVO", "TP-N32  ", 0x00001590)',
      '{',
      '    Name (_S0, Package (0x04)  // _S0_: S0 System State',
      '}',
      ...dmarDsl,
      '',
      '/*',
      ' * Intel ACPI Component Architecture',
      ' * Disassembly of facp.dat',
      ' */',
      '[000h 0000   4]                    Signature : "FACP"    [Fixed ACPI Description Table (FADT)]',
      '[004h 0004   4]                 Table Length : 00000114',
    ].join('\n');
    const ts = readDsl(dump);
    expect(ts.map((t) => [t.signature, t.source])).toEqual([
      ['DMAR', 'raw-data'],
      ['FACP', 'field-offsets'],
    ]);
    expect(Array.from(ts[0]!.bytes)).toEqual(Array.from(table));
  });

  it('rebuilds a table from field lines with offsets (decimal and hex lengths), without offsets, and from a template', () => {
    const withOffsets = [
      '[000h 0000 004h]                   Signature : "DMAR"    [DMA Remapping Table]',
      '[004h 0004 004h]                Table Length : 00000048',
      '[008h 0008 001h]                    Revision : 01',
      '[009h 0009 001h]                    Checksum : 00',
      '[00Ah 0010 006h]                      Oem ID : "INTEL "',
      '[010h 0016 008h]                Oem Table ID : "TEMPLATE"',
      '[018h 0024 004h]                Oem Revision : 00000001',
      '[01Ch 0028 004h]             Asl Compiler ID : "INTL"',
      '[020h 0032 004h]       Asl Compiler Revision : 20200925',
      '[024h 0036 001h]          Host Address Width : 26',
      '[025h 0037 001h]                       Flags : 05',
      '[026h 0038 00Ah]                    Reserved : 00 00 00 00 00 00 00 00 00 00',
      '[030h 0048 002h]               Subtable Type : 0000 [Hardware Unit Definition]',
      '[032h 0050 002h]                      Length : 0018',
      '[034h 0052 001h]                       Flags : 01',
      '[035h 0053 001h]                    Reserved : 00',
      '[036h 0054 002h]          PCI Segment Number : 0000',
      '[038h 0056 008h]       Register Base Address : 00000000FED91000',
      '[040h 0064   1]           Device Scope Type : 03 [IOAPIC Device]',
      '[041h 0065   1]                Entry Length : 08',
      '[042h 0066   2]                    Reserved : 0000',
      '[044h 0068   1]              Enumeration ID : 02',
      '[045h 0069   1]              PCI Bus Number : 00',
      '[046h 0070   2]                    PCI Path : 1E,07',
    ];
    const [a] = readDsl(withOffsets.join('\n'));
    expect(a!.source).toBe('field-offsets');
    const da = decodeDmar(a!.bytes);
    expect(da.table!.structures[0]).toMatchObject({
      kind: 'drhd',
      base: 0xfed91000n,
      includeAll: true,
      scopes: [{ type: 'ioapic', enumerationId: 2, path: [{ device: 0x1e, function: 7 }] }],
    });
    // a poster cut the offset column
    const stripped = withOffsets.map((l) => l.replace(/^\[[^\]]*\]/, '')).join('\n');
    const [b] = readDsl(stripped);
    expect(b!.source).toBe('field-order');
    expect(Array.from(b!.bytes)).toEqual(Array.from(a!.bytes));
    // iasl -T template layout
    const template = withOffsets
      .map((l) =>
        l.replace(
          /^\[[0-9A-F]+h \d+ +([0-9A-F]+h|\d+)\]/,
          (_m, len: string) =>
            `[${String(len.endsWith('h') ? parseInt(len, 16) : parseInt(len, 10)).padStart(4, '0')}]`,
        ),
      )
      .join('\n');
    const [c] = readDsl(template);
    expect(Array.from(c!.bytes)).toEqual(Array.from(a!.bytes));
    expect(detectInput(enc(template)).kind).toBe('iasl-dsl');
  });

  it('says what is missing when iasl stopped decoding and there is no raw data', () => {
    const dsl = [
      '[000h 0000   4]                    Signature : "DMAR"',
      '[004h 0004   4]                 Table Length : 00000100',
      '[024h 0036   1]           Host Address Width : 26',
    ].join('\n');
    expect(readDsl(dsl)[0]!.findings.map((f) => f.code)).toEqual(['dsl-rebuilt', 'dsl-incomplete']);
  });
});

describe('kernel log', () => {
  it('strips dmesg, syslog, journal and mail envelopes', () => {
    expect(stripEnvelope('[    0.100721] DMAR: RMRR base: 0x0000009c000000 end: 0x000000a07fffff')).toBe(
      'DMAR: RMRR base: 0x0000009c000000 end: 0x000000a07fffff',
    );
    expect(
      stripEnvelope('May 30 17:32:17 localhost kernel: [    0.168626] DMAR: Host address width 39'),
    ).toBe('DMAR: Host address width 39');
    expect(stripEnvelope('> > [  +0.012066] DMAR: DRHD base')).toBe('DMAR: DRHD base');
    expect(stripEnvelope('Jan 13 10:00:00.123456 host kernel: iommu: x')).toBe('iommu: x');
  });

  it('reads e820 in both formats, DMAR lines, groups, root bridges, table lines and the default domain', () => {
    const { hints } = readKernelLog(
      [
        '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009efff] usable',
        'BIOS-e820: 000000000009f000 - 00000000000a0000 (reserved)',
        '[    0.012372] ACPI: DMAR 0x000000008F42A000 0000B8 (v02 LENOVO TP-N32   00001590 PTEC 00000002)',
        '[    0.100691] DMAR: Host address width 39',
        '[    0.100692] DMAR: DRHD base: 0x000000fed90000 flags: 0x0',
        '[    0.100698] DMAR: dmar0: reg_base_addr fed90000 ver 4:0 cap 1c0000c40660462 ecap 29a00f0505e',
        '[    0.100721] DMAR: RMRR base: 0x0000009c000000 end: 0x000000a07fffff',
        '[    0.521450] ACPI: PCI Root Bridge [PC00] (domain 0000 [bus 00-79])',
        '[    0.691470] iommu: Default domain type: Translated ',
        '[    0.691470] iommu: DMA domain TLB invalidation policy: strict mode ',
        '[    0.722269] pci 0000:00:07.2: Adding to iommu group 0',
        'May 30 17:32:17 localhost kernel: [    0.168658] DMAR: [Firmware Bug]: No firmware reserved region can cover this RMRR [0x000000009d800000-0x000000009fffffff], contact BIOS vendor for fixes',
      ].join('\n'),
    );
    expect(hints.e820.map((e) => [e.start, e.end, e.type])).toEqual([
      [0n, 0x9efffn, 'usable'],
      [0x9f000n, 0x9ffffn, 'reserved'],
    ]);
    expect(hints.tables[0]).toMatchObject({ signature: 'DMAR', length: 0xb8, oemId: 'LENOVO' });
    expect(hints.units[0]).toMatchObject({ name: 'dmar0', base: 0xfed90000n, cap: 0x1c0000c40660462n });
    expect(hints.rmrrs).toMatchObject([{ base: 0x9c000000n, end: 0xa07fffffn }]);
    expect(hints.rootBridges).toMatchObject([{ segment: 0, busStart: 0, busEnd: 0x79 }]);
    expect([hints.defaultDomain, hints.lazy]).toEqual(['translated', false]);
    expect(hints.groups).toMatchObject([{ bdf: '0000:00:07.2', group: 0 }]);
    expect(hints.firmwareBugs).toHaveLength(1);
  });
});
