// The timeline call on a generated native trace: its TLP density (from the footer's chunk index)
// sums to the trace's records before anything is played; after playing to the end the fault density
// sums to the faults counted and the markers are the control events. The live counters come with the
// stats. A text trace (the laptop sample) answers the same call from its events.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { genCommand } from '../src/cli/gen-command';
import { Session } from '../src/host/session';
import { parseCall, type EventName, type EventPayloads, type ReplayStats } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-timeline-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const sum = (a: Float64Array): number => a.reduce((x, y) => x + y, 0);

function session() {
  const stats: ReplayStats[] = [];
  const s = new Session('web', <E extends EventName>(event: E, payload: EventPayloads[E]) => {
    if (event === 'stats') stats.push(payload as ReplayStats);
  });
  return { s, stats };
}

describe('the timeline of a native trace', () => {
  it('has the TLPs from the index, and the faults and control events once played', async () => {
    const path = join(dir, 'timeline.iotrace');
    await genCommand(
      { seed: 5, tlps: 100_000, faultRate: 0.01, staleUnmaps: 3, controlEvents: 40, output: path },
      () => undefined,
    );
    const { s, stats } = session();
    try {
      await s.openPath(path);
      const before = await s.handlers.timeline({ buckets: 64 });
      expect(before.tlps).toHaveLength(64);
      expect(sum(before.tlps)).toBe(100_000);
      expect(sum(before.faults)).toBe(0);
      expect(before.markers).toEqual([]);
      const first = await s.handlers.replayStats({});
      expect(before.end).toBe(first.endTime);
      expect(before.start).toBeLessThan(before.end);

      await s.handlers.replayControl({ action: 'play' });
      await expect.poll(() => stats.at(-1)?.status, { timeout: 30_000 }).toBe('done');
      const last = await s.handlers.replayStats({});
      expect(last.faults).toBeGreaterThan(0);
      expect(last.progress).toBe(1);
      expect(last.ringFill).toBe(0);
      expect(stats.some((x) => x.status === 'playing' && x.ringFill! > 0 && x.tlpsPerSecond! > 0)).toBe(true);

      const after = await s.handlers.timeline({ buckets: 64 });
      expect(sum(after.tlps)).toBe(100_000);
      expect(sum(after.faults)).toBe(last.faults);
      // every control event is a marker: 40 extra map/unmaps, 3 stale unmaps, and the setup before them
      const controls = last.eventsTotal - 100_000;
      expect(after.markers.length + after.moreMarkers).toBe(controls);
      expect(after.markers.length).toBe(controls);
      for (const m of after.markers) {
        expect(m.time).toBeGreaterThanOrEqual(0);
        expect(m.time).toBeLessThanOrEqual(after.end);
        expect(m.label.startsWith(m.kind)).toBe(true);
      }
      const capped = await s.handlers.timeline({ buckets: 8, maxMarkers: 5 });
      expect(capped.markers).toHaveLength(5);
      expect(capped.moreMarkers).toBe(controls - 5);
      expect(sum(capped.faults)).toBe(last.faults);

      // back to the middle: the faults so far, in the buckets up to the current time
      const mid = await s.handlers.replayControl({ action: 'seek', time: (after.start + after.end) / 2 });
      const half = await s.handlers.timeline({ buckets: 64 });
      expect(sum(half.faults)).toBe(mid.faults);
      expect(sum(half.faults.subarray(33))).toBe(0);
      expect(sum(half.tlps)).toBe(100_000);
    } finally {
      s.dispose();
    }
  }, 60_000);

  it('answers for a text trace from its events, and refuses bad params', async () => {
    const { s } = session();
    try {
      await s.openPath('traces/laptop-demo.trace.jsonl');
      const st = await s.handlers.replayStats({});
      const before = await s.handlers.timeline({ buckets: 10 });
      expect(before.end).toBe(st.endTime);
      expect(sum(before.faults)).toBe(0);
      const dma = sum(before.tlps);
      expect(dma).toBeGreaterThan(0);
      await s.handlers.replayControl({ action: 'step', count: 1_000_000 });
      const done = await s.handlers.replayStats({});
      expect(done.status).toBe('done');
      const after = await s.handlers.timeline({ buckets: 10 });
      expect(sum(after.tlps)).toBe(done.tlps);
      expect(sum(after.faults)).toBe(5);
      expect(after.markers.length).toBe(done.eventsTotal - done.tlps);
      expect(() => parseCall('timeline', { buckets: 0 })).toThrow(
        'timeline: invalid params at buckets: Too small: expected number to be >=1',
      );
      expect(() => parseCall('timeline', { buckets: 8, maxMarkers: -1 })).toThrow(/at maxMarkers/);
      expect(() => parseCall('timeline', { buckets: 8, from: 0 })).toThrow(/timeline: invalid params/);
    } finally {
      s.dispose();
    }
  });
});
