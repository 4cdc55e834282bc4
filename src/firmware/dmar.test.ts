// The DMAR decoder against real tables: the matched ThinkPad X1 Carbon Gen 9 (binary rebuilt from the
// iasl dump shipped with it) and the tables in the reference samples, each compared field by field with
// the iasl disassembly shipped beside it.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareFields } from './compare-fields';
import { decodeDmar } from './dmar';
import { dslFieldLines, readDsl } from './iasl-dsl';

// ../shared/reference/samples beside the repository; the tests skip when it is not there
const SAMPLES = fileURLToPath(new URL('../../../shared/reference/samples', import.meta.url));
const HAVE_SAMPLES = existsSync(SAMPLES);
// Without the samples the suites below are skipped; their bodies still run to register tests.
const bin = (p: string) =>
  HAVE_SAMPLES ? new Uint8Array(readFileSync(`${SAMPLES}/${p}`)) : new Uint8Array(0);
const text = (p: string) => (HAVE_SAMPLES ? readFileSync(`${SAMPLES}/${p}`, 'utf8') : '');
const dslFields = dslFieldLines;

describe.skipIf(!HAVE_SAMPLES)('DMAR decoder: ThinkPad X1 Carbon Gen 9', () => {
  const { table, findings } = decodeDmar(bin('matched/lenovo-thinkpad-x1-carbon-gen9/dmar.dat'));

  it('reads the header with a valid checksum', () => {
    expect(findings).toEqual([]);
    expect(table!.header).toMatchObject({
      signature: 'DMAR',
      length: 0xb8,
      revision: 2,
      checksum: 0x94,
      checksumValid: true,
      oemId: 'LENOVO',
      oemTableId: 'TP-N32  ',
      oemRevision: 0x1590,
      creatorId: 'PTEC',
      creatorRevision: 2,
    });
    expect(table!.hostAddressWidth).toBe(39);
    expect(table!.flags).toBe(0x05);
  });

  it('reads four DRHDs and the IGD RMRR', () => {
    const s = table!.structures;
    expect(s.map((x) => x.kind)).toEqual(['drhd', 'drhd', 'drhd', 'drhd', 'rmrr']);
    const drhd = s.filter((x) => x.kind === 'drhd');
    expect(drhd.map((d) => [d.base, d.flags, d.includeAll])).toEqual([
      [0xfed90000n, 0, false],
      [0xfed85000n, 0, false],
      [0xfed86000n, 0, false],
      [0xfed91000n, 1, true],
    ]);
    expect(drhd[0]!.scopes[0]).toMatchObject({
      type: 'endpoint',
      startBus: 0,
      path: [{ device: 2, function: 0 }],
    });
    expect(drhd[1]!.scopes[0]).toMatchObject({ type: 'bridge', path: [{ device: 7, function: 0 }] });
    expect(drhd[3]!.scopes.map((x) => [x.type, x.enumerationId, x.path])).toEqual([
      ['ioapic', 2, [{ device: 0x1e, function: 7 }]],
      ['hpet', 0, [{ device: 0x1e, function: 6 }]],
    ]);
    const rmrr = s[4]!;
    expect(rmrr).toMatchObject({
      kind: 'rmrr',
      segment: 0,
      base: 0x9c000000n,
      end: 0xa07fffffn,
      offset: 0x98,
    });
  });

  it('agrees with every field of the shipped iasl disassembly', () => {
    const cmp = compareFields(
      table!.fields,
      dslFields(text('matched/lenovo-thinkpad-x1-carbon-gen9/dmar.dsl')),
    );
    expect(cmp.mismatches).toEqual([]);
    expect(cmp.nameMismatches).toEqual([]);
    expect(cmp.unchecked.map((f) => f.name)).toEqual([]);
    expect(cmp.checked).toBe(table!.fields.length);
  });

  it('notices a changed byte', () => {
    const bytes = bin('matched/lenovo-thinkpad-x1-carbon-gen9/dmar.dat');
    bytes[0xa3] = 0x9d; // RMRR base 0x9c000000 -> 0x9d000000
    const cmp = compareFields(
      decodeDmar(bytes).table!.fields,
      dslFields(text('matched/lenovo-thinkpad-x1-carbon-gen9/dmar.dsl')),
    );
    expect(cmp.mismatches.map((m) => m.name)).toEqual(['Base Address']);
  });

  it('the dsl raw data is the same table', () => {
    const [t] = readDsl(text('matched/lenovo-thinkpad-x1-carbon-gen9/dmar.dsl'));
    expect(t!.source).toBe('raw-data');
    expect(Array.from(t!.bytes)).toEqual(Array.from(bin('matched/lenovo-thinkpad-x1-carbon-gen9/dmar.dat')));
  });
});

describe.skipIf(!HAVE_SAMPLES)('DMAR decoder: reference samples against their disassembly', () => {
  const pairs: [string, string][] = [
    ['acpi/dmar-dell-latitude-e7470.dat', 'acpi/dmar-dell-latitude-e7470.dsl'],
    ['acpi/dmar-fujitsu-p2520la.dat', 'acpi/iasl-disasm/dmar-fujitsu-p2520la.dsl'],
    ['acpi/dmar-google-ecclesia-ami-server.sysfs.bin', 'acpi/dmar-google-ecclesia-ami-server.dsl'],
    [
      'acpi/dmar-google-ecclesia-ami-server.sysfs.bin',
      'acpi/iasl-disasm/dmar-google-ecclesia-ami-server.sysfs.dsl',
    ],
    ['acpi/dmar-surface-book-2.acpixtract.dat', 'acpi/dmar-surface-book-2-iasl20190703.dsl'],
    [
      'acpi/dmar-surface-laptop-studio-1.acpixtract.dat',
      'acpi/dmar-surface-laptop-studio-1-iasl20210730.dsl',
    ],
    [
      'acpi/dmar-surface-pro-10-business-satc-type6.acpixtract.dat',
      'acpi/dmar-surface-pro-10-business-iasl20240322.dsl',
    ],
    [
      'acpi/dmar-surface-pro-10-business-satc-type6.acpixtract.dat',
      'acpi/iasl-disasm/dmar-surface-pro-10-business-satc-type6.acpixtract.dsl',
    ],
  ];
  for (const [dat, dsl] of pairs)
    it(`${dat} matches ${dsl}`, () => {
      const { table, findings } = decodeDmar(bin(dat));
      expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
      const cmp = compareFields(table!.fields, dslFields(text(dsl)));
      expect(cmp.mismatches).toEqual([]);
      expect(cmp.nameMismatches).toEqual([]);
      expect(cmp.checked).toBeGreaterThan(20);
      // and the raw data block, where the disassembly has one, is byte for byte the binary
      const t = readDsl(text(dsl))[0]!;
      if (t.source === 'raw-data') expect(Array.from(t.bytes)).toEqual(Array.from(bin(dat)));
    });

  it('decodes SATC (type 5) and SIDP (type 6), which iasl 20240322 cannot', () => {
    const { table, findings } = decodeDmar(
      bin('acpi/dmar-surface-pro-10-business-satc-type6.acpixtract.dat'),
    );
    expect(findings).toEqual([]);
    const satc = table!.structures.find((s) => s.kind === 'satc')!;
    const sidp = table!.structures.find((s) => s.kind === 'sidp')!;
    expect(satc).toMatchObject({ offset: 0x68, atcRequired: true, segment: 0 });
    expect(sidp).toMatchObject({ offset: 0x88, length: 0x20, segment: 0 });
    if (sidp.kind !== 'sidp') throw new Error('not sidp');
    expect(sidp.scopes.map((x) => [x.flags, x.path[0]])).toEqual([
      [0x1f, { device: 2, function: 0 }],
      [0x1f, { device: 5, function: 0 }],
      [0x1c, { device: 0xb, function: 0 }],
    ]);
  });
});
