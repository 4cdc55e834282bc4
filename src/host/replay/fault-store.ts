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
//   rows shown are the snapshot's faults + hazards;
// - the in-thread player (text traces): ReplayRows merges Replay.faults and Replay.hazards by time into
//   a store when asked, starting over when the player rebuilt its Replay (a seek).
import type { Fault, Hazard, Replay } from '../../engine/replay';
import { argsortF64 } from '../../query/argsort';
import { FaultColumns, type RowBatch } from '../../query/fault-columns';
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
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    const order = argsortF64(all, p.cols.time);
    const batch = p.batch(total - n, 0, n, order);
    const next = new FaultColumns(Math.min(1 << 16, Math.max(256, n)));
    next.profile = p.profile;
    this.pending = next;
    return batch;
  }
}

/** The table of a worker-played replay (main thread side). */
export class WorkerRows {
  readonly store = new FaultColumns(4096);
  readonly query = new FaultQuery(this.store);

  take(b: RowBatch): void {
    this.store.appendBatch(b);
  }
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
