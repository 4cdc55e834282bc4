// Long host tasks (imports) that report progress and can be cancelled. Contract:
// - Tasks.start(label) gives the task an id ("task-1", "task-2"…), an AbortSignal for the work loop,
//   progress(done, total) and finish(outcome);
// - progress reaches the sink at most once per `minIntervalMs` (default 100 ms: ~10 events a second),
//   the first report always passes, and finish() always sends a last event with done = total and
//   `finished` set, after which the task is forgotten;
// - cancel(id) aborts the task's signal (true), or says it knows no such running task (false).
// The clock is injectable so the throttle is tested without waiting.
import type { Progress } from '../shared/api';

export type ProgressSink = (p: Progress) => void;

/** Passes a report when `minIntervalMs` has gone by since the last one passed (the first always does). */
export function throttle(
  sink: ProgressSink,
  minIntervalMs = 100,
  now: () => number = Date.now,
): (p: Progress) => void {
  let last = -Infinity;
  return (p) => {
    const t = now();
    if (p.finished === undefined && t - last < minIntervalMs) return;
    last = t;
    sink(p);
  };
}

export interface Task {
  id: string;
  signal: AbortSignal;
  progress(done: number, total: number): void;
  finish(outcome: NonNullable<Progress['finished']>): void;
}

export class Tasks {
  private next = 1;
  private readonly running = new Map<string, { abort: AbortController; total: number }>();

  constructor(
    private readonly sink: ProgressSink,
    private readonly minIntervalMs = 100,
    private readonly now: () => number = Date.now,
  ) {}

  start(label: string): Task {
    const id = `task-${this.next++}`;
    const abort = new AbortController();
    const entry = { abort, total: 0, done: 0 };
    this.running.set(id, entry);
    const send = throttle(this.sink, this.minIntervalMs, this.now);
    let finished = false;
    return {
      id,
      signal: abort.signal,
      progress: (done, total) => {
        if (finished) return;
        entry.total = total;
        entry.done = done;
        send({ task: id, label, done, total });
      },
      finish: (outcome) => {
        if (finished) return;
        finished = true;
        this.running.delete(id);
        const total = Math.max(entry.total, entry.done);
        send({ task: id, label, done: outcome === 'done' ? total : entry.done, total, finished: outcome });
      },
    };
  }

  cancel(id: string): boolean {
    const t = this.running.get(id);
    if (!t || t.abort.signal.aborted) return false;
    t.abort.abort(new DOMException(`${id} cancelled`, 'AbortError'));
    return true;
  }

  /** ids of the tasks still running */
  ids(): string[] {
    return [...this.running.keys()];
  }
}
