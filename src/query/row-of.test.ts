// rowOf on the hand-made table (test-rows.ts: faults 0, 1 at rows 0, 1; hazard 0 at row 2; faults 2, 3,
// 4 at rows 3, 4, 5), on a long table of faults with a few hazards, and across gap rows.
import { describe, expect, it } from 'vitest';
import { FaultColumns } from './fault-columns';
import { rowOf } from './row-of';
import { sampleStore } from './test-rows';

const fault = (time: number) => ({
  time,
  requesterId: 0xa0,
  pasid: null,
  write: false,
  pageAddr: 0x1000,
  reason: 6,
  stage: 'second-level',
  recording: 'recorded' as const,
  classes: [],
});
const hazard = (time: number) => ({
  time,
  requesterId: 0xa0,
  addr: 0x2000,
  write: true,
  unmapOrigin: 'trace.jsonl:3',
  unmapTime: time - 10,
});

describe('rowOf', () => {
  it('finds each fault and hazard of the sample table, and nothing past it', () => {
    const s = sampleStore();
    expect([0, 1, 2, 3, 4].map((k) => rowOf(s, 'fault', k))).toEqual([0, 1, 3, 4, 5]);
    expect(rowOf(s, 'hazard', 0)).toBe(2);
    expect(rowOf(s, 'hazard', 1)).toBe(-1);
    expect(rowOf(s, 'fault', 5)).toBe(-1);
    // only the rows shown count
    expect(rowOf(s, 'fault', 2, 3)).toBe(-1);
    expect(rowOf(s, 'hazard', 0, 3)).toBe(2);
  });

  it('finds faults among many, hazards among few, and skips gap rows', () => {
    // 100 000 faults; a hazard after every 25 000th fault (hazard k at row 25 000 (k + 1) + k)
    const s = new FaultColumns(1024);
    let h = 0;
    for (let k = 0; k < 100_000; k++) {
      s.appendFault(fault(k * 10), k);
      if ((k + 1) % 25_000 === 0) s.appendHazard(hazard(k * 10 + 1), h++);
    }
    expect(s.length).toBe(100_004);
    expect(rowOf(s, 'fault', 0)).toBe(0);
    expect(rowOf(s, 'fault', 60_000)).toBe(60_002); // two hazards before it
    expect(rowOf(s, 'fault', 99_999)).toBe(100_002);
    expect([0, 1, 2, 3].map((k) => rowOf(s, 'hazard', k))).toEqual([25_000, 50_001, 75_002, 100_003]);
    // a seek skipped 1000 rows: the faults in them are not held, those after keep their rows
    const g = new FaultColumns(16);
    for (let k = 0; k < 10; k++) g.appendFault(fault(k), k);
    g.appendGap(1000);
    for (let k = 1010; k < 1020; k++) g.appendFault(fault(k), k);
    expect(rowOf(g, 'fault', 9)).toBe(9);
    expect(rowOf(g, 'fault', 500)).toBe(-1);
    expect(rowOf(g, 'fault', 1015)).toBe(1015);
  });
});
