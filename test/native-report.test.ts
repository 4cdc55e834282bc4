// Fault reports of native traces (`iommu-lab replay X.iotrace --report …`, docs/report.md). Known
// answers: a generated trace's late writes after stale unmaps fault on pages fixed by construction
// (STALE_BASE + j pages, docs/trace-format.md "Generated traces"), and a text trace converted to a native
// one must give the same clusters, walks and hints. Each JSON report is validated against
// docs/report.schema.json itself (read from the file, through zod's JSON Schema reader).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EXIT } from '../src/cli/exit-codes';
import { genCommand } from '../src/cli/gen-command';
import { importCommand } from '../src/cli/import-command';
import { replayReport } from '../src/cli/report-command';
import { replayCommand, type ReplayOptions } from '../src/cli/replay';
import type { Report } from '../src/report/report-model';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-native-report-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A JSON value with control events' origins (text: "file:line", native: "file chunk N event M") blanked. */
const origins = (v: unknown): unknown =>
  JSON.parse(
    JSON.stringify(v).replace(
      /(?:[^" ]*laptop-demo\.trace\.jsonl:\d+|laptop\.iotrace chunk \d+ event \d+)/g,
      '<origin>',
    ),
  );

const schema = z.fromJSONSchema(JSON.parse(readFileSync('docs/report.schema.json', 'utf8')));

/** `iommu-lab replay TRACE --report OUT.json`: exit code, the report read back, stdout and stderr. */
async function replayWithReport(trace: string, name: string, o: ReplayOptions = {}) {
  const report = join(dir, name);
  const out: string[] = [];
  const err: string[] = [];
  const code = await replayCommand(
    trace,
    { report, ...o },
    (s) => out.push(s),
    (s) => err.push(s),
  );
  const json: unknown = JSON.parse(readFileSync(report, 'utf8'));
  const valid = schema.safeParse(json);
  expect(valid.success, valid.success ? '' : JSON.stringify(valid.error.issues[0])).toBe(true);
  return { code, report: json as Report, out, err };
}

describe('a native trace with faults known by construction', () => {
  // One device, 600 use-after-unmap sequences, no other faults (--fault-rate 0). Sequence j maps the
  // fresh page 0x40_0000_0000 + j pages, writes it, unmaps it and writes it again. With the hardware
  // IOTLB the late write hits the stale entry (a hazard) unless the unmap was the 256th pending in the
  // DMA-FQ flush queue, which flushes it at once: j = 255 and j = 511 fault, write to a page with no
  // entry (reason 0x05 in legacy mode), in windows 0x40000f0000 and 0x40001f0000, far apart: two
  // clusters. With strict invalidation every late write faults, on 600 consecutive pages within 100 ms:
  // one cluster of 600.
  let trace: string;

  it('writes the trace', async () => {
    trace = join(dir, 'fq.iotrace');
    const code = await genCommand(
      { seed: 4, tlps: 10_000, devices: 1, staleUnmaps: 600, faultRate: 0, output: trace },
      () => undefined,
    );
    expect(code).toBe(EXIT.OK);
  });

  it('hardware IOTLB: two single-fault clusters on the flushed pages, each with its walk', async () => {
    const { code, report } = await replayWithReport(trace, 'fq.json');
    expect(code).toBe(EXIT.FAULTS | EXIT.HAZARDS);
    expect(report.summary).toMatchObject({
      tlps: 10_000,
      faults: 2,
      hazards: 598,
      clusters: 2,
      devicesWithFaults: 1,
      badLines: 0,
      hints: { 'not-mapped': 2 },
    });
    expect(report.hazards).toHaveLength(598);
    const bdf = report.devices[0]!.bdf;
    expect(report.devices).toHaveLength(1);
    expect(
      report.clusters.map((c) => [c.bdf, c.pasid, c.reason, c.access, c.count, c.pages.lowest, c.range]),
    ).toEqual([
      [bdf, null, 5, 'write', 1, '0x40000ff000', { start: '0x40000f0000', end: '0x40000fffff' }],
      [bdf, null, 5, 'write', 1, '0x40001ff000', { start: '0x40001f0000', end: '0x40001fffff' }],
    ]);
    for (const c of report.clusters) {
      expect(c.walk?.outcome).toMatchObject({ status: 'fault', reason: 5 });
      expect(c.hint.rule).toBe('not-mapped');
    }
    expect(report.devices[0]!.clusters).toEqual(report.clusters.map((c) => c.id));
    // the validator is no rubber stamp
    expect(schema.safeParse({ ...report, summary: { ...report.summary, faults: -1 } }).success).toBe(false);
    expect(report.run.trace).toMatchObject({ name: trace, bytes: readFileSync(trace).byteLength });
    expect(report.run.platform.name).toBe(`${trace} (embedded platform)`);
  });

  it('strict IOTLB: every late write faults, one cluster of 600 pages', async () => {
    const { code, report } = await replayWithReport(trace, 'fq-strict.json', { iotlb: 'strict' });
    expect(code).toBe(EXIT.FAULTS);
    expect(report.summary).toMatchObject({ faults: 600, hazards: 0, clusters: 1 });
    const [c] = report.clusters;
    expect(c).toMatchObject({
      reason: 5,
      access: 'write',
      count: 600,
      pages: { lowest: '0x4000000000', highest: '0x4000257000', distinct: 600 },
      range: { start: '0x4000000000', end: '0x400025ffff' },
      recording: expect.any(Object),
    });
    // every fault is counted in its cluster's recording outcomes, though the run keeps one Fault per cluster
    expect(Object.values(c!.recording).reduce((a, b) => a + b, 0)).toBe(600);
    expect(report.summary.recording).toEqual(c!.recording);
  });
});

describe('a text trace and its native conversion', () => {
  it('give the same report clusters, walks and hints', async () => {
    const native = join(dir, 'laptop.iotrace');
    expect(await importCommand('traces/laptop-demo.trace.jsonl', { output: native }, () => undefined)).toBe(
      EXIT.OK,
    );
    const t = await replayWithReport('traces/laptop-demo.trace.jsonl', 'laptop-text.json');
    const n = await replayWithReport(native, 'laptop-native.json');
    expect(n.code).toBe(t.code);
    expect(t.report.clusters.map((c) => [c.bdf, c.reason, c.count, c.hint.rule])).toEqual([
      ['0000:00:14.0', 6, 2, 'missing-rmrr'],
      ['0000:02:00.0', 5, 1, 'permission'],
      ['0000:00:15.0', expect.any(Number), 1, 'unknown-requester'],
      ['0000:01:00.0', 5, 1, 'stale-iotlb'],
    ]);
    // the same clusters and the same model state at the end: only where events came from differs
    // (hints and hazards name the unmap: "…trace.jsonl:26" against "laptop.iotrace chunk 0 event 9")
    expect(origins(n.report.clusters)).toEqual(origins(t.report.clusters));
    expect(n.report.clusters.map((c) => c.hint.detail).join()).toMatch(/laptop\.iotrace chunk 0 event 9/);
    expect(origins({ ...n.report, run: null })).toEqual(origins({ ...t.report, run: null }));
    expect(n.report.run.options).toEqual(t.report.run.options);
  });

  it('what-if edits apply to a native trace as to a text one', async () => {
    const native = join(dir, 'laptop.iotrace');
    const set = ['rmrr.add=0x3e2e0000-0x3e35ffff@00:14.0'];
    const platform = 'traces/platforms/laptop.platform.json';
    const t = await replayReport('traces/laptop-demo.trace.jsonl', { set });
    const n = await replayReport(native, { set, platform });
    expect(origins(n.clusters)).toEqual(origins(t.clusters));
    expect(n.clusters.map((c) => c.bdf)).not.toContain('0000:00:14.0');
    expect(n.run.options.edits).toEqual(t.run.options.edits);
    expect(n.run.platform).toEqual(t.run.platform);
  });
});

describe('a damaged native trace', () => {
  it('lists the damaged part by file offset in the report, which stays valid', async () => {
    const native = join(dir, 'laptop.iotrace');
    const bytes = readFileSync(native);
    // one byte of the first (only) chunk's payload: its CRC fails and the chunk is skipped
    const damaged = join(dir, 'damaged.iotrace');
    const at = bytes.indexOf(Buffer.from([0x89, 0x43, 0x48, 0x4b])) + 40 + 5;
    bytes[at]! ^= 0xff;
    writeFileSync(damaged, bytes);
    const { code, report } = await replayWithReport(damaged, 'damaged.json', {
      platform: 'traces/platforms/laptop.platform.json',
    });
    expect(code & EXIT.ERRORS).toBe(EXIT.ERRORS);
    expect(report.summary).toMatchObject({ tlps: 0, faults: 0, clusters: 0, badLines: 1 });
    expect(report.errors).toEqual([
      { file: damaged, offset: expect.any(Number), length: expect.any(Number), message: expect.any(String) },
    ]);
  });
});
