// Fault-semantics profiles through `iommu-lab replay`: every result names its profile, QEMU captures
// default to qemu-7.2, and --compare-profiles lists the requests whose outcome differs. Expected codes
// from the reference §12: a cleared PASID entry is 0x59 on real VT-d, 0x58 in QEMU 7.2.
import { describe, expect, it } from 'vitest';
import { replayCommand, type ReplayOptions } from '../src/cli/replay';

async function run(trace: string, o: ReplayOptions = {}) {
  const lines: string[] = [];
  await replayCommand(trace, { json: true, ...o }, (s) => lines.push(s));
  return JSON.parse(lines.join('\n'));
}

describe('replay profiles', () => {
  const trace = 'test/fixtures/tee-io-blocked.trace.jsonl';

  it('defaults to vtd-spec for hardware traces and names it in the summary and each fault row', async () => {
    const j = await run(trace);
    expect(j.profile).toBe('vtd-spec');
    expect(j.faultRows).toEqual([
      expect.objectContaining({ reason: 0x59, profile: 'vtd-spec', stage: 'pasid-entry' }),
    ]);
  });

  it('--profile qemu-7.2 reports the collapsed 0x58', async () => {
    const j = await run(trace, { profile: 'qemu-7.2' });
    expect(j.profile).toBe('qemu-7.2');
    expect(j.faultRows[0]).toMatchObject({ reason: 0x58, profile: 'qemu-7.2' });
  });

  it('--compare-profiles lists the request that ends differently', async () => {
    const j = await run(trace, { compareProfiles: true });
    expect(j.comparison).toMatchObject({
      profiles: ['vtd-spec', 'qemu-7.2'],
      requests: 1,
      differing: 1,
      rows: [
        { bdf: '0000:16:00.0', address: '0x1000', access: 'read', outcomes: ['fault 0x59', 'fault 0x58'] },
      ],
    });
  });

  it('a trace from QEMU defaults to qemu-7.2', async () => {
    const j = await run('test/fixtures/tee-io-blocked-qemu.trace.jsonl');
    expect(j.profile).toBe('qemu-7.2');
  });
});
