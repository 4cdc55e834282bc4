// `iommu-lab replay` on the shipped sample: the counts are known by construction of the trace
// (traces/laptop-demo.trace.jsonl comments say which DMA faults and why).
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes';
import { replayCommand } from '../src/cli/replay';

async function run(trace: string, platform?: string): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await replayCommand(trace, { json: true, platform }, (s) => lines.push(s));
  return { code, text: lines.join('\n') };
}

describe('iommu-lab replay', () => {
  it('replays the laptop sample: 17 DMA requests, 5 faults on the requesters the trace breaks', async () => {
    const { code, text } = await run('traces/laptop-demo.trace.jsonl');
    const j = JSON.parse(text);
    expect(j.tlps).toBe(17);
    expect(j.faults).toBe(5);
    expect(j.badLines).toBe(0);
    expect(j.rejectedControl).toBe(0);
    const faults = Object.fromEntries(
      j.devices
        .filter((d: { tlps: number }) => d.tlps > 0)
        .map((d: { bdf: string; faults: number }) => [d.bdf, d.faults]),
    );
    expect(faults).toEqual({
      '0000:00:02.0': 0, // framebuffer mapped; stolen memory unity-mapped from its RMRR
      '0000:00:14.0': 2, // two reads past the end of its RMRR, same page
      '0000:00:1f.3': 0, // identity domain
      '0000:01:00.0': 1, // write after unmap
      '0000:02:00.0': 1, // write to its read-only submission queue
    });
    // xHCI reads past its RMRR (0x3e2e0000–0x3e2fffff): reason 0x06 at the page address
    expect(j.faultRows[0]).toMatchObject({
      bdf: '0000:00:14.0',
      access: 'read',
      address: '0x3e300000',
      reason: 6,
    });
    // Wi-Fi writes the page the driver unmapped at t=6300
    expect(j.faultRows[2]).toMatchObject({
      bdf: '0000:01:00.0',
      access: 'write',
      address: '0xfff01000',
      reason: 5,
      time: 6400,
    });
    // the absent requester 00:15.0: bus 0 has a root entry, no context entry → 0x02
    expect(j.faultRows[4]).toMatchObject({ bdf: '0000:00:15.0', address: '0x1000', reason: 2 });
    expect(code).toBe(EXIT.FAULTS);
  });

  it('names the file when the platform is missing', async () => {
    await expect(run('traces/laptop-demo.trace.jsonl', 'traces/nope.json')).rejects.toThrow(
      'traces/nope.json',
    );
  });
});
