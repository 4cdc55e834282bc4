// The fault table's backfill. A seek far forward makes the engine rebuild the model from a checkpoint
// and restore its counts: the rows of the faults and hazards between the rows held and the checkpoint
// are never produced, and the table holds gap rows for them ("not replayed": fault-store.ts). The
// backfill fills them in the background with the rows of a second worker player on the same input:
// - it starts when the shown table has gap rows below the rows the shown state has (after a seek, or
//   when a batch that arrives later leaves a gap); the second player starts from the top (a fresh
//   engine has no checkpoint past the start) and seeks, as fast as it can, to the shown state's time;
//   rows it produces on or between gaps are gathered, and written into the shown table
//   (WorkerRows.fill) now and then: once they are a quarter of the rows from the first one on (the
//   rows a write copies), or every 250 ms while those are few; and when it has produced the last
//   missing row (it stops there, before its target) or reached its target;
// - while the shown player seeks (around()), rows are gathered but not written: a seek back truncates
//   the table, and rows are only ever written on gap rows below the rows the state then shown has, so
//   a backfill never brings back rows a seek back dropped;
// - afterwards (check()) it is brought in line with the gaps left: stopped when there are none,
//   retargeted (a further seek of the second player) when the shown state moved further, restarted
//   when a new gap lies before the rows it has already produced;
// - it is a host task ('progress' events labelled BACKFILL_LABEL: rows produced of the rows up to the
//   last gap's end; cancelTask stops it until the next seek or gap). The shown player is never waited for.
import type { RowBatch } from '../../query/fault-columns';
import { sliceBatch, type WorkerRows } from './fault-store';
import type { WorkerPlayer } from './worker-player';

export const BACKFILL_LABEL = 'filling the fault table';
/** rows from the first written on, below which the rows gathered are written every WRITE_EVERY_MS */
const SMALL_WRITE_ROWS = 1 << 18;
const WRITE_EVERY_MS = 250;

export interface BackfillTask {
  signal: AbortSignal;
  progress(done: number, total: number): void;
  finish(outcome: 'done' | 'cancelled' | 'failed'): void;
}

/** What the backfill needs of the session and of the shown player. */
export interface BackfillHost {
  /** the shown player's table */
  rows: WorkerRows;
  /** the rows the shown state has (its faults + hazards) */
  visible(): number;
  /** the shown state's trace time */
  time(): number;
  /** a second player on the same input, whose row batches go to onRows */
  open(onRows: (b: RowBatch) => void, onError: (e: Error) => void): Promise<WorkerPlayer>;
  task(label: string): BackfillTask;
}

interface Run {
  task: BackfillTask;
  player: WorkerPlayer | null;
  /** counts the players opened: rows and errors of an earlier one are ignored */
  generation: number;
  /** rows gathered, not written yet (in order, not overlapping) */
  pending: RowBatch[];
  pendingRows: number;
  /** rows [0, produced) came from the second player */
  produced: number;
  /** the trace time it was last asked to seek to (-1: none yet), and the last one it reached */
  target: number;
  arrived: number;
  /** the end of the last gap when last checked (the progress total) */
  end: number;
  lastWrite: number;
  closed: boolean;
}

export class Backfill {
  private run: Run | null = null;
  private holds = 0;
  private disposed = false;
  /** a run ended with rows it could not fill, or was cancelled: wait for a new gap or seek */
  private stuck = false;
  private scheduled = false;

  constructor(private readonly host: BackfillHost) {
    host.rows.onGap = () => this.soon();
  }

  /** True while a backfill runs. */
  get running(): boolean {
    return this.run !== null;
  }

  /** Runs a seek of the shown player: nothing is written meanwhile; the backfill follows it after. */
  async around<T>(seek: () => Promise<T> | T): Promise<T> {
    this.holds++;
    try {
      return await seek();
    } finally {
      this.holds--;
      this.stuck = false;
      this.check();
    }
  }

  private soon(): void {
    if (this.scheduled || this.disposed) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      this.stuck = false;
      this.check();
    }, 0);
  }

  /** Brings the backfill in line with the table's gaps: starts, retargets, restarts or stops it. */
  check(): void {
    if (this.disposed || this.holds > 0) return;
    let run = this.run;
    if (run) this.write(run);
    const gaps = this.host.rows.gaps(this.host.visible());
    if (gaps.length === 0) {
      if (run) this.finish(run, 'done');
      return;
    }
    if (!run) {
      if (this.stuck) return;
      run = this.start();
    }
    run.end = gaps.at(-1)![1];
    run.task.progress(Math.min(run.produced, run.end), run.end);
    if (gaps[0]![0] < run.produced) {
      // a gap before the rows already produced (gathered rows were all written above): start over
      this.restart(run);
      return;
    }
    this.aim(run);
  }

  /** Stops any backfill (the shown player goes). */
  dispose(): void {
    this.disposed = true;
    this.host.rows.onGap = null;
    if (this.run) this.finish(this.run, 'cancelled');
  }

  private start(): Run {
    const task = this.host.task(BACKFILL_LABEL);
    const run: Run = {
      task,
      player: null,
      generation: 0,
      pending: [],
      pendingRows: 0,
      produced: 0,
      target: -1,
      arrived: -1,
      end: 0,
      lastWrite: performance.now(),
      closed: false,
    };
    this.run = run;
    task.signal.addEventListener('abort', () => {
      if (run.closed) return;
      this.stuck = true;
      this.finish(run, 'cancelled');
    });
    this.launch(run);
    return run;
  }

  private restart(run: Run): void {
    const old = run.player;
    run.player = null;
    if (old) void old.dispose();
    run.pending = [];
    run.pendingRows = 0;
    run.produced = 0;
    run.target = -1;
    run.arrived = -1;
    this.launch(run);
  }

  private launch(run: Run): void {
    const generation = ++run.generation;
    const current = (): boolean => !run.closed && run.generation === generation;
    this.host
      .open(
        (b) => {
          if (current()) this.take(run, b);
        },
        (e) => {
          if (current()) this.failed(run, e);
        },
      )
      .then(
        (p) => {
          if (!current() || this.run !== run) {
            void p.dispose();
            return;
          }
          run.player = p;
          this.check();
        },
        (e: Error) => {
          if (current()) this.failed(run, e);
        },
      );
  }

  /** Seeks the second player to the shown state's time when that is further than it was asked. */
  private aim(run: Run): void {
    const player = run.player;
    if (!player) return; // opening: check() runs again once it is open
    const t = this.host.time();
    if (t <= run.target) {
      if (run.arrived === run.target) {
        // it reached the shown state's time and rows are still missing: the runs disagree; leave them
        this.stuck = true;
        this.finish(run, 'failed');
      }
      return;
    }
    run.target = t;
    void player.seek(t).then(() => this.reached(run, player, t));
  }

  /** The second player reached `t`: write what it gathered, then stop, go further or give up. */
  private reached(run: Run, player: WorkerPlayer, t: number): void {
    if (run.closed || run.player !== player) return;
    run.arrived = Math.max(run.arrived, t);
    this.check();
  }

  /** A row batch of the second player. */
  private take(run: Run, b: RowBatch): void {
    run.produced = b.base + b.length;
    // keep the rows from the first gap to the end of the last (rows between gaps too: few)
    const gaps = this.host.rows.gaps();
    if (gaps.length) {
      const lo = Math.max(b.base, gaps[0]![0]);
      const hi = Math.min(b.base + b.length, gaps.at(-1)![1]);
      if (lo < hi) {
        run.pending.push(sliceBatch(b, lo, hi));
        run.pendingRows += hi - lo;
      }
    }
    run.task.progress(Math.min(run.produced, run.end), run.end);
    if (this.holds > 0 || this.disposed) return;
    if (run.produced >= run.end && run.end > 0) {
      // the last missing row is in: no need to go on to the target
      this.check();
      return;
    }
    if (run.pending.length === 0) return;
    const span = this.host.rows.store.length - run.pending[0]!.base;
    const due =
      run.pendingRows * 4 >= span ||
      (span <= SMALL_WRITE_ROWS && performance.now() - run.lastWrite >= WRITE_EVERY_MS);
    if (due) {
      this.write(run);
      if (this.host.rows.gaps(this.host.visible()).length === 0) this.finish(run, 'done');
    }
  }

  /** Writes the rows gathered on the gap rows below the rows shown; drops the rest. */
  private write(run: Run): void {
    run.lastWrite = performance.now();
    if (run.pending.length === 0) return;
    this.host.rows.fill(run.pending, this.host.visible());
    run.pending = [];
    run.pendingRows = 0;
  }

  private failed(run: Run, _e: Error): void {
    if (run.closed) return;
    this.stuck = true;
    this.finish(run, 'failed');
  }

  private finish(run: Run, outcome: 'done' | 'cancelled' | 'failed'): void {
    if (run.closed) return;
    run.closed = true;
    if (this.run === run) this.run = null;
    const p = run.player;
    run.player = null;
    if (p) void p.dispose();
    run.pending = [];
    run.task.finish(outcome);
  }
}
