// Checks `iommu-lab replay --json --progress` output: the progress lines (stderr) against the JSON
// summary (stdout). Shared by test/cli-progress.test.ts (in process) and test/e2e/cli-launcher.e2e.ts
// (through the built launcher).
import { expect } from 'vitest';

/** One progress line (src/cli/replay.ts progressLine). */
export const LINE =
  /^replay: (\d+)% (\d+|\d+\.\d M) of (\d+|\d+\.\d M) TLPs, (\d+) faults, (\d+) hazards, (\d+\.\d) M TLP\/s$/;

/** stdout is the JSON alone; the last stderr line is 100 % of `tlps` with the summary's counts. */
export function checkRun(stdout: string, stderrLines: string[], tlps: number): void {
  const j = JSON.parse(stdout) as { tlps: number; faults: number; hazards: number };
  expect(j.tlps).toBe(tlps);
  expect(stderrLines.length).toBeGreaterThan(0);
  for (const l of stderrLines) expect(l).toMatch(LINE);
  const last = LINE.exec(stderrLines.at(-1)!)!;
  expect([last[1], last[2], last[3], Number(last[4]), Number(last[5])]).toEqual([
    '100',
    String(tlps),
    String(tlps),
    j.faults,
    j.hazards,
  ]);
  expect(stdout).not.toMatch(/replay: \d+%/);
}
