// Analyzer CSV: the generic preset on a hand-made export (test/fixtures/import/generic-analyzer.csv).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ANALYZER_PRESETS, mapHeader } from './analyzer-csv';
import { importText } from './session';

const fixture = readFileSync(
  new URL('../../../test/fixtures/import/generic-analyzer.csv', import.meta.url),
  'utf8',
);

describe('analyzer CSV', () => {
  it('maps header names to fields after normalising them', () => {
    const m = mapHeader(
      ['Time (ns)', 'Requester ID', 'TLP Type', 'Address', 'Length'],
      ANALYZER_PRESETS.generic!,
    );
    expect(m?.map((x) => [x.field, x.index, x.unit ?? null])).toEqual([
      ['time', 0, 'ns'],
      ['requesterId', 1, null],
      ['type', 2, null],
      ['address', 3, null],
      ['length', 4, 'bytes'],
    ]);
    expect(mapHeader(['time', 'address'], ANALYZER_PRESETS.generic!)).toBeNull();
  });

  it('reads TLPs, skips the preamble, reports a bad row with its column and line, rejoins a quoted newline', () => {
    const r = importText(fixture, { kind: 'analyzer-csv', file: 'generic-analyzer.csv' });
    expect(r.records).toHaveLength(4);
    expect(r.records[0]).toMatchObject({
      type: 'tlp',
      origin: 'analyzer',
      requesterId: 0x200,
      bdf: '0000:02:00.0',
      access: 'write',
      tlpType: 'MWr',
      address: '0x1fee00000',
      length: 64,
      pasid: null,
      tbit: false,
      at: 0,
      time: 1e-6,
      clock: 'capture',
      timeRaw: '1000',
      line: 3,
      detail: { preset: 'generic', tag: '3', direction: 'Upstream' },
    });
    expect(r.records[1]).toMatchObject({ access: 'read', pasid: 5, tbit: true, at: 0, length: 4096 });
    expect(r.records[2]).toMatchObject({ access: 'completion', requesterId: 0x0a00, address: null });
    expect(r.records[3]).toMatchObject({ bdf: '0000:03:00.0', address: '0x2000', line: 7 });
    expect(r.badLines).toEqual([
      {
        file: 'generic-analyzer.csv',
        line: 6,
        reason: 'column "requester_id": not a requester id: "zz:00.0"',
        text: '1750,zz:00.0,MRd,0x1000,4,,,,5,Upstream',
      },
    ]);
    expect(r.detection.kind).toBe('analyzer-csv');
  });

  it('is detected from its header and reports a file with no usable header', () => {
    expect(importText(fixture).detection).toMatchObject({ kind: 'analyzer-csv', preset: 'generic' });
    const r = importText('a,b,c\n1,2,3\n', { kind: 'analyzer-csv', file: 'x.csv' });
    expect(r.badLines[0]?.reason).toMatch(/no header row/);
  });
});
