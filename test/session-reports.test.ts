// Fault reports through the session (the app's API, src/host/session-reports.ts), on the shipped laptop
// sample whose faults are known by construction (traces/laptop-demo.trace.jsonl; docs/report.md): 5
// faults in 4 clusters, one of them the xHCI's two reads at 0x3e300000, past the end of its RMRR
// (0x3e2fffff) but inside the e820 reservation (to 0x3e35ffff). Adding the missing RMRR removes exactly
// that cluster: new 0, fixed 1, changed 0, unchanged 3, and 3 faults in 3 clusters remain, with the
// hazard. The current run's report is the CLI's report of the same files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes';
import { importCommand } from '../src/cli/import-command';
import { replayReport, writeReport } from '../src/cli/report-command';
import { reportHtml } from '../src/report/html';
import { Session } from '../src/host/session';
import type { Report } from '../src/report/report-model';
import { ApiError, parseCall } from '../src/shared/api';

const TRACE = 'traces/laptop-demo.trace.jsonl';
const PLATFORM = 'traces/platforms/laptop.platform.json';
const ADD_RMRR = 'rmrr.add=0x3e2e0000-0x3e35ffff@00:14.0';
const XHCI = {
  id: '0000:00:14.0/nopasid/0x06/0x3e300000',
  bdf: '0000:00:14.0',
  pasid: null,
  reason: 6,
  reasonText: 'PTE Read access is not set',
  range: { start: '0x3e300000', end: '0x3e30ffff' },
  count: 2,
  hint: 'missing-rmrr',
  hintTitle: 'Missing RMRR',
};

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-reports-'));
let cliReport: Report;
const sessions: Session[] = [];

beforeAll(async () => {
  cliReport = await replayReport(TRACE);
});
afterEach(() => {
  for (const s of sessions.splice(0)) s.dispose();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function session(pdf?: (html: string) => Promise<Uint8Array>): Session {
  const s = new Session('web', () => undefined, { pdf });
  sessions.push(s);
  return s;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** What a call (sync or async) throws; it must be an ApiError. */
async function refusal(call: () => unknown): Promise<ApiError> {
  const e = await Promise.resolve()
    .then(call)
    .then(
      () => null,
      (x: unknown) => x,
    );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

describe('the current run', () => {
  it('is reported as the CLI reports the same files, whatever time the player shows', async () => {
    const s = session();
    await s.openPath(TRACE);
    // the player has not moved: the report still covers the whole trace
    const html = await s.handlers.exportReport({ format: 'html' });
    expect(html).toMatchObject({ name: 'iommu-lab-report.html', mime: 'text/html' });
    const page = text(html.bytes);
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'`);
    expect(page).not.toMatch(/<script|\ssrc=|href="https?:/i);
    expect(page).toContain('IOMMU fault report: Laptop (Tiger Lake-UP3 class)');
    expect(page).toContain(cliReport.run.trace.sha256);
    expect(page).toBe(reportHtml(cliReport));

    // 'current' against the CLI's report file: nothing differs
    const file = join(dir, 'cli.json');
    expect(await writeReport(cliReport, file, () => {})).toBe(0);
    const d = await s.handlers.reportDiff({ a: 'current', b: { path: file } });
    expect(d.counts).toEqual({ new: 0, fixed: 0, changed: 0, unchanged: 4 });
    expect(d.a).toEqual(d.b);
    expect(d.a).toMatchObject({ trace: TRACE, platform: PLATFORM, faults: 5, hazards: 1, clusters: 4 });
  });

  it('exports JSON and CSV with the bytes `replay --report x.json|x.csv` writes', async () => {
    const s = session();
    await s.openPath(TRACE);
    const json = join(dir, 'cli-report.json');
    const csv = join(dir, 'cli-report.csv');
    expect(await writeReport(cliReport, json, () => {})).toBe(0);
    expect(await writeReport(cliReport, csv, () => {})).toBe(0);
    const j = await s.handlers.exportReport({ format: 'json' });
    expect(j).toMatchObject({ name: 'iommu-lab-report.json', mime: 'application/json' });
    expect(text(j.bytes)).toBe(readFileSync(json, 'utf8'));
    expect(JSON.parse(text(j.bytes))).toMatchObject({ format: 'iommu-lab/fault-report', reportVersion: 1 });
    const c = await s.handlers.exportReport({ format: 'csv' });
    expect(c).toMatchObject({ name: 'iommu-lab-report.csv', mime: 'text/csv' });
    expect(text(c.bytes)).toBe(readFileSync(csv, 'utf8'));
    // one row per cluster (4) after the header, the xHCI's first
    const lines = text(c.bytes).split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(1 + 4);
    expect(lines[1]).toMatch(new RegExp(`^${XHCI.id},${XHCI.bdf},`));
  });

  it('exports the fault table’s rows matching a filter, at the time shown', async () => {
    const s = session();
    await s.openPath(TRACE);
    const none = await s.handlers.exportReport({ format: 'fault-rows-csv' });
    expect(none).toMatchObject({ name: 'iommu-lab-fault-rows.csv', mime: 'text/csv' });
    expect(text(none.bytes).split('\r\n')).toEqual([expect.stringMatching(/^row,kind,index,time_ns,/), '']);
    await s.handlers.replayControl({ action: 'seek', time: Number.MAX_SAFE_INTEGER });
    // all 5 faults and the hazard; then the xHCI's two reads
    const all = text((await s.handlers.exportReport({ format: 'fault-rows-csv' })).bytes).split('\r\n');
    expect(all.filter(Boolean)).toHaveLength(1 + 6);
    expect(all.filter((l) => /^\d+,hazard,0,/.test(l))).toHaveLength(1);
    const xhci = await s.handlers.exportReport({
      format: 'fault-rows-csv',
      filter: 'rid == 00:14.0 && fault',
    });
    const rows = text(xhci.bytes).split('\r\n').filter(Boolean).slice(1);
    expect(rows.map((l) => l.split(',').slice(1, 9).join(','))).toEqual([
      'fault,0,4100,0000:00:14.0,,read,0x3e300000,0x06',
      'fault,1,4200,0000:00:14.0,,read,0x3e300000,0x06',
    ]);
    const bad = await refusal(() => s.handlers.exportReport({ format: 'fault-rows-csv', filter: 'rid ==' }));
    expect(bad.code).toBe('EINVAL');
    expect(bad.message).toMatch(/^exportReport: filter: /);
    expect(() => parseCall('exportReport', { format: 'json', filter: 'hazard' })).toThrow(
      'exportReport: invalid params at filter: a filter applies to fault-rows-csv only',
    );
  });

  it('is the same when the files were sent as bytes', async () => {
    const s = session();
    await s.handlers.openFile({ name: 'laptop.platform.json', bytes: readFileSync(PLATFORM) });
    await s.handlers.openFile({ name: 'laptop-demo.trace.jsonl', bytes: readFileSync(TRACE) });
    const d = await s.handlers.reportDiff({
      a: 'current',
      b: { name: 'cli.json', bytes: new TextEncoder().encode(JSON.stringify(cliReport)) },
    });
    expect(d.counts).toEqual({ new: 0, fixed: 0, changed: 0, unchanged: 4 });
    expect(d.a).toMatchObject({
      trace: 'laptop-demo.trace.jsonl',
      platform: 'laptop.platform.json',
      traceSha256: cliReport.run.trace.sha256,
      platformSha256: cliReport.run.platform.sha256,
    });
  });

  it('prints to PDF through the host’s PdfMaker, laid out for print; without one, ENOSYS', async () => {
    const seen: string[] = [];
    const s = session(async (html) => {
      seen.push(html);
      return new TextEncoder().encode('%PDF-1.7');
    });
    await s.openPath(TRACE);
    const pdf = await s.handlers.exportReport({ format: 'pdf' });
    expect(pdf).toMatchObject({ name: 'iommu-lab-report.pdf', mime: 'application/pdf' });
    expect(text(pdf.bytes)).toBe('%PDF-1.7');
    expect(seen).toHaveLength(1);
    const html = text((await s.handlers.exportReport({ format: 'html' })).bytes);
    expect(seen[0]).not.toBe(html); // the print layout (narrower charts)
    expect(seen[0]).toContain('IOMMU fault report: Laptop (Tiger Lake-UP3 class)');

    const bare = session();
    await bare.openPath(TRACE);
    const e = await refusal(() => bare.handlers.exportReport({ format: 'pdf' }));
    expect(e.code).toBe('ENOSYS');
    expect(e.message).toMatch(/^PDF export needs Electron or Chromium.*export HTML and print it instead$/);
  });

  it('needs a trace', async () => {
    const s = session();
    await s.openPath(PLATFORM);
    const e = await refusal(() => s.handlers.exportReport({ format: 'html' }));
    expect(e).toMatchObject({ code: 'ENOENT', message: 'no trace loaded: open a trace to report on' });
  });
});

describe('what-if', () => {
  it('adding the missing xHCI RMRR fixes exactly its cluster', async () => {
    const s = session();
    await s.openPath(TRACE);
    for (const set of [[ADD_RMRR], ['rmrr.0.end=0x3e35ffff'], ['device.00:14.0.domain=identity']]) {
      const w = await s.handlers.whatIf({ set });
      expect(w.edits).toEqual(set);
      expect(w.diff.counts).toEqual({ new: 0, fixed: 1, changed: 0, unchanged: 3 });
      expect(w.diff.fixed).toEqual([{ ...XHCI, deviceName: expect.any(String) }]);
      expect(w.diff.new).toEqual([]);
      expect(w.original).toMatchObject({ faults: 5, clusters: 4, hazards: 1, edits: [] });
      expect(w.edited).toMatchObject({
        faults: 3,
        clusters: 3,
        hazards: 1,
        exitCode: EXIT.FAULTS | EXIT.HAZARDS,
        edits: set,
      });
      expect(w.edited.hints['missing-rmrr']).toBeUndefined();
    }
    // an RMRR that stops where the firmware's does changes nothing
    const short = await s.handlers.whatIf({ set: ['rmrr.add=0x3e2e0000-0x3e2fffff@00:14.0'] });
    expect(short.diff.counts).toEqual({ new: 0, fixed: 0, changed: 0, unchanged: 4 });
  });

  it('applies a JSON Patch file before the edits', async () => {
    const s = session();
    await s.openPath(TRACE);
    const ops = [{ op: 'replace', path: '/reservedMemory/0/end', value: '0x3e35ffff' }];
    const w = await s.handlers.whatIf({
      set: [],
      patch: { name: 'fix.json', bytes: new TextEncoder().encode(JSON.stringify(ops)) },
    });
    expect(w.edits).toEqual([expect.stringMatching(/^patch fix\.json \(sha256 [0-9a-f]{16}\)$/)]);
    expect(w.diff.counts).toEqual({ new: 0, fixed: 1, changed: 0, unchanged: 3 });
  });

  it('refuses a bad edit with EINVAL naming it', async () => {
    const s = session();
    await s.openPath(TRACE);
    const bad = await refusal(() => s.handlers.whatIf({ set: [ADD_RMRR, 'rmrr.add=0x1000@00:14.0'] }));
    expect(bad).toMatchObject({
      code: 'EINVAL',
      message: 'what-if: --set rmrr.add=0x1000@00:14.0: expected rmrr.add=BASE-END@BDF[,BDF…]',
    });
    const unknown = await refusal(() => s.handlers.whatIf({ set: ['iommu.strict=1'] }));
    expect(unknown.message).toMatch(/^what-if: --set iommu\.strict=1: unknown key "iommu\.strict"/);
    // a device the platform does not have: the edited description does not load
    const absent = await refusal(() =>
      s.handlers.whatIf({ set: ['rmrr.add=0x3e2e0000-0x3e35ffff@00:16.0'] }),
    );
    expect(absent.code).toBe('EINVAL');
    expect(absent.message).toMatch(
      /reservedMemory\[2\]\.scope\[0\]: 0000:00:16\.0 is not a device of this platform/,
    );
    const patch = await refusal(() =>
      s.handlers.whatIf({ set: [], patch: { name: 'p.json', bytes: new TextEncoder().encode('[{') } }),
    );
    expect(patch).toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/^p\.json: not JSON: /) });
    // no edit at all: the params are refused before the session sees them
    expect(() => parseCall('whatIf', { set: [] })).toThrow(
      'whatIf: invalid params at set: give at least one edit (KEY=VALUE) or a JSON Patch',
    );
    expect(() => parseCall('whatIf', { set: ['  '] })).toThrow(/at set\.0: an empty edit/);
  });

  it('works on a native trace as on its text form', async () => {
    const native = join(dir, 'laptop.iotrace');
    expect(await importCommand(TRACE, { output: native }, () => undefined)).toBe(EXIT.OK);
    const s = session();
    await s.openPath(native);
    const w = await s.handlers.whatIf({ set: [ADD_RMRR] });
    expect(w.diff.counts).toEqual({ new: 0, fixed: 1, changed: 0, unchanged: 3 });
    expect(w.diff.fixed).toEqual([{ ...XHCI, deviceName: expect.any(String) }]);
    expect(w.diff.a.platform).toBe(`${native} (embedded platform)`);
    // its JSON export is the CLI's report of the native file, byte for byte
    const cli = join(dir, 'native-cli.json');
    expect(await writeReport(await replayReport(native), cli, () => {})).toBe(0);
    expect(text((await s.handlers.exportReport({ format: 'json' })).bytes)).toBe(readFileSync(cli, 'utf8'));
  }, 30_000);
});

describe('comparing report files', () => {
  it('counts new, fixed and changed clusters as `iommu-lab diff` does, either way round', async () => {
    const edited = await replayReport(TRACE, { set: [ADD_RMRR] });
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await writeReport(cliReport, a, () => {});
    await writeReport(edited, b, () => {});
    const s = session(); // no files needed to compare two report files
    const ab = await s.handlers.reportDiff({ a: { path: a }, b: { path: b } });
    expect(ab.format).toBe('iommu-lab/report-diff');
    expect(ab.counts).toEqual({ new: 0, fixed: 1, changed: 0, unchanged: 3 });
    expect(ab.b.edits).toEqual([ADD_RMRR]);
    const ba = await s.handlers.reportDiff({ a: { path: b }, b: { path: a } });
    expect(ba.counts).toEqual({ new: 1, fixed: 0, changed: 0, unchanged: 3 });
    expect(ba.new.map((c) => c.id)).toEqual([XHCI.id]);

    // one more fault in the xHCI's cluster: changed, with what changed
    const more = JSON.parse(readFileSync(a, 'utf8')) as Report;
    more.clusters[0]!.count = 3;
    const c = join(dir, 'c.json');
    writeFileSync(c, JSON.stringify(more));
    const ac = await s.handlers.reportDiff({ a: { path: a }, b: { path: c } });
    expect(ac.counts).toEqual({ new: 0, fixed: 0, changed: 1, unchanged: 3 });
    expect(ac.changed[0]).toMatchObject({ a: { count: 2 }, b: { count: 3 }, changes: ['count 2 → 3'] });
  });

  it('refuses what is not a report, and files that are not there', async () => {
    const s = session();
    const notReport = await refusal(() =>
      s.handlers.reportDiff({
        a: { name: 'x.json', bytes: new TextEncoder().encode('{"format":"something"}') },
        b: { name: 'y.json', bytes: new TextEncoder().encode('{}') },
      }),
    );
    expect(notReport.code).toBe('EINVAL');
    expect(notReport.message).toMatch(/^x\.json: not an iommu-lab\/fault-report v1: /);
    const missing = await refusal(() =>
      s.handlers.reportDiff({ a: { path: join(dir, 'none.json') }, b: { path: join(dir, 'none.json') } }),
    );
    expect(missing.code).toBe('ENOENT');
    const noRun = await refusal(() =>
      s.handlers.reportDiff({ a: 'current', b: { path: join(dir, 'a.json') } }),
    );
    expect(noRun.code).toBe('ENOENT');
  });
});
