// The player's live counters for the UI: TLPs and faults per second of wall time, measured on the host
// between successive stats (over the last second of them), and progress (events applied of the
// trace's, 1 once it is done). Rates are 0 unless the replay is playing, and start over when the
// counts go back (a seek).
import type { ReplayStats } from '../shared/api';

const WINDOW_MS = 1000;

interface Sample {
  at: number;
  tlps: number;
  faults: number;
}

export class LiveCounters {
  private samples: Sample[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** `s` with tlpsPerSecond, faultsPerSecond and progress filled in (a new object). */
  add(s: ReplayStats): ReplayStats {
    const at = this.now();
    let last = this.samples.at(-1);
    if (s.status !== 'playing' || (last && (s.tlps < last.tlps || s.faults < last.faults))) {
      this.samples = [];
      last = undefined;
    }
    if (!last || at > last.at) this.samples.push({ at, tlps: s.tlps, faults: s.faults });
    else Object.assign(last, { tlps: s.tlps, faults: s.faults });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const newest = this.samples.at(-1)!;
    const seconds = (newest.at - first.at) / 1000;
    const playing = s.status === 'playing' && seconds > 0;
    return {
      ...s,
      tlpsPerSecond: playing ? (newest.tlps - first.tlps) / seconds : 0,
      faultsPerSecond: playing ? (newest.faults - first.faults) / seconds : 0,
      progress:
        s.status === 'done'
          ? 1
          : s.eventsTotal > 0
            ? Math.min(1, Math.max(0, s.eventsApplied / s.eventsTotal))
            : 0,
    };
  }
}
