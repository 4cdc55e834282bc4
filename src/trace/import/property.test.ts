// Property tests over every importer: any input gives records, counted bad lines or ignored lines —
// never an exception — and long random lines finish (regexes are anchored and bounded).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnalyzerCsvImporter } from './analyzer-csv';
import { detectFormat } from './detect';
import { TextLogImporter } from './text-log';
import type { LineImporter, Sink } from './types';

const FRAGMENTS = [
  '[    1.000000] ',
  'kernel: ',
  '> ',
  'DMAR: ',
  '[DMA Read NO_PASID] Request device [00:02.0] fault addr 0x',
  '[fault reason 0x',
  '[INTR-REMAP] ',
  'AMD-Vi: Event logged [',
  'IO_PAGE_FAULT device=00:14.0 domain=0x0000 address=0x',
  ' flags=0x0070]',
  'arm-smmu-v3 arm-smmu-v3.0.auto: ',
  'event 0x10 received:',
  '\t0x0000350100000010',
  'event: F_TRANSLATION client: 0000:01:00.0 sid: 0x',
  'arm-smmu 1.smmu: Unhandled context fault: fsr=0x402, iova=0x',
  'map: IOMMU: iova=0x',
  ' - 0x',
  ' paddr=0x',
  ' size=',
  'foo-12 [000] ..... 1.000000: ',
  '1@1.000001:vtd_dmar_fault sid 0x',
  'vtd_dmar_translate dev 00:04.00 iova 0x',
  ' -> gpa 0x',
  'qemu-system-x86_64: vtd_iova_to_slpte: detected slpte permission error (iova=0x',
  'BIOS-e820: [mem 0x',
  'RMRR base: 0x',
  'TLP Header: 40000004 0a0000ff fffc0e80 00000000',
  ',',
  '"',
  '=',
  '0123456789abcdef',
  ' ',
];

const lineArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 12 }).map((a) => a.join('')),
  fc
    .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 8 })), { maxLength: 20 })
    .map((a) => a.join('')),
);

function runAll(importer: LineImporter, lines: string[]): { records: number; bad: number; ignored: number } {
  const c = { records: 0, bad: 0, ignored: 0 };
  const sink: Sink = {
    record: () => void c.records++,
    bad: () => void c.bad++,
    ignored: () => void c.ignored++,
  };
  lines.forEach((l, i) => importer.line(l, i + 1, sink));
  importer.end(sink);
  return c;
}

const importers: Array<[string, () => LineImporter]> = [
  ['text logs', () => new TextLogImporter()],
  ['analyzer CSV', () => new AnalyzerCsvImporter('generic')],
];

describe.each(importers)('%s', (_name, make) => {
  it('never throws; one line always yields a record, a bad line or an ignored line', () => {
    fc.assert(
      fc.property(lineArb, (line) => {
        const c = runAll(make(), [line]);
        expect(c.records + c.bad + c.ignored).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 1500 },
    );
  });

  it('never throws on sequences of lines (continuations, split records)', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 30 }), (lines) => {
        const c = runAll(make(), lines);
        expect(c.records + c.bad + c.ignored).toBeGreaterThanOrEqual(lines.length > 0 ? 1 : 0);
      }),
      { numRuns: 500 },
    );
  });

  // a hang guard, not a timing assertion: catastrophic backtracking on these would run for minutes
  it('finishes long adversarial lines (no catastrophic backtracking)', { timeout: 60_000 }, () => {
    const long = [
      'DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x' + '1'.repeat(60000),
      '> '.repeat(30000),
      '[' + ' '.repeat(60000),
      'a-1 '.repeat(15000) + '[000]',
      'AMD-Vi: Event logged [IO_PAGE_FAULT ' + 'a=b '.repeat(15000),
      'x,'.repeat(30000),
      '"'.repeat(60000),
      'x'.repeat(70000),
    ];
    for (const l of long) expect(() => runAll(make(), [l, l])).not.toThrow();
    expect(() => detectFormat(long)).not.toThrow();
  });
});
