// The fault time log keeps every time up to its capacity, then one fault in `stride`, each entry
// standing for `stride` faults; worked out by hand with a capacity of 4.
import { describe, expect, it } from 'vitest';
import { FaultTimeLog } from './fault-times';

const b = { start: 0, end: 80, buckets: 4 }; // buckets of 20 ns

describe('fault time log', () => {
  it('counts exact times below its capacity', () => {
    const log = new FaultTimeLog(4);
    [10, 30, 31, 75].forEach((t, i) => log.record(i, t));
    expect([...log.density(4, b)]).toEqual([1, 2, 0, 1]);
    // the faults so far after a seek back to before the third
    expect([...log.density(2, b)]).toEqual([1, 1, 0, 0]);
  });

  it('halves its entries when full and still sums to the count', () => {
    const log = new FaultTimeLog(4);
    // faults 0..6 at 10, 20, …, 70: the fifth fills it; entries become faults 0, 2, 4, 6 (stride 2)
    for (let i = 0; i < 7; i++) log.record(i, 10 * (i + 1));
    expect(log.stride).toBe(2);
    // entries at 10 (faults 0-1), 30 (2-3), 50 (4-5), 70 (6 alone)
    expect([...log.density(7, b)]).toEqual([2, 2, 2, 1]);
    expect([...log.density(3, b)]).toEqual([2, 1, 0, 0]);
  });

  it('overwrites entries replayed again after a seek back', () => {
    const log = new FaultTimeLog(4);
    [10, 30, 50].forEach((t, i) => log.record(i, t));
    log.record(1, 65);
    log.record(2, 70);
    expect([...log.density(3, b)]).toEqual([1, 0, 0, 2]);
  });
});
