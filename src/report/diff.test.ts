// diffReports on a report and edited copies of it: matching by requester, PASID, reason and range.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPlatform } from '../engine/platform/index';
import { parseTraceJsonl } from '../trace/trace-jsonl';
import { diffReports, diffText } from './diff';
import { runReport, type Report } from './report-model';

function laptopReport(): Report {
  const text = readFileSync('traces/laptop-demo.trace.jsonl', 'utf8');
  const p = loadPlatform(JSON.parse(readFileSync('traces/platforms/laptop.platform.json', 'utf8')));
  if (!p.ok) throw new Error('platform');
  const t = parseTraceJsonl(text, 'laptop-demo.trace.jsonl');
  return runReport(p.value, t.events, {
    traceBytes: new TextEncoder().encode(text),
    platformBytes: new Uint8Array(),
    traceName: 'laptop-demo.trace.jsonl',
    platformName: 'laptop.platform.json',
    options: {},
    labVersion: 'test',
  }).report;
}

const copy = (r: Report): Report => JSON.parse(JSON.stringify(r)) as Report;

describe('diffReports', () => {
  const a = laptopReport();

  it('finds nothing between a report and itself', () => {
    const d = diffReports(a, copy(a));
    expect(d.counts).toEqual({ new: 0, fixed: 0, changed: 0, unchanged: 4 });
  });

  it('reports fixed, new and changed clusters with what changed', () => {
    const b = copy(a);
    const xhci = b.clusters.shift()!; // the xHCI cluster is gone in B
    b.clusters[0]!.count = 3; // the NVMe cluster has more faults
    b.clusters[0]!.hint.rule = 'not-mapped';
    // a cluster of the same device and reason but far away is new, not a match
    b.clusters.push({ ...xhci, id: 'far', range: { start: '0x50000000', end: '0x5000ffff' } });
    const d = diffReports(a, b);
    expect(d.counts).toEqual({ new: 1, fixed: 1, changed: 1, unchanged: 2 });
    expect(d.fixed[0]).toMatchObject({ bdf: '0000:00:14.0', reason: 6, count: 2, hint: 'missing-rmrr' });
    expect(d.new[0]!.id).toBe('far');
    expect(d.changed[0]!.changes).toEqual(['count 1 → 3', 'hint permission → not-mapped']);
    const text = diffText(d, ['a.json', 'b.json']);
    expect(text[2]).toBe('new 1, fixed 1, changed 1, unchanged 2');
    expect(text).toContain(
      '  - 0000:00:14.0 reason 0x06 (PTE Read access is not set) 0x3e300000–0x3e30ffff: 2 faults [Missing RMRR]',
    );
  });
});
