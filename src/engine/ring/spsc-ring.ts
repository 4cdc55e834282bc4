// A single-producer single-consumer ring of fixed-size records in a SharedArrayBuffer: it carries TLP
// records (8 uint32 words, src/trace/native/tlp-record.ts) from a decoder worker thread to an engine
// worker thread. Lock-free: the producer alone writes the write index, the consumer alone the read
// index. Records are written and read in place as uint32 words (no BigInt, no DataView, no allocation
// per record), and the write index is published in batches (every `publishEvery` records, a quarter
// of the ring by default, and by publish()), so the consumer sees a batch with one atomic load. A side
// waits with Atomics.wait only when the ring is empty (consumer) or full (producer), after raising its
// waiting flag; the other side pays for Atomics.notify only when it sees that flag, and the consumer
// wakes a producer asleep on a full ring only once a quarter of the ring is free. Atomics.wait blocks:
// use the ring from worker threads (Node's main thread may block too; a browser's may not). This
// module imports nothing, so a worker can load it transpiled on its own. bench/ring.bench.ts measures
// it; 16 384 slots (512 KiB of 32-byte records, within one core's L2) is a good size.
//
// Layout: 256 bytes of Int32 control words, each hot word on its own 64-byte cache line, then
// capacity × recordWords uint32 words of records. Indexes are free-running 32-bit counters; record n
// lives in slot n & (capacity - 1).

const WRITE = 0; // records published by the producer (line 0)
const CLOSED = 1; // 1 once the producer has closed the ring (line 0, written once)
const READ = 16; // records released by the consumer (line 1)
const CONSUMER_WAITING = 32; // 1 while the consumer waits on an empty ring (line 2)
const CONSUMER_WAITS = 33; // times the consumer went to sleep (line 2, slow path only)
const CONSUMER_WOKEN = 34; // times the producer notified it (line 2, slow path only)
const PRODUCER_WAITING = 48; // 1 while the producer waits on a full ring (line 3)
const PRODUCER_WAITS = 49; // times the producer went to sleep (line 3, slow path only)
const PRODUCER_WOKEN = 50; // times the consumer notified it (line 3, slow path only)
const CAPACITY = 56; // (line 3, constant)
const RECORD_WORDS = 57; // (line 3, constant)

export const RING_HEADER_BYTES = 256;
/**
 * Re-checks of an empty or full ring before sleeping on it. 0: on the 2-vCPU machines this project
 * runs on, spinning made the ring slower at every count tried (100 to 20 000), as if the two
 * threads shared a physical core; a machine with real spare cores may want a few hundred.
 */
export const DEFAULT_SPIN = 0;
export const RING_MAX_CAPACITY = 1 << 30;

/** Allocates a ring for `capacity` records (a power of two) of `recordWords` uint32 words each. */
export function createRing(capacity: number, recordWords = 8): SharedArrayBuffer {
  if (
    !Number.isInteger(capacity) ||
    capacity < 2 ||
    capacity > RING_MAX_CAPACITY ||
    capacity & (capacity - 1)
  ) {
    throw new RangeError(`ring capacity ${capacity} is not a power of two in 2..2^30`);
  }
  if (!Number.isInteger(recordWords) || recordWords < 1 || recordWords * capacity > 2 ** 31) {
    throw new RangeError(`record size of ${recordWords} words does not fit`);
  }
  const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacity * recordWords * 4);
  const ctl = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
  ctl[CAPACITY] = capacity;
  ctl[RECORD_WORDS] = recordWords;
  return sab;
}

export interface RingState {
  capacity: number;
  recordWords: number;
  /** records published (free-running, modulo 2^32) */
  written: number;
  /** records released by the consumer (free-running, modulo 2^32) */
  released: number;
  closed: boolean;
  consumerWaiting: boolean;
  producerWaiting: boolean;
  /** times the consumer slept on an empty ring, and times the producer woke it */
  consumerWaits: number;
  consumerWoken: number;
  /** times the producer slept on a full ring, and times the consumer woke it */
  producerWaits: number;
  producerWoken: number;
}

/** A snapshot of the ring's shared words, from any thread (for statistics, tests and debugging). */
export function ringState(sab: SharedArrayBuffer): RingState {
  const ctl = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
  const at = (i: number) => Atomics.load(ctl, i);
  return {
    capacity: at(CAPACITY),
    recordWords: at(RECORD_WORDS),
    written: at(WRITE) >>> 0,
    released: at(READ) >>> 0,
    closed: at(CLOSED) !== 0,
    consumerWaiting: at(CONSUMER_WAITING) !== 0,
    producerWaiting: at(PRODUCER_WAITING) !== 0,
    consumerWaits: at(CONSUMER_WAITS),
    consumerWoken: at(CONSUMER_WOKEN),
    producerWaits: at(PRODUCER_WAITS),
    producerWoken: at(PRODUCER_WOKEN),
  };
}

/** What both ends share: the views and the ring's geometry. */
abstract class RingEnd {
  /** the record storage; a record's words start at the offset claim() or slot() returns */
  readonly words: Uint32Array;
  readonly capacity: number;
  readonly recordWords: number;
  protected readonly ctl: Int32Array;
  protected readonly mask: number;
  protected readonly spin: number;

  constructor(sab: SharedArrayBuffer, spin = DEFAULT_SPIN) {
    this.spin = Math.max(0, spin);
    this.ctl = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    this.capacity = this.ctl[CAPACITY]!;
    this.recordWords = this.ctl[RECORD_WORDS]!;
    if (!this.capacity || !this.recordWords) throw new Error('not a ring made by createRing');
    this.mask = this.capacity - 1;
    this.words = new Uint32Array(sab, RING_HEADER_BYTES, this.capacity * this.recordWords);
  }

  /**
   * Waits until `ready()` holds: first by re-checking it up to `spin` times (the other side usually
   * publishes within microseconds, cheaper than a sleep and a wake), then by raising `flag` (the next
   * word counts the sleeps) and sleeping on it unless `ready()` holds by then; the other side clears
   * the flag and notifies. Only called when the ring is empty or full.
   */
  protected waitUntil(flag: number, ready: () => boolean, pollMs = 0, polls = 0): void {
    for (let i = 0; i < this.spin; i++) if (ready()) return;
    // Timed naps with the flag down: the other side is not asked to notify (no wake to pay for there)
    for (let i = 0; i < polls; i++) {
      Atomics.wait(this.ctl, flag, 0, pollMs);
      if (ready()) return;
    }
    for (;;) {
      Atomics.store(this.ctl, flag, 1);
      if (ready()) {
        Atomics.store(this.ctl, flag, 0);
        return;
      }
      Atomics.add(this.ctl, flag + 1, 1);
      Atomics.wait(this.ctl, flag, 1);
      if (ready()) return;
    }
  }

  /** Wakes the other side if it raised `flag` (one atomic load when it did not). */
  protected wake(flag: number): void {
    if (Atomics.load(this.ctl, flag) !== 0 && Atomics.exchange(this.ctl, flag, 0) !== 0) {
      Atomics.add(this.ctl, flag + 2, 1);
      Atomics.notify(this.ctl, flag);
    }
  }
}

export interface RingProducerOptions {
  /** records committed between two publications of the write index (default capacity / 4) */
  publishEvery?: number;
  /** re-checks of a full ring before sleeping (default DEFAULT_SPIN) */
  spin?: number;
  /**
   * On a full ring, first take up to `polls` naps of `pollMs` ms (Atomics.wait with a timeout), re-checking
   * after each, before sleeping until woken (default none). While the consumer frees room within
   * them it never has to notify this side: the cost of waking moves from the consumer's thread, when
   * that is the bottleneck, to this one's. A consumer that stops (a paused replay) still leaves this
   * side asleep for good once the naps are over.
   */
  pollMs?: number;
  polls?: number;
  /**
   * Called each time committed records are about to become visible to the consumer (publish() with
   * records pending, whatever called it: a batch filled, a wait on a full ring, close()): the place to
   * send what the consumer must have before it reads them.
   */
  onPublish?: () => void;
}

export class RingProducer extends RingEnd {
  private w: number;
  private readCache: number;
  private pending = 0;
  private readonly publishEvery: number;
  private readonly pollMs: number;
  private readonly polls: number;
  private readonly onPublish: (() => void) | null;
  /** refreshes readCache; true when a slot is free */
  private readonly notFull = () =>
    ((this.w - (this.readCache = Atomics.load(this.ctl, READ))) | 0) < this.capacity;

  constructor(sab: SharedArrayBuffer, options: RingProducerOptions = {}) {
    super(sab, options.spin);
    this.w = Atomics.load(this.ctl, WRITE);
    this.readCache = Atomics.load(this.ctl, READ);
    this.publishEvery = Math.max(1, Math.min(options.publishEvery ?? this.capacity >>> 2, this.capacity));
    this.pollMs = Math.max(0, options.pollMs ?? 0);
    this.polls = this.pollMs > 0 ? Math.max(0, Math.floor(options.polls ?? 0)) : 0;
    this.onPublish = options.onPublish ?? null;
  }

  /** Word offset of the next free slot in `words`, waiting while the ring is full. Then commit(). */
  claim(): number {
    if (((this.w - this.readCache) | 0) >= this.capacity && !this.notFull()) {
      // Full: the consumer must see every committed record before this side waits for it.
      this.publish();
      this.waitUntil(PRODUCER_WAITING, this.notFull, this.pollMs, this.polls);
    }
    return (this.w & this.mask) * this.recordWords;
  }

  /** Word offset of the next free slot, or -1 when the ring is full (never waits). */
  tryClaim(): number {
    if (((this.w - this.readCache) | 0) >= this.capacity) {
      this.readCache = Atomics.load(this.ctl, READ);
      if (((this.w - this.readCache) | 0) >= this.capacity) return -1;
    }
    return (this.w & this.mask) * this.recordWords;
  }

  /** The claimed slot holds a record; it is published with the next batch. */
  commit(): void {
    this.w = (this.w + 1) | 0;
    if (++this.pending >= this.publishEvery) this.publish();
  }

  /** Makes every committed record visible to the consumer now: call it when the producer pauses. */
  publish(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.onPublish?.();
    Atomics.store(this.ctl, WRITE, this.w);
    this.wake(CONSUMER_WAITING);
  }

  /**
   * Copies count records from src (starting at word srcWord), waiting while the ring is full, then
   * publishes (unless `publish` is false: then they go with the next batch, wait or publish()). Copies
   * run by run (at most two per free stretch, split at the wrap), not record by record.
   */
  write(src: Uint32Array, srcWord: number, count: number, publish = true): void {
    const rw = this.recordWords;
    let done = 0;
    while (done < count) {
      let free = this.capacity - ((this.w - this.readCache) | 0);
      if (free === 0) {
        this.claim(); // waits for room
        free = this.capacity - ((this.w - this.readCache) | 0);
      }
      const slot = this.w & this.mask;
      const run = Math.min(count - done, free, this.capacity - slot);
      const from = srcWord + done * rw;
      this.words.set(src.subarray(from, from + run * rw), slot * rw);
      this.w = (this.w + run) | 0;
      done += run;
      this.pending += run;
      if (this.pending >= this.publishEvery) this.publish();
    }
    if (publish) this.publish();
  }

  /** Publishes what is left and tells the consumer no more records will come. */
  close(): void {
    this.publish();
    Atomics.store(this.ctl, CLOSED, 1);
    this.wake(CONSUMER_WAITING);
  }
}

export class RingConsumer extends RingEnd {
  private r: number;
  private writeCache: number;
  /** refreshes writeCache; true when a record is readable or the ring is closed */
  private readonly readable = () =>
    (this.writeCache = Atomics.load(this.ctl, WRITE)) !== this.r || Atomics.load(this.ctl, CLOSED) !== 0;

  /** free slots that wake a producer asleep on a full ring */
  private readonly wakeProducerAt: number;

  /** spin: re-checks of an empty ring before sleeping (default DEFAULT_SPIN) */
  constructor(sab: SharedArrayBuffer, options: { spin?: number } = {}) {
    super(sab, options.spin);
    this.wakeProducerAt = Math.max(1, this.capacity >>> 2);
    this.r = Atomics.load(this.ctl, READ);
    this.writeCache = Atomics.load(this.ctl, WRITE);
  }

  /** Records readable now (never waits). */
  available(): number {
    let n = (this.writeCache - this.r) | 0;
    if (n === 0) {
      this.writeCache = Atomics.load(this.ctl, WRITE);
      n = (this.writeCache - this.r) | 0;
    }
    return n;
  }

  /**
   * Waits until records are readable and returns how many (read them with slot(i), then release()),
   * or 0 once the ring is closed and drained.
   */
  acquire(): number {
    const n = this.available();
    if (n > 0) return n;
    this.waitUntil(CONSUMER_WAITING, this.readable);
    // Closed: records published before the close are visible to a load made after seeing it.
    this.writeCache = Atomics.load(this.ctl, WRITE);
    return (this.writeCache - this.r) | 0;
  }

  /** Word offset in `words` of the i-th readable record (0 ≤ i < the count acquire returned). */
  slot(i: number): number {
    return ((this.r + i) & this.mask) * this.recordWords;
  }

  /**
   * Frees the first n readable records for the producer. A producer asleep on a full ring is woken
   * once a quarter of the ring is free (or the ring is empty), not for every release: one wake per
   * batch, not per record. It cannot sleep through free room it has not seen: it re-checks the read
   * index after raising its flag, and the consumer drains the ring before it waits itself.
   */
  release(n: number): void {
    this.r = (this.r + n) | 0;
    Atomics.store(this.ctl, READ, this.r);
    if (
      Atomics.load(this.ctl, PRODUCER_WAITING) !== 0 &&
      this.capacity - ((Atomics.load(this.ctl, WRITE) - this.r) | 0) >= this.wakeProducerAt
    ) {
      this.wake(PRODUCER_WAITING);
    }
  }

  /**
   * Copies up to maxCount records into dst (from word dstWord), waiting for the first; returns how
   * many, 0 once the ring is closed and drained. Copies run by run, split at the wrap.
   */
  read(dst: Uint32Array, dstWord: number, maxCount: number): number {
    const n = Math.min(this.acquire(), maxCount);
    const rw = this.recordWords;
    let done = 0;
    while (done < n) {
      const slot = (this.r + done) & this.mask;
      const run = Math.min(n - done, this.capacity - slot);
      dst.set(this.words.subarray(slot * rw, (slot + run) * rw), dstWord + done * rw);
      done += run;
    }
    if (n > 0) this.release(n);
    return n;
  }

  /** True once the producer has closed the ring (records may still be readable). */
  get closed(): boolean {
    return Atomics.load(this.ctl, CLOSED) !== 0;
  }
}
