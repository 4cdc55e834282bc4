// Fault reports of the shipped laptop sample, whose faults are known by construction (the comments of
// traces/laptop-demo.trace.jsonl): clusters, hints, page walks, the JSON/CSV/HTML files, `diff` and
// `what-if`, where extending the xHCI's RMRR to the end of the e820 reservation removes exactly the
// xHCI cluster.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes';
import { diffCommand, replayReport, whatIfCommand, writeReport } from '../src/cli/report-command';
import { CLUSTER_CSV_COLUMNS } from '../src/report/csv';
import { parseReport, type Report } from '../src/report/report-model';

const TRACE = 'traces/laptop-demo.trace.jsonl';
const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-report-'));
let report: Report;

beforeAll(async () => {
  report = await replayReport(TRACE);
});

describe('the laptop sample report', () => {
  it('identifies the run and summarises it', () => {
    expect(report.format).toBe('iommu-lab/fault-report');
    expect(report.reportVersion).toBe(1);
    expect(report.run.trace).toMatchObject({ name: TRACE, bytes: readFileSync(TRACE).byteLength });
    expect(report.run.trace.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.run.platform).toMatchObject({
      name: 'traces/platforms/laptop.platform.json',
      title: 'Laptop (Tiger Lake-UP3 class)',
    });
    expect(report.run.options).toEqual({
      profile: 'vtd-spec',
      iotlb: 'hardware',
      faultIrqLatencyNs: 2000,
      edits: [],
    });
    expect(report.summary).toMatchObject({
      events: 31,
      tlps: 18,
      faults: 5,
      hazards: 1,
      clusters: 4,
      devicesWithFaults: 4,
      firmware: null,
      exitCode: EXIT.FAULTS | EXIT.HAZARDS,
      hints: { 'missing-rmrr': 1, permission: 1, 'unknown-requester': 1, 'stale-iotlb': 1 },
    });
  });

  it('has one cluster per problem the trace builds, with its hint', () => {
    expect(
      report.clusters.map((c) => [c.bdf, c.reason, c.pages.lowest, c.count, c.hint.rule, c.hint.team]),
    ).toEqual([
      // two reads past the end of the RMRR, same page: one cluster of 2 (one recorded, one compressed)
      ['0000:00:14.0', 6, '0x3e300000', 2, 'missing-rmrr', 'firmware'],
      // the write to the read-only submission queue
      ['0000:02:00.0', 5, '0xfffe0000', 1, 'permission', 'driver'],
      // the requester no device owns
      ['0000:00:15.0', 2, '0x1000', 1, 'unknown-requester', 'platform'],
      // the write 20 ms after the unmap, whose twin 100 ns after it went through the stale IOTLB
      ['0000:01:00.0', 5, '0xfff01000', 1, 'stale-iotlb', 'driver'],
    ]);
    const xhci = report.clusters[0]!;
    expect(xhci).toMatchObject({
      id: '0000:00:14.0/nopasid/0x06/0x3e300000',
      range: { start: '0x3e300000', end: '0x3e30ffff' },
      time: { first: 4100, last: 4200 },
      recording: { recorded: 1, compressed: 1 },
      classes: ['firmware-reserved-memory'],
      first: {
        index: 0,
        address: '0x3e300000',
        dmesg:
          'DMAR: [DMA Read NO_PASID] Request device [00:14.0] fault addr 0x3e300000 [fault reason 0x06] PTE Read access is not set',
      },
    });
    expect(xhci.hint.detail).toContain('e820 0x3e2e0000–0x3e35ffff');
    expect(xhci.hint.detail).toContain('its RMRRs cover 0x3e2e0000–0x3e2fffff');
    expect(xhci.hint.detail).toContain('--set rmrr.add=0x3e2e0000-0x3e35ffff@0000:00:14.0');
    expect(report.clusters[3]!.hint.detail).toContain(`${TRACE}:26 unmapped it`);
  });

  it('walks the tables at the first fault: root, context, four second-level levels, a non-present leaf', () => {
    const w = report.clusters[0]!.walk!;
    expect(w.unit).toBe('dmar1');
    expect(w.steps.map((s) => [s.structure, s.level])).toEqual([
      ['root-entry', 0],
      ['context-entry', 0],
      ['second-level-pte', 4],
      ['second-level-pte', 3],
      ['second-level-pte', 2],
      ['second-level-pte', 1],
    ]);
    expect(w.steps[5]!.raw).toBe('0x0000000000000000');
    expect(w.outcome).toEqual({ status: 'fault', reason: 6, stage: 'second-level', address: null });
    // the absent requester stops at its context entry
    expect(report.clusters[2]!.walk!.steps.map((s) => s.structure)).toEqual(['root-entry', 'context-entry']);
  });

  it('has sections per device and group', () => {
    const xhci = report.devices.find((d) => d.bdf === '0000:00:14.0')!;
    expect(xhci).toMatchObject({ group: 2, domainType: 'dma-fq', tlps: 4, faults: 2, driver: 'xhci_hcd' });
    expect(xhci.clusters).toEqual(['0000:00:14.0/nopasid/0x06/0x3e300000']);
    expect(xhci.regions[0]).toMatchObject({
      start: '0x3e2e0000',
      end: '0x3e2fffff',
      type: 'direct-relaxable',
    });
    expect(xhci.mappings.map((m) => [m.iova, m.length])).toEqual([
      ['0x3e2e0000', '0x20000'],
      ['0xffff0000', '0x10000'],
    ]);
    expect(report.groups.find((g) => g.id === 5)).toMatchObject({
      domainType: 'identity',
      owner: 'kernel',
      members: ['0000:00:1f.0', '0000:00:1f.3', '0000:00:1f.4', '0000:00:1f.5'],
    });
    expect(report.pasids).toEqual([]);
  });
});

describe('firmware findings', () => {
  it('come from the tables and logs given, with their exit bit', async () => {
    const log = join(dir, 'dmesg.txt');
    writeFileSync(
      log,
      '[    0.012345] DMAR: [Firmware Bug]: No firmware reserved region can cover this RMRR [0x000000003e2e0000-0x000000003e2fffff], contact BIOS vendor for fixes\n',
    );
    const r = await replayReport(TRACE, { firmware: [log] });
    expect(r.summary.firmware).toEqual({ error: 0, warning: 1, info: 0 });
    expect(r.summary.exitCode).toBe(EXIT.FAULTS | EXIT.HAZARDS | EXIT.FIRMWARE_WARNINGS);
    expect(r.firmware!.findings).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'kernel-firmware-bug', file: log, line: 1 }),
    ]);
  });
});

describe('report files', () => {
  it('writes JSON that validates and reads back equal', async () => {
    const file = join(dir, 'r.json');
    expect(await writeReport(report, file, () => {})).toBe(0);
    const back = parseReport(JSON.parse(readFileSync(file, 'utf8')));
    expect(back).toEqual({ ok: true, report });
  });

  it('writes CSV with one row per cluster', async () => {
    const file = join(dir, 'r.csv');
    expect(await writeReport(report, file, () => {})).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('\r\n');
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...CLUSTER_CSV_COLUMNS]);
    expect(rows.map((r) => [r.bdf, r.reason, r.count, r.hint])).toEqual([
      ['0000:00:14.0', '0x06', '2', 'missing-rmrr'],
      ['0000:02:00.0', '0x05', '1', 'permission'],
      ['0000:00:15.0', '0x02', '1', 'unknown-requester'],
      ['0000:01:00.0', '0x05', '1', 'stale-iotlb'],
    ]);
    expect(rows[0]!.recording).toBe('recorded=1;compressed=1');
  });

  it('writes HTML that loads nothing from anywhere', async () => {
    const file = join(dir, 'r.html');
    expect(await writeReport(report, file, () => {})).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=/i);
    // the only URL is the SVG namespace, which is a name, not a request
    expect([...html.matchAll(/https?:\/\/[^\s"'<]+/g)].map((m) => m[0])).toEqual(
      Array(html.split('<svg').length - 1).fill('http://www.w3.org/2000/svg'),
    );
    expect(html).toContain('Missing RMRR');
    expect(html).toContain('PTE Read access is not set');
  });

  it('refuses an unknown extension in one line, exit 64', async () => {
    const lines: string[] = [];
    expect(await writeReport(report, join(dir, 'r.docx'), (s) => lines.push(s))).toBe(EXIT.FATAL);
    expect(lines).toEqual([expect.stringMatching(/unknown format: use \.html, \.json, \.csv or \.pdf$/)]);
  });

  it('explains in one line, exit 64, that a PDF needs Chromium when it is missing', async () => {
    const lines: string[] = [];
    const code = await writeReport(report, join(dir, 'r.pdf'), (s) => lines.push(s), {
      chromium: '/nonexistent',
    });
    expect(code).toBe(EXIT.FATAL);
    expect(lines).toEqual([
      `iommu-lab: ${join(dir, 'r.pdf')}: PDF needs Chromium (/nonexistent, Debian package chromium); write .html and print it instead`,
    ]);
  });
});

describe('what-if and diff', () => {
  const run = async (set: string[]): Promise<{ code: number; text: string[] }> => {
    const text: string[] = [];
    const code = await whatIfCommand(TRACE, { set }, (s) => text.push(s));
    return { code, text };
  };

  it('extending the xHCI RMRR to the end of the e820 reservation removes exactly the xHCI cluster', async () => {
    for (const set of [['rmrr.add=0x3e2e0000-0x3e35ffff@00:14.0'], ['rmrr.0.end=0x3e35ffff']]) {
      const { code, text } = await run(set);
      expect(text[2]).toBe('new 0, fixed 1, changed 0, unchanged 3');
      expect(text.filter((l) => l.startsWith('  - '))).toEqual([
        '  - 0000:00:14.0 reason 0x06 (PTE Read access is not set) 0x3e300000–0x3e30ffff: 2 faults [Missing RMRR]',
      ]);
      // the other faults and the hazard remain
      expect(code).toBe(EXIT.FAULTS | EXIT.HAZARDS);
    }
  });

  it('an identity domain for the xHCI also removes its cluster; a too-short RMRR changes nothing', async () => {
    expect((await run(['device.00:14.0.domain=identity'])).text[2]).toBe(
      'new 0, fixed 1, changed 0, unchanged 3',
    );
    expect((await run(['rmrr.add=0x3e2e0000-0x3e2fffff@00:14.0'])).text[2]).toBe(
      'new 0, fixed 0, changed 0, unchanged 4',
    );
  });

  it('records the edits in the edited report and diffs report files', async () => {
    const edited = await replayReport(TRACE, { set: ['rmrr.add=0x3e2e0000-0x3e35ffff@00:14.0'] });
    expect(edited.run.options.edits).toEqual(['rmrr.add=0x3e2e0000-0x3e35ffff@00:14.0']);
    expect(edited.run.platform.sha256).toBe(report.run.platform.sha256);
    expect(edited.clusters.map((c) => c.bdf)).toEqual(['0000:02:00.0', '0000:00:15.0', '0000:01:00.0']);
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await writeReport(report, a, () => {});
    await writeReport(edited, b, () => {});
    const lines: string[] = [];
    expect(await diffCommand(a, b, {}, (s) => lines.push(s))).toBe(0); // fixed only
    expect(lines[2]).toBe('new 0, fixed 1, changed 0, unchanged 3');
    expect(await diffCommand(b, a, {}, () => {})).toBe(1); // the xHCI cluster is new
    const json: string[] = [];
    await diffCommand(a, b, { json: true }, (s) => json.push(s));
    expect(JSON.parse(json.join('\n'))).toMatchObject({
      format: 'iommu-lab/report-diff',
      counts: { fixed: 1 },
    });
  });

  it('applies a JSON Patch file, and refuses bad edits and non-reports', async () => {
    const patch = join(dir, 'fix.json');
    writeFileSync(
      patch,
      JSON.stringify([{ op: 'replace', path: '/reservedMemory/0/end', value: '0x3e35ffff' }]),
    );
    const text: string[] = [];
    await whatIfCommand(TRACE, { set: [], patch }, (s) => text.push(s));
    expect(text[1]).toContain(`with patch ${patch} (sha256 `);
    expect(text[2]).toBe('new 0, fixed 1, changed 0, unchanged 3');
    await expect(whatIfCommand(TRACE, { set: [] }, () => {})).rejects.toThrow(/give at least one --set/);
    await expect(whatIfCommand(TRACE, { set: ['rmrr.add=1-2@x'] }, () => {})).rejects.toThrow(/^what-if: /);
    await expect(
      whatIfCommand(TRACE, { set: ['rmrr.add=0x3e2e0000-0x3e35ffff@00:16.0'] }, () => {}),
    ).rejects.toThrow(/reservedMemory\[2\]\.scope\[0\]: 0000:00:16.0 is not a device of this platform/);
    const notReport = join(dir, 'not.json');
    writeFileSync(notReport, '{"format":"something"}');
    await expect(diffCommand(notReport, notReport, {}, () => {})).rejects.toThrow(
      /not an iommu-lab\/fault-report v1/,
    );
  });
});
