// The session: chunked input equals line input, progress, detection buffering, bounded bad-line storage.
import { describe, expect, it } from 'vitest';
import { ImportSession, importText, type ImportProgress } from './session';
import type { ImportRecord } from './types';

const LOG = [
  'kernel: [   13.134460] AMD-Vi: Event logged [',
  'kernel: [   13.137925] INVALID_DEVICE_REQUEST device=00:00.1 address=0x000000fdf8000020 flags=0x0a00]',
  '> [    0.555805] DMAR: [DMA Read NO_PASID] Request device [00:0d.2] fault',
  '> addr 0x1026a4000 [fault reason 0x51] SM: Present bit in Directory Entry is clear',
  '[ 1.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault',
  '[ 2.0] unrelated',
].join('\r\n');

describe('ImportSession', () => {
  it('gives the same records and counts whatever the chunking', () => {
    const whole = importText(LOG);
    for (const size of [1, 3, 7, 64]) {
      const recs: ImportRecord[] = [];
      const s = new ImportSession({ file: 'f', onRecord: (r) => recs.push(r) });
      for (let i = 0; i < LOG.length; i += size) s.pushText(LOG.slice(i, i + size));
      const sum = s.end();
      expect(recs).toEqual(whole.records);
      expect(sum.counts).toEqual({ ...whole.counts, bytes: LOG.length });
      expect(sum.badLines).toEqual([
        {
          file: 'f',
          line: 5,
          reason: 'DMAR fault line cut short',
          text: '[ 1.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault',
        },
      ]);
    }
    expect(whole.counts).toMatchObject({
      lines: 6,
      bad: 1,
      ignored: 1,
      records: { fault: 2 },
      faultsBySource: { intel: 1, amd: 1 },
    });
    expect(whole.kind).toBe('kernel-log');
  });

  it('reports progress by bytes consumed, and once at the end', () => {
    const seen: ImportProgress[] = [];
    const s = new ImportSession({
      file: 'f',
      kind: 'kernel-log',
      totalBytes: 100,
      progressEveryBytes: 40,
      onProgress: (p) => seen.push(p),
    });
    for (let i = 0; i < 10; i++) s.pushText('[ 1.0] x\n', 10);
    s.end();
    expect(seen.map((p) => p.bytes)).toEqual([40, 80, 100]);
    expect(seen[2]).toMatchObject({ totalBytes: 100, lines: 10, records: 0, bad: 0 });
  });

  it('keeps only the first N bad lines but counts them all', () => {
    const text = Array.from(
      { length: 50 },
      () => '[ 1.0] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault',
    ).join('\n');
    const r = importText(text, { keepBadLines: 5 });
    expect(r.counts.bad).toBe(50);
    expect(r.badLines.map((b) => b.line)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports a line without end as one bad line and resumes after its newline', () => {
    const recs: ImportRecord[] = [];
    const s = new ImportSession({ file: 'f', kind: 'kernel-log', onRecord: (r) => recs.push(r) });
    for (let i = 0; i < 40; i++) s.pushText('x'.repeat(10000));
    s.pushText('\n[ 1.0] DMAR: Host address width 39\n');
    const sum = s.end();
    expect(sum.counts.bad).toBe(1);
    expect(sum.badLines[0]?.reason).toMatch(/longer than/);
    expect(recs).toHaveLength(1);
  });
});
