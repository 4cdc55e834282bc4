// Filling the fault table's row store (src/query/fault-columns.ts) with every fault and hazard of a
// replay, whichever player runs it:
// - the engine worker: EngineCore.fold() hands each fault and hazard it counts to a RowSink (with its
//   ordinal among faults or hazards); before each snapshot the worker takes the rows gathered since the
//   last one as a RowBatch (typed arrays, transferred, not copied) and posts it ahead of the snapshot.
//   A batch's rows are put in trace order (by time; a fold hands its faults before its hazards) and its
//   base is the table position of its first row: the count of faults and hazards so far less the rows
//   in the batch. The worker takes a batch before rebuilding the model for a seek, so a batch never
//   spans a restore;
// - the worker player (main thread) writes each batch into its store (FaultColumns.appendBatch: rows
//   sent again after a seek back replace the old ones; rows a far seek skipped become gap rows); the
//   rows shown are the snapshot's faults + hazards; WorkerRows keeps where the gap rows are, and a
//   backfill (backfill.ts) fills them with the rows of a second player (WorkerRows.fill);
// - the in-thread player (text traces): ReplayRows merges Replay.faults and Replay.hazards by time into
//   a store when asked, starting over when the player rebuilt its Replay (a seek).
import type { Fault, Hazard, Replay } from '../../engine/replay';
import { argsortF64 } from '../../query/argsort';
import { FaultColumns, FLAG_GAP, FLAG_HAZARD, type RowBatch } from '../../query/fault-columns';
import { FaultQuery } from '../../query/query';

/** What the engine core hands its faults and hazards to (engine worker side). */
export class RowSink {
  private pending = new FaultColumns(256);

  constructor(profile: string) {
    this.pending.profile = profile;
  }

  fault(f: Fault, ordinal: number): void {
    this.pending.appendFault(f, ordinal);
  }

  hazard(h: Hazard, ordinal: number): void {
    this.pending.appendHazard(h, ordinal);
  }

  get size(): number {
    return this.pending.length;
  }

  /**
   * The rows gathered since the last call, in trace order, as a batch; `total` is the count of faults
   * and hazards so far (the last row's position + 1). Null when there are none.
   */
  take(total: number): RowBatch | null {
    const p = this.pending;
    const n = p.length;
    if (n === 0) return null;
    // most batches are in time order already (a fold's hazards are rare): then the columns are copied
    // as they are, not gathered row by row through a sort's order
    const time = p.cols.time;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = time[i - 1]! <= time[i]!;
    let order: Uint32Array | undefined;
    if (!sorted) {
      const all = new Uint32Array(n);
      for (let i = 0; i < n; i++) all[i] = i;
      order = argsortF64(all, time);
    }
    const batch = p.batch(total - n, 0, n, order);
    const next = new FaultColumns(Math.min(1 << 16, Math.max(256, n)));
    next.profile = p.profile;
    this.pending = next;
    return batch;
  }
}

/**
 * The table of a worker-played replay (main thread side). It keeps the ranges of gap rows (rows a far
 * seek skipped: appendBatch writes them when a batch starts past the rows held), so that a backfill
 * (backfill.ts) can find them and fill them with the rows of another player (fill()).
 */
export class WorkerRows {
  readonly store = new FaultColumns(4096);
  readonly query = new FaultQuery(this.store);
  /** the gap rows of the store, as [start, end) ranges in order, neither empty nor touching */
  private gapList: [number, number][] = [];
  /** called when a batch leaves a new gap */
  onGap: (() => void) | null = null;

  take(b: RowBatch): void {
    const held = this.store.length;
    if (b.base < held) this.cutGaps(b.base);
    this.store.appendBatch(b);
    if (b.base > held) {
      const last = this.gapList.at(-1);
      if (last && last[1] === held) last[1] = b.base;
      else this.gapList.push([held, b.base]);
      this.onGap?.();
    }
  }

  /** The gap ranges among rows [0, visible). */
  gaps(visible = Infinity): [number, number][] {
    const n = Math.min(visible, this.store.length);
    const out: [number, number][] = [];
    for (const [a, b] of this.gapList) if (a < n) out.push([a, Math.min(b, n)]);
    return out;
  }

  /** Rows missing among [0, visible). */
  missing(visible = Infinity): number {
    return this.gaps(visible).reduce((k, [a, b]) => k + b - a, 0);
  }

  private cutGaps(at: number): void {
    this.gapList = this.gapList.filter((g) => g[0] < at);
    const last = this.gapList.at(-1);
    if (last && last[1] > at) last[1] = at;
  }

  /**
   * Writes the rows of `batches` (another player's rows of the same trace, at their positions, in
   * order and not overlapping) that fall on gap rows below `visible`; other rows stay as they are.
   * Rows from the first one written on are copied once (truncate, then append again), so the store's
   * queries see them as new. Returns the rows written.
   */
  fill(batches: readonly RowBatch[], visible: number): number {
    const n = Math.min(visible, this.store.length);
    const writes: RowBatch[] = [];
    for (const [ga, gb] of this.gaps(n)) {
      for (const b of batches) {
        const lo = Math.max(ga, b.base);
        const hi = Math.min(gb, b.base + b.length);
        if (lo < hi) writes.push(sliceBatch(b, lo, hi));
      }
    }
    if (writes.length === 0) return 0;
    const store = this.store;
    const end = store.length;
    const from = writes[0]!.base;
    // what goes back after the cut: the written rows, the store's own rows between and after them
    // (gap rows are left out: appendBatch and appendGap write them again)
    const pieces: RowBatch[] = [];
    const keep = (lo: number, hi: number): void => {
      const flags = store.cols.flags;
      let i = lo;
      while (i < hi) {
        while (i < hi && flags[i]! & FLAG_GAP) i++;
        let j = i;
        while (j < hi && !(flags[j]! & FLAG_GAP)) j++;
        if (j > i) pieces.push(store.batch(i, i, j));
        i = j;
      }
    };
    let pos = from;
    let written = 0;
    for (const w of writes) {
      keep(pos, w.base);
      pieces.push(w);
      written += w.length;
      pos = w.base + w.length;
    }
    keep(pos, end);
    store.truncate(from);
    for (const p of pieces) store.appendBatch(p);
    if (store.length < end) store.appendGap(end - store.length);
    // the gaps left: the old ones less what was written
    const left: [number, number][] = [];
    for (const [ga, gb] of this.gapList) {
      let a = ga;
      for (const w of writes) {
        const wa = w.base;
        const wb = w.base + w.length;
        if (wb <= a || wa >= gb) continue;
        if (wa > a) left.push([a, wa]);
        a = Math.max(a, wb);
      }
      if (a < gb) left.push([a, gb]);
    }
    this.gapList = left;
    return written;
  }
}

/** Rows [from, to) of a batch (table positions), as a batch of their own (copies). */
export function sliceBatch(b: RowBatch, from: number, to: number): RowBatch {
  const s = from - b.base;
  const e = to - b.base;
  if (s === 0 && e === b.length) return b;
  const columns = {} as RowBatch['columns'];
  for (const k of Object.keys(b.columns) as (keyof RowBatch['columns'])[])
    (columns[k] as Uint32Array) = (b.columns[k] as Uint32Array).slice(s, e);
  // the hazards' unmaps are listed per hazard row of the batch
  const flags = b.columns.flags;
  let h0 = 0;
  for (let i = 0; i < s; i++) if (flags[i]! & FLAG_HAZARD) h0++;
  let h1 = h0;
  for (let i = s; i < e; i++) if (flags[i]! & FLAG_HAZARD) h1++;
  return {
    ...b,
    base: from,
    length: e - s,
    columns,
    unmapTime: b.unmapTime.slice(h0, h1),
    unmapOrigin: b.unmapOrigin.slice(h0, h1),
  };
}

/** The table of a Replay played in this thread (text traces): brought up to date on demand. */
export class ReplayRows {
  readonly store = new FaultColumns(1024);
  readonly query = new FaultQuery(this.store);
  private replay: Replay | null = null;
  private faults = 0;
  private hazards = 0;

  /** Appends what `replay` raised since the last call (starting over for another Replay object). */
  sync(replay: Replay): FaultQuery {
    if (
      replay !== this.replay ||
      replay.faults.length < this.faults ||
      replay.hazards.length < this.hazards
    ) {
      this.store.truncate(0);
      this.replay = replay;
      this.faults = 0;
      this.hazards = 0;
    }
    this.store.profile = replay.profile;
    const fs = replay.faults;
    const hs = replay.hazards;
    while (this.faults < fs.length || this.hazards < hs.length) {
      const f = fs[this.faults];
      const h = hs[this.hazards];
      if (f && (!h || f.time <= h.time)) this.store.appendFault(f, this.faults++);
      else this.store.appendHazard(h!, this.hazards++);
    }
    return this.query;
  }
}
