import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { argsortF64, argsortU32, argsortU64, keysOf, mergeKeyed } from './argsort';

const ids = (n: number): Uint32Array => Uint32Array.from({ length: n }, (_, i) => i);
/** the reference: Array.prototype.sort is stable */
function reference(idx: Uint32Array, cmp: (a: number, b: number) => number): number[] {
  return [...idx].sort(cmp);
}

describe('argsort', () => {
  it('sorts small u32 keys stably, ascending and descending', () => {
    const key = Uint32Array.from([5, 3, 5, 0, 0xffffffff, 3]);
    expect([...argsortU32(ids(6), key)]).toEqual([3, 1, 5, 0, 2, 4]);
    // descending keeps ties in row order
    expect([...argsortU32(ids(6), key, { descending: true })]).toEqual([4, 0, 2, 1, 5, 3]);
  });

  it('sorts a subset of rows by a biased signed key (PASIDs, -1 for none first)', () => {
    const pasid = Int32Array.from([-1, 7, 0, -1, 2]);
    expect([...argsortU32(Uint32Array.from([0, 1, 2, 4]), pasid, { bias: 1 })]).toEqual([0, 2, 4, 1]);
  });

  it('sorts by a masked key (the write flag)', () => {
    const flags = Uint8Array.from([1, 8, 9, 0]);
    expect([...argsortU32(ids(4), flags, { mask: 1 })]).toEqual([1, 3, 0, 2]);
  });

  it('sorts 64-bit addresses by high then low half', () => {
    const hi = Uint32Array.from([1, 0, 1, 0, 0x2000]);
    const lo = Uint32Array.from([0, 0xffffffff, 0, 5, 0]);
    expect([...argsortU64(ids(5), hi, lo)]).toEqual([3, 1, 0, 2, 4]);
    expect([...argsortU64(ids(5), hi, lo, { descending: true })]).toEqual([4, 0, 2, 1, 3]);
  });

  it('sorts float64 times, negatives and fractions included', () => {
    const t = Float64Array.from([3e9, -1, 0.5, 1000, 3e9, -2.5, 0]);
    expect([...argsortF64(ids(7), t)]).toEqual([5, 1, 6, 2, 3, 0, 4]);
    expect([...argsortF64(ids(7), t, { descending: true })]).toEqual([0, 4, 3, 2, 6, 1, 5]);
  });

  it('agrees with a stable comparison sort on random columns of every size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.nat(0xffffffff)), { maxLength: 3000 }),
        fc.boolean(),
        (pairs, desc) => {
          const n = pairs.length;
          // few distinct high halves and low halves so that ties happen
          const hi = Uint32Array.from(pairs, (p) => p[0]);
          const lo = Uint32Array.from(pairs, (p) => (p[1] % 7 === 0 ? 0 : p[1]));
          const t = Float64Array.from(pairs, (p) => p[0] * 1e6 + (p[1] % 3));
          const s = desc ? -1 : 1;
          const idx = ids(n);
          expect([...argsortU32(idx, hi, { descending: desc })]).toEqual(
            reference(idx, (a, b) => s * (hi[a]! - hi[b]!)),
          );
          expect([...argsortU64(idx, hi, lo, { descending: desc })]).toEqual(
            reference(idx, (a, b) => s * (hi[a]! - hi[b]! || lo[a]! - lo[b]!)),
          );
          expect([...argsortF64(idx, t, { descending: desc })]).toEqual(
            reference(idx, (a, b) => s * (t[a]! - t[b]!)),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('sorts a million rows with wide keys correctly', () => {
    const n = 1_000_000;
    const key = new Uint32Array(n);
    let x = 12345;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      key[i] = x;
    }
    const out = argsortU32(ids(n), key);
    for (let j = 1; j < n; j++) {
      const a = key[out[j - 1]!]!;
      const b = key[out[j]!]!;
      if (a > b || (a === b && out[j - 1]! > out[j]!)) throw new Error(`out of order at ${j}`);
    }
  });

  it('merges two sorted lists by their keys, the first list first on ties', () => {
    const key = Uint32Array.from([5, 1, 3, 3, 9, 1]);
    const u32 = { kind: 'u32' as const, col: key };
    const merge = (a: number[], b: number[], k: Parameters<typeof keysOf>[1], desc = false): number[] => {
      const x = Uint32Array.from(a);
      const y = Uint32Array.from(b);
      return [...mergeKeyed(x, keysOf(x, k, desc), y, keysOf(y, k, desc)).ids];
    };
    expect(merge([1, 2, 0], [5, 3, 4], u32)).toEqual([1, 5, 2, 3, 0, 4]);
    expect(merge([4, 0, 2], [3, 5], u32, true)).toEqual([4, 0, 2, 3, 5]);
    const t = Float64Array.from([1, 2, 2, 3, -1]);
    expect(merge([0, 2], [1, 3], { kind: 'f64', col: t })).toEqual([0, 2, 1, 3]);
    expect(merge([3, 1], [2, 4], { kind: 'f64', col: t }, true)).toEqual([3, 1, 2, 4]);
    expect(merge([4, 0], [], { kind: 'f64', col: t })).toEqual([4, 0]);
    const hi = Uint32Array.from([0, 1, 0]);
    const lo = Uint32Array.from([7, 0, 9]);
    expect(merge([0, 1], [2], { kind: 'u64', hi, lo })).toEqual([0, 2, 1]);
  });

  it('takes times already in order in one pass, descending ties still in row order', () => {
    const t = Float64Array.from([1, 2, 2, 3, 3, 3]);
    expect([...argsortF64(ids(6), t)]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...argsortF64(ids(6), t, { descending: true })]).toEqual([3, 4, 5, 1, 2, 0]);
  });
});
