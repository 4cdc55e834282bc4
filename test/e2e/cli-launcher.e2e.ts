// The built launcher (bin/iommu-lab.js → out/cli): `iommu-lab replay NATIVE --json --progress` keeps stdout
// for the JSON alone and writes the progress lines to stderr. Here, not in test/cli-progress.test.ts,
// because it needs `npm run build`, which the e2e phase runs first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes';
import { genCommand } from '../../src/cli/gen-command';
import { checkRun } from '../support/progress-check';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-launcher-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the built launcher', () => {
  it('replay --json --progress: stdout is the JSON alone, the progress is on stderr', async () => {
    const tlps = 20_000;
    const trace = join(dir, 'p.iotrace');
    const args = { seed: 7, tlps, devices: 2, faultRate: 0.01, staleUnmaps: 4, output: trace };
    expect(await genCommand(args, () => undefined)).toBe(EXIT.OK);
    const r = spawnSync(process.execPath, ['bin/iommu-lab.js', 'replay', trace, '--json', '--progress'], {
      encoding: 'utf8',
    });
    expect(r.status! & EXIT.FAULTS).toBe(EXIT.FAULTS);
    checkRun(r.stdout, r.stderr.split('\n').filter(Boolean), tlps);
  });
});
