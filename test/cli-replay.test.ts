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
  it('replays the laptop sample: 14 DMA requests, 4 faults on the devices the trace breaks', async () => {
    const { code, text } = await run('traces/laptop-demo.trace.jsonl');
    const j = JSON.parse(text);
    expect(j.tlps).toBe(14);
    expect(j.faults).toBe(4);
    expect(j.badLines).toBe(0);
    const faults = Object.fromEntries(
      j.devices.map((d: { bdf: string; faults: number }) => [d.bdf, d.faults]),
    );
    expect(faults).toEqual({
      '0000:00:02.0': 0,
      '0000:00:14.0': 2,
      '0000:00:1f.3': 0,
      '0000:02:00.0': 1,
      '0000:03:00.0': 1,
    });
    // xHCI reads its unmapped firmware buffer: reason 0x06 at the page address
    expect(j.faultRows[0]).toMatchObject({
      bdf: '0000:00:14.0',
      access: 'read',
      address: '0x3d800000',
      reason: 6,
    });
    // Wi-Fi writes the page the driver unmapped at t=6300
    expect(j.faultRows[2]).toMatchObject({
      bdf: '0000:02:00.0',
      access: 'write',
      address: '0xfff01000',
      reason: 5,
      time: 6400,
    });
    expect(code).toBe(EXIT.FAULTS);
  });

  it('names the file when the platform is missing', async () => {
    await expect(run('traces/laptop-demo.trace.jsonl', 'traces/nope.json')).rejects.toThrow(
      'traces/nope.json',
    );
  });
});
