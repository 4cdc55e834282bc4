// `iommu-lab replay NATIVE --progress`: the progress line (src/cli/replay.ts, progressLine). It goes to
// stderr only, so `--json` on stdout stays parseable; it prints at most once a second while the replay
// runs and once at the end with the final counts (100 % of the records, the run's faults and hazards).
// The throttle is checked on a fake clock; the end-to-end runs use a generated trace whose counts are
// known by construction, in process here and through the built launcher in test/e2e/cli-launcher.e2e.ts
// (it needs `npm run build`, which the e2e phase runs first).
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRun, LINE } from './support/progress-check';
import { EXIT } from '../src/cli/exit-codes';
import { genCommand } from '../src/cli/gen-command';
import { progressLine, replayCommand } from '../src/cli/replay';
import type { ReplayStats } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-progress-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const TLPS = 20_000;
let trace: string;

beforeAll(async () => {
  trace = join(dir, 'p.iotrace');
  const code = await genCommand(
    { seed: 7, tlps: TLPS, devices: 2, faultRate: 0.01, staleUnmaps: 4, output: trace },
    () => undefined,
  );
  expect(code).toBe(EXIT.OK);
});

const stats = (status: ReplayStats['status'], tlps: number, faults: number, hazards = 0) =>
  ({ status, tlps, faults, hazards }) as ReplayStats;

describe('progressLine', () => {
  it('prints at most once a second, then once at the end with the final counts', () => {
    let t = 0;
    const lines: string[] = [];
    const p = progressLine(
      5_000_000,
      (s) => lines.push(s),
      () => t,
    );
    p.update(stats('playing', 0, 0));
    t = 500;
    p.update(stats('playing', 400_000, 1));
    expect(lines).toEqual([]);
    t = 1000;
    p.update(stats('playing', 1_000_000, 3));
    t = 1999;
    p.update(stats('playing', 1_900_000, 3));
    t = 2000;
    p.update(stats('playing', 2_500_000, 4, 1));
    // the player's last snapshot ('done') is not a progress line: done() prints the final one
    t = 3000;
    p.update(stats('done', 5_000_000, 9, 1));
    t = 2500;
    p.done({ tlps: 5_000_000, faults: 9, hazards: 1 });
    p.done({ tlps: 5_000_000, faults: 9, hazards: 1 });
    p.update(stats('playing', 5_000_000, 9, 1));
    expect(lines).toEqual([
      'replay: 20% 1.0 M of 5.0 M TLPs, 3 faults, 0 hazards, 1.0 M TLP/s',
      'replay: 50% 2.5 M of 5.0 M TLPs, 4 faults, 1 hazards, 1.3 M TLP/s',
      'replay: 100% 5.0 M of 5.0 M TLPs, 9 faults, 1 hazards, 2.0 M TLP/s',
    ]);
    for (const l of lines) expect(l).toMatch(LINE);
  });

  it('counts exactly below a million', () => {
    const lines: string[] = [];
    progressLine(
      20_000,
      (s) => lines.push(s),
      () => 0,
    ).done({ tlps: 20_000, faults: 2, hazards: 0 });
    expect(lines).toEqual(['replay: 100% 20000 of 20000 TLPs, 2 faults, 0 hazards, 0.0 M TLP/s']);
  });
});

describe('iommu-lab replay --progress', () => {
  it('in process: the lines go to the error writer, the JSON to the output writer', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await replayCommand(
      trace,
      { json: true, progress: true },
      (s) => out.push(s),
      (s) => err.push(s),
    );
    expect(code & EXIT.FAULTS).toBe(EXIT.FAULTS);
    checkRun(out.join('\n'), err, TLPS);
  });

  it('prints nothing without --progress when stderr is not a terminal', async () => {
    const err: string[] = [];
    await replayCommand(
      trace,
      { json: true, progress: false },
      () => undefined,
      (s) => err.push(s),
    );
    expect(err).toEqual([]);
  });
});
