// Stable index sorting for the fault table: given row ids (ascending) and a key column, returns the ids
// ordered by key, ties in row order, ascending or descending (descending inverts the key, so ties stay
// in row order too). 32-bit keys go through an LSD radix sort (three 11-bit digits, a digit every key
// shares is skipped); 64-bit keys (addresses as hi/lo halves, float64 times as their order-preserving
// bit patterns) sort by the low half and then, stably, by the high half. Short inputs use an insertion
// sort, rows already in time order one pass. mergeByKey joins two sorted id lists (the query cache
// extends a sorted index with the rows appended since). Pure.

const DIGIT_BITS = 11;
const BUCKETS = 1 << DIGIT_BITS;
const DIGIT_MASK = BUCKETS - 1;
const SMALL = 48;

/** Sorts (keys, vals) pairs by keys, stably; returns the arrays holding the result (maybe the temps). */
function radixPairs(keys: Uint32Array, vals: Uint32Array): { keys: Uint32Array; vals: Uint32Array } {
  const n = keys.length;
  if (n < SMALL) {
    for (let i = 1; i < n; i++) {
      const k = keys[i]!;
      const v = vals[i]!;
      let j = i - 1;
      while (j >= 0 && keys[j]! > k) {
        keys[j + 1] = keys[j]!;
        vals[j + 1] = vals[j]!;
        j--;
      }
      keys[j + 1] = k;
      vals[j + 1] = v;
    }
    return { keys, vals };
  }
  const counts = new Uint32Array(BUCKETS * 3);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    counts[k & DIGIT_MASK]!++;
    counts[BUCKETS + ((k >>> DIGIT_BITS) & DIGIT_MASK)]!++;
    counts[2 * BUCKETS + (k >>> (2 * DIGIT_BITS))]!++;
  }
  let k0 = keys;
  let v0 = vals;
  let k1: Uint32Array | null = null;
  let v1: Uint32Array | null = null;
  for (let pass = 0; pass < 3; pass++) {
    const base = pass * BUCKETS;
    const shift = pass * DIGIT_BITS;
    // a digit every key shares changes nothing
    let skip = false;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[base + b]!;
      if (c === n) skip = true;
      if (c) break;
    }
    if (skip) continue;
    let sum = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[base + b]!;
      counts[base + b] = sum;
      sum += c;
    }
    k1 ??= new Uint32Array(n);
    v1 ??= new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const k = k0[i]!;
      const pos = counts[base + ((k >>> shift) & DIGIT_MASK)]!++;
      k1[pos] = k;
      v1[pos] = v0[i]!;
    }
    const tk = k0;
    const tv = v0;
    k0 = k1;
    v0 = v1;
    k1 = tk;
    v1 = tv;
  }
  return { keys: k0, vals: v0 };
}

/** How a u32 key is read from its column: (column[row] & mask) + bias, as an unsigned 32-bit value. */
export interface KeyOptions {
  descending?: boolean;
  mask?: number;
  bias?: number;
}

/** Row ids `idx` (ascending) ordered by a column of unsigned (or biased) 32-bit keys. */
export function argsortU32(
  idx: Uint32Array,
  key: Uint32Array | Uint16Array | Uint8Array | Int32Array,
  o: KeyOptions = {},
): Uint32Array {
  const n = idx.length;
  const keys = new Uint32Array(n);
  const mask = o.mask ?? 0xffffffff;
  const bias = o.bias ?? 0;
  const flip = o.descending ? 0xffffffff : 0;
  for (let j = 0; j < n; j++) keys[j] = (((key[idx[j]!]! & mask) + bias) ^ flip) >>> 0;
  return radixPairs(keys, idx.slice()).vals;
}

/** Row ids ordered by a 64-bit key held as two u32 columns (an address: hi, lo). */
export function argsortU64(
  idx: Uint32Array,
  hi: Uint32Array,
  lo: Uint32Array,
  o: { descending?: boolean } = {},
): Uint32Array {
  const byLo = argsortU32(idx, lo, o);
  return argsortU32(byLo, hi, o);
}

/**
 * Row ids ordered by a float64 column (times): by the order-preserving bits of each value. Rows already
 * in order (a trace's times nearly always are) take one pass.
 */
export function argsortF64(
  idx: Uint32Array,
  col: Float64Array,
  o: { descending?: boolean } = {},
): Uint32Array {
  const n = idx.length;
  if (inOrderF64(idx, col)) return o.descending ? reverseRuns(idx, col) : idx.slice();
  const vals = new Float64Array(n);
  for (let j = 0; j < n; j++) vals[j] = col[idx[j]!]!;
  const words = new Uint32Array(vals.buffer);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const flip = o.descending ? 0xffffffff : 0;
  // little-endian float64 words: [lo, hi]; positive values: set the sign bit; negative: invert all
  const le = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
  for (let j = 0; j < n; j++) {
    let h = words[2 * j + (le ? 1 : 0)]!;
    let l = words[2 * j + (le ? 0 : 1)]!;
    if (h & 0x80000000) {
      h = ~h;
      l = ~l;
    } else h |= 0x80000000;
    hi[j] = (h ^ flip) >>> 0;
    lo[j] = (l ^ flip) >>> 0;
  }
  // sort positions 0..n-1 by (hi, lo), then map back to row ids
  const pos = new Uint32Array(n);
  for (let j = 0; j < n; j++) pos[j] = j;
  const byLo = radixPairs(lo, pos);
  const hiKeys = new Uint32Array(n);
  for (let j = 0; j < n; j++) hiKeys[j] = hi[byLo.vals[j]!]!;
  const order = radixPairs(hiKeys, byLo.vals.slice()).vals;
  const out = new Uint32Array(n);
  for (let j = 0; j < n; j++) out[j] = idx[order[j]!]!;
  return out;
}

/** Whether the rows' values never decrease (NaN-free), so the ids are sorted already. */
function inOrderF64(idx: Uint32Array, col: Float64Array): boolean {
  let prev = -Infinity;
  for (let j = 0; j < idx.length; j++) {
    const v = col[idx[j]!]!;
    if (!(v >= prev)) return false;
    prev = v;
  }
  return true;
}

/** Ids sorted ascending by value, reversed into descending order with equal values kept in id order. */
function reverseRuns(idx: Uint32Array, col: Float64Array): Uint32Array {
  const out = new Uint32Array(idx.length);
  let k = 0;
  let end = idx.length;
  while (end > 0) {
    const v = col[idx[end - 1]!]!;
    let start = end - 1;
    while (start > 0 && col[idx[start - 1]!] === v) start--;
    for (let j = start; j < end; j++) out[k++] = idx[j]!;
    end = start;
  }
  return out;
}

/** How a row's sort key is read: one of the key columns argsort* takes. */
export type MergeKey =
  | { kind: 'u32'; col: Uint32Array | Uint16Array | Uint8Array | Int32Array; mask?: number; bias?: number }
  | { kind: 'u64'; hi: Uint32Array; lo: Uint32Array }
  | { kind: 'f64'; col: Float64Array };

/**
 * The keys of a sorted index, in its order, as unsigned words that compare ascending (a descending
 * order's keys are inverted): the high words, and the low ones for 64-bit keys. Kept beside an index so
 * that merging rows into it reads memory in order.
 */
export interface SortedKeys {
  hi: Uint32Array;
  lo: Uint32Array | null;
}

const F64 = new Float64Array(1);
const F64_WORDS = new Uint32Array(F64.buffer);
const HI = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f ? 1 : 0;

/** The keys of rows `ids` (see SortedKeys). */
export function keysOf(ids: Uint32Array, key: MergeKey, descending = false): SortedKeys {
  const n = ids.length;
  const flip = descending ? 0xffffffff : 0;
  const hi = new Uint32Array(n);
  if (key.kind === 'u32') {
    const { col } = key;
    const mask = key.mask ?? 0xffffffff;
    const bias = key.bias ?? 0;
    for (let j = 0; j < n; j++) hi[j] = (((col[ids[j]!]! & mask) + bias) ^ flip) >>> 0;
    return { hi, lo: null };
  }
  const lo = new Uint32Array(n);
  if (key.kind === 'u64') {
    for (let j = 0; j < n; j++) {
      hi[j] = (key.hi[ids[j]!]! ^ flip) >>> 0;
      lo[j] = (key.lo[ids[j]!]! ^ flip) >>> 0;
    }
    return { hi, lo };
  }
  for (let j = 0; j < n; j++) {
    F64[0] = key.col[ids[j]!]!;
    let h = F64_WORDS[HI]!;
    let l = F64_WORDS[1 - HI]!;
    if (h & 0x80000000) {
      h = ~h;
      l = ~l;
    } else h |= 0x80000000;
    hi[j] = (h ^ flip) >>> 0;
    lo[j] = (l ^ flip) >>> 0;
  }
  return { hi, lo };
}

/**
 * Merges two sorted indexes with their keys (every id of `b` above every id of `a`, each list in key
 * order, ties in id order): on equal keys the ids of `a` come first.
 */
export function mergeKeyed(
  a: Uint32Array,
  ak: SortedKeys,
  b: Uint32Array,
  bk: SortedKeys,
): { ids: Uint32Array; keys: SortedKeys } {
  const n = a.length + b.length;
  const ids = new Uint32Array(n);
  const hi = new Uint32Array(n);
  const lo = ak.lo && bk.lo ? new Uint32Array(n) : null;
  const ah = ak.hi;
  const bh = bk.hi;
  const al = ak.lo;
  const bl = bk.lo;
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const d = bh[j]! - ah[i]! || (lo ? bl![j]! - al![i]! : 0);
    if (d < 0) {
      ids[k] = b[j]!;
      hi[k] = bh[j]!;
      if (lo) lo[k] = bl![j]!;
      j++;
    } else {
      ids[k] = a[i]!;
      hi[k] = ah[i]!;
      if (lo) lo[k] = al![i]!;
      i++;
    }
    k++;
  }
  const [rest, rk, from] = i < a.length ? [a, ak, i] : [b, bk, j];
  ids.set(rest.subarray(from), k);
  hi.set(rk.hi.subarray(from), k);
  if (lo) lo.set(rk.lo!.subarray(from), k);
  return { ids, keys: { hi, lo } };
}
