// Time buckets for the timeline: a trace's span [start, end] cut into n equal buckets, and the pure
// functions that count into them: times (weighted or not), chunk spans of a native trace's footer index
// (a chunk's records spread evenly over its first..last time, by whole records, so the buckets sum to
// the records exactly), and an even sample of markers under a cap. No I/O; the host and the inspect
// views use them.

export interface TimeBuckets {
  start: number;
  end: number;
  buckets: number;
}

/** The bucket of time t: floor((t - start) / (end - start) × n), clamped to [0, n - 1]. */
export function bucketOf(t: number, b: TimeBuckets): number {
  const width = b.end - b.start;
  if (!(width > 0)) return 0;
  const i = Math.floor(((t - b.start) / width) * b.buckets);
  return i < 0 ? 0 : i >= b.buckets ? b.buckets - 1 : i;
}

/** The time at which bucket i starts (i = n gives the end). */
export function bucketStart(i: number, b: TimeBuckets): number {
  return b.start + ((b.end - b.start) * i) / b.buckets;
}

/**
 * Counts times[0..count) into buckets; with `weights`, time i counts weights(i). Adds to `into` when
 * given (so several sources can share one array).
 */
export function bucketTimes(
  times: ArrayLike<number>,
  count: number,
  b: TimeBuckets,
  weights?: (i: number) => number,
  into = new Float64Array(b.buckets),
): Float64Array {
  for (let i = 0; i < count; i++) into[bucketOf(times[i]!, b)]! += weights ? weights(i) : 1;
  return into;
}

/**
 * Spreads chunks of records over the buckets: chunk k holds counts[k] records between first[k] and
 * last[k]. Its records are taken as evenly spaced in that span: the bucket ending at time u receives
 * the records up to round(count × (u − first) / (last − first)) not yet given, so every chunk gives
 * exactly its count and the buckets sum to the records.
 */
export function spreadChunks(
  first: ArrayLike<number>,
  last: ArrayLike<number>,
  counts: ArrayLike<number>,
  n: number,
  b: TimeBuckets,
): Float64Array {
  const out = new Float64Array(b.buckets);
  for (let k = 0; k < n; k++) {
    const c = counts[k]!;
    if (c <= 0) continue;
    const f = first[k]!;
    const l = last[k]!;
    const bf = bucketOf(f, b);
    const bl = bucketOf(l, b);
    if (bf === bl || !(l > f)) {
      out[bf]! += c;
      continue;
    }
    let given = 0;
    for (let i = bf; i < bl; i++) {
      const upTo = Math.min(c, Math.max(0, Math.round((c * (bucketStart(i + 1, b) - f)) / (l - f))));
      out[i]! += upTo - given;
      given = upTo;
    }
    out[bl]! += c - given;
  }
  return out;
}

/** At most `cap` of the items, evenly spread over them (item ⌊i × length / cap⌋ for i < cap), in order. */
export function sampleEvenly<T>(items: readonly T[], cap: number): T[] {
  if (items.length <= cap) return [...items];
  const out: T[] = [];
  for (let i = 0; i < cap; i++) out.push(items[Math.floor((i * items.length) / cap)]!);
  return out;
}
