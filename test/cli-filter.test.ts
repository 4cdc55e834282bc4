// `iommu-lab replay TRACE --filter EXPR`: the listed fault and hazard rows are those matching the
// filter (docs/filter.md); the counts and the exit code stay those of the whole run. Known answers: the
// laptop sample (its comments: 00:14.0 reads past its RMRR twice, reason 0x06, the second compressed;
// one use-after-unmap hazard of 01:00.0) and a generated trace whose faults are never-mapped pages
// (0x05/0x06) or T=1 requests from a TDI not in RUN (0x101), the total announced by the generator.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes';
import { genCommand } from '../src/cli/gen-command';
import { replayCommand, type ReplayOptions } from '../src/cli/replay';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-cli-filter-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(
  trace: string,
  opts: ReplayOptions,
): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await replayCommand(
    trace,
    opts,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join('\n'), err };
}

const LAPTOP = 'traces/laptop-demo.trace.jsonl';

describe('iommu-lab replay --filter', () => {
  it('lists the matching faults of a text trace, counts unchanged', async () => {
    const { code, out } = await run(LAPTOP, { json: true, filter: 'rid == 00:14.0' });
    expect(code).toBe(EXIT.FAULTS | EXIT.HAZARDS);
    const j = JSON.parse(out);
    expect(j.faults).toBe(5);
    expect(j.filter).toEqual({ expression: 'rid == 00:14.0', faults: 2, hazards: 0 });
    expect(
      j.faultRows.map((r: { bdf: string; reason: number; recording: string }) => [
        r.bdf,
        r.reason,
        r.recording,
      ]),
    ).toEqual([
      ['0000:00:14.0', 6, 'recorded'],
      ['0000:00:14.0', 6, 'compressed'],
    ]);
    expect(j.hazardRows).toEqual([]);

    const h = JSON.parse((await run(LAPTOP, { json: true, filter: 'hazard' })).out);
    expect(h.filter).toEqual({ expression: 'hazard', faults: 0, hazards: 1 });
    expect(h.faultRows).toEqual([]);
    expect(h.hazardRows).toHaveLength(1);
    expect(h.hazardRows[0]).toMatchObject({
      kind: 'stale-iotlb',
      bdf: '0000:01:00.0',
      access: 'write',
      age: 100,
    });
    // the same hazard row as without a filter
    expect(h.hazardRows).toEqual(JSON.parse((await run(LAPTOP, { json: true })).out).hazardRows);

    const c = JSON.parse((await run(LAPTOP, { json: true, filter: 'recording == compressed' })).out);
    expect(c.filter.faults).toBe(1);
  });

  it('says what matched in the text output', async () => {
    const { out } = await run(LAPTOP, { filter: 'rid == 00:14.0' });
    expect(out).toContain('filter    rid == 00:14.0: 2 of 5 faults, 0 of 1 hazards match');
    expect(out).toContain('matching faults:');
    expect(out).not.toContain('hazards:\n');
    const lines = out.split('\n').filter((l) => l.includes('DMAR: ['));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toContain('Request device [00:14.0]');
  });

  it('refuses a bad expression before replaying, naming the column', async () => {
    const { code, out, err } = await run(LAPTOP, { json: true, filter: 'reason == 0x05 &&' });
    expect(code).toBe(EXIT.FATAL);
    expect(out).toBe('');
    expect(err).toEqual([
      'iommu-lab replay: --filter: column 18: expected a field (rid, bdf, device, pasid, reason, t, tbit, access, read, write, address, addr, time, kind, fault, hazard, stage, class, recording), "!" or "(", found the end of the filter',
    ]);
  });

  it('filters every fault of a native trace, not only the first rows', async () => {
    const path = join(dir, 'mixed.iotrace');
    let json = '';
    await genCommand(
      { seed: 9, tlps: 60_000, faultRate: 0.01, tbitMix: 0.01, output: path, json: true },
      (s) => (json += s),
    );
    const expected = JSON.parse(json).expected as { faults: number };
    const tee = JSON.parse((await run(path, { json: true, filter: 'reason == 0x101' })).out);
    const other = JSON.parse((await run(path, { json: true, filter: 'fault && reason != 0x101' })).out);
    expect(tee.faults).toBe(expected.faults);
    expect(tee.filter.faults).toBeGreaterThan(20);
    expect(tee.filter.faults + other.filter.faults).toBe(expected.faults);
    expect(tee.faultRows).toHaveLength(20); // --max-faults
    for (const r of tee.faultRows) expect(r.reason).toBe(0x101);
    for (const r of other.faultRows) expect([5, 6]).toContain(r.reason);
    // the in-thread path (--compare-profiles) gives the same rows
    const same = JSON.parse(
      (await run(path, { json: true, filter: 'reason == 0x101', compareProfiles: true, maxFaults: 5 })).out,
    );
    expect(same.filter).toEqual(tee.filter);
    expect(same.faultRows).toEqual(tee.faultRows.slice(0, 5));
  });
});
