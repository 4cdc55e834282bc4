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
  it('replays the laptop sample: 18 DMA requests, 5 faults, 1 use-after-unmap hazard', async () => {
    const { code, text } = await run('traces/laptop-demo.trace.jsonl');
    const j = JSON.parse(text);
    expect(j.tlps).toBe(18);
    expect(j.faults).toBe(5);
    expect(j.hazards).toBe(1);
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
      '0000:01:00.0': 1, // the write 20 ms after the unmap (the one 100 ns after is a hazard, not a fault)
      '0000:02:00.0': 1, // write to its read-only submission queue
    });
    // xHCI reads past its RMRR (0x3e2e0000–0x3e2fffff) into e820-reserved memory: reason 0x06 at the page;
    // the second read 100 ns later finds a record from the same source pending: compressed
    expect(j.faultRows[0]).toMatchObject({
      bdf: '0000:00:14.0',
      access: 'read',
      address: '0x3e300000',
      reason: 6,
      recording: 'recorded',
      classes: ['firmware-reserved-memory'],
    });
    expect(j.faultRows[1]).toMatchObject({ bdf: '0000:00:14.0', recording: 'compressed' });
    // the absent requester 00:15.0: bus 0 has a root entry, no context entry → 0x02
    expect(j.faultRows[3]).toMatchObject({ bdf: '0000:00:15.0', address: '0x1000', reason: 2 });
    // Wi-Fi: DMA-FQ leaves the IOTLB entry of the unmapped page (t=6300) until the 10 ms flush:
    // the write at 6400 lands through it, the one at 20 ms faults with 0x05
    expect(j.hazardRows).toEqual([
      expect.objectContaining({
        bdf: '0000:01:00.0',
        address: '0xfff01000',
        access: 'write',
        unmapTime: 6300,
        age: 100,
      }),
    ]);
    expect(j.faultRows[4]).toMatchObject({
      bdf: '0000:01:00.0',
      address: '0xfff01000',
      reason: 5,
      time: 20_000_000,
    });
    expect(code).toBe(EXIT.FAULTS | EXIT.HAZARDS);
  });

  it('names the file when the platform is missing', async () => {
    await expect(run('traces/laptop-demo.trace.jsonl', 'traces/nope.json')).rejects.toThrow(
      'traces/nope.json',
    );
  });
});
