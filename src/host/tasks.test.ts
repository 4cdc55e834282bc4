// Long tasks: progress throttled to one report per interval (first and last always pass), a last
// report with `finished`, and cancel through the task's AbortSignal. A fake clock stands in for time.
import { describe, expect, it } from 'vitest';
import type { Progress } from '../shared/api';
import { Tasks, throttle } from './tasks';

describe('throttle', () => {
  it('passes the first report, then one per 100 ms, and every finishing one', () => {
    let t = 0;
    const got: Progress[] = [];
    const send = throttle(
      (p) => got.push(p),
      100,
      () => t,
    );
    for (t = 0; t <= 250; t += 10) send({ task: 'a', done: t, total: 1000 });
    send({ task: 'a', done: 1000, total: 1000, finished: 'done' });
    // at 0, 100 and 200 ms (the others come sooner than 100 ms after the last one passed)
    expect(got.map((p) => p.done)).toEqual([0, 100, 200, 1000]);
    expect(got.at(-1)?.finished).toBe('done');
  });
});

describe('Tasks', () => {
  it('numbers tasks, ends with done = total and forgets finished ones', () => {
    let t = 0;
    const got: Progress[] = [];
    const tasks = new Tasks(
      (p) => got.push(p),
      100,
      () => t,
    );
    const a = tasks.start('importing a.log');
    expect(a.id).toBe('task-1');
    a.progress(10, 500);
    t = 50;
    a.progress(20, 500); // throttled
    a.finish('done');
    expect(got).toEqual([
      { task: 'task-1', label: 'importing a.log', done: 10, total: 500 },
      { task: 'task-1', label: 'importing a.log', done: 500, total: 500, finished: 'done' },
    ]);
    expect(tasks.ids()).toEqual([]);
    expect(tasks.start('b').id).toBe('task-2');
  });

  it('cancels a running task through its signal, once', () => {
    const got: Progress[] = [];
    const tasks = new Tasks((p) => got.push(p));
    const a = tasks.start('a');
    a.progress(3, 10);
    expect(tasks.cancel('task-9')).toBe(false);
    expect(tasks.cancel(a.id)).toBe(true);
    expect(a.signal.aborted).toBe(true);
    expect((a.signal.reason as Error).name).toBe('AbortError');
    expect(tasks.cancel(a.id)).toBe(false);
    a.finish('cancelled');
    expect(got.at(-1)).toEqual({ task: a.id, label: 'a', done: 3, total: 10, finished: 'cancelled' });
    expect(tasks.cancel(a.id)).toBe(false);
  });
});
