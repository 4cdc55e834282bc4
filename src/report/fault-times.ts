// The times of a replay's faults, in bounded memory, for the timeline's fault density. Entries are
// addressed by fault index (faults come in trace order, so in time order): record(i, t) says fault i
// happened at t. Up to `capacity` faults every time is kept; past that the log keeps one fault in
// `stride` (stride doubles each time the log fills, dropping every other entry), and entry j stands
// for faults [j × stride, (j + 1) × stride). Density over the first `count` faults therefore always
// sums to `count` exactly; past the capacity the times are those of every stride-th fault.
// Addressing by index makes it follow seeks: a replay rebuilt from a checkpoint counts fewer faults and
// overwrites the entries from there, and readers pass the count of faults so far.
import { bucketOf, type TimeBuckets } from './timeline';

export const FAULT_TIMES_CAPACITY = 1 << 17;

export class FaultTimeLog {
  private times = new Float64Array(1024);
  /** faults per entry (a power of two) */
  stride = 1;

  constructor(private readonly capacity = FAULT_TIMES_CAPACITY) {
    if (capacity < 2 || capacity & (capacity - 1)) throw new RangeError('capacity: a power of two ≥ 2');
  }

  /** Fault `index` (0-based, in trace order) happened at `time`. */
  record(index: number, time: number): void {
    if (index % this.stride !== 0) return;
    let j = index / this.stride;
    while (j >= this.capacity) {
      for (let k = 0; k < this.capacity / 2; k++) this.times[k] = this.times[2 * k]!;
      this.stride *= 2;
      if (index % this.stride !== 0) return;
      j = index / this.stride;
    }
    if (j >= this.times.length) {
      const grown = new Float64Array(Math.min(this.capacity, this.times.length * 2));
      grown.set(this.times);
      this.times = grown;
    }
    this.times[j] = time;
  }

  /** Faults 0..count-1 counted by time bucket (sums to count). */
  density(count: number, b: TimeBuckets): Float64Array {
    const out = new Float64Array(b.buckets);
    const s = this.stride;
    const entries = Math.ceil(count / s);
    for (let j = 0; j < entries; j++) out[bucketOf(this.times[j]!, b)]! += Math.min(s, count - j * s);
    return out;
  }
}
