// Live counters on a hand-driven clock: rates over the last second of samples while playing, 0
// otherwise, and progress.
import { describe, expect, it } from 'vitest';
import type { ReplayStats } from '../shared/api';
import { LiveCounters } from './live-counters';

const base: ReplayStats = {
  status: 'playing',
  time: 0,
  endTime: 100,
  eventsApplied: 0,
  eventsTotal: 400,
  tlps: 0,
  faults: 0,
  speed: 0,
  profile: 'vtd-spec',
};

describe('live counters', () => {
  it('measures TLPs and faults per second between stats', () => {
    let now = 0;
    const live = new LiveCounters(() => now);
    expect(live.add(base)).toMatchObject({ tlpsPerSecond: 0, faultsPerSecond: 0, progress: 0 });
    now = 500;
    expect(live.add({ ...base, tlps: 1000, faults: 10, eventsApplied: 100 })).toMatchObject({
      tlpsPerSecond: 2000,
      faultsPerSecond: 20,
      progress: 0.25,
    });
    now = 1500;
    // samples older than a second drop out: from t = 500 (1000 TLPs) to 1500 (4000 TLPs)
    expect(live.add({ ...base, tlps: 4000, faults: 10 })).toMatchObject({
      tlpsPerSecond: 3000,
      faultsPerSecond: 0,
    });
    now = 2000;
    expect(live.add({ ...base, status: 'paused', tlps: 4000 })).toMatchObject({ tlpsPerSecond: 0 });
    expect(live.add({ ...base, status: 'done', eventsApplied: 399 }).progress).toBe(1);
  });

  it('starts over when the counts go back (a seek)', () => {
    let now = 0;
    const live = new LiveCounters(() => now);
    live.add({ ...base, tlps: 5000 });
    now = 100;
    live.add({ ...base, tlps: 100 });
    now = 200;
    expect(live.add({ ...base, tlps: 300 }).tlpsPerSecond).toBe(2000);
  });
});
