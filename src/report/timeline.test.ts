// Timeline buckets on a tiny span worked out by hand: [100, 200] ns in 4 buckets of 25 ns,
// [100,125) [125,150) [150,175) [175,200].
import { describe, expect, it } from 'vitest';
import { bucketOf, bucketStart, bucketTimes, sampleEvenly, spreadChunks } from './timeline';

const b = { start: 100, end: 200, buckets: 4 };

describe('timeline buckets', () => {
  it('puts a time in its bucket, clamping times outside the span to the ends', () => {
    expect([100, 124.9, 125, 149, 150, 175, 199, 200].map((t) => bucketOf(t, b))).toEqual([
      0, 0, 1, 1, 2, 3, 3, 3,
    ]);
    expect(bucketOf(50, b)).toBe(0);
    expect(bucketOf(250, b)).toBe(3);
    expect(bucketStart(1, b)).toBe(125);
    expect(bucketStart(4, b)).toBe(200);
    // a span of one instant: everything in the first bucket
    expect(bucketOf(7, { start: 7, end: 7, buckets: 3 })).toBe(0);
  });

  it('counts times, weighted or not', () => {
    const times = [100, 110, 130, 160, 199, 200];
    expect([...bucketTimes(times, times.length, b)]).toEqual([2, 1, 1, 2]);
    // only the first `count` times
    expect([...bucketTimes(times, 3, b)]).toEqual([2, 1, 0, 0]);
    expect([...bucketTimes(times, 3, b, (i) => i + 1)]).toEqual([3, 3, 0, 0]);
  });

  it('spreads each chunk evenly over its span by whole records, summing to the records', () => {
    // A: 10 records over [100, 150]: 5 by 125, 10 by 150 → 5, 5, 0, 0
    // B: 3 records all at 160 → bucket 2
    // C: 7 records over [170, 200]: round(7 × 5 / 30) = 1 by 175 → 1 in bucket 2, 6 in bucket 3
    // D: no records
    const d = spreadChunks([100, 160, 170, 180], [150, 160, 200, 190], [10, 3, 7, 0], 4, b);
    expect([...d]).toEqual([5, 5, 4, 6]);
    expect(d.reduce((x, y) => x + y, 0)).toBe(20);
    // only the first n chunks
    expect([...spreadChunks([100, 160], [150, 160], [10, 3], 1, b)]).toEqual([5, 5, 0, 0]);
  });

  it('samples markers evenly under a cap', () => {
    const items = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(sampleEvenly(items, 4)).toEqual([0, 2, 5, 7]);
    expect(sampleEvenly(items, 20)).toEqual(items);
    expect(sampleEvenly(items, 0)).toEqual([]);
  });
});
