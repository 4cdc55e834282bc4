import { describe, expect, it } from 'vitest';
import { FaultColumns } from './fault-columns';
import { ColorRuleError, FaultQuery, type QuerySpec } from './query';
import { sampleStore } from './test-rows';
import { FilterError } from './filter';

const positions = (q: FaultQuery, spec: Partial<QuerySpec>, visible?: number): number[] =>
  q.run({ offset: 0, limit: 100, ...spec }, visible).rows.map((r) => r.row!);

describe('fault query', () => {
  it('sorts by every key, ties in row order', () => {
    const q = new FaultQuery(sampleStore());
    expect(positions(q, {})).toEqual([0, 1, 2, 3, 4, 5]);
    expect(positions(q, { sort: { key: 'index', descending: true } })).toEqual([5, 4, 3, 2, 1, 0]);
    expect(positions(q, { sort: { key: 'time' } })).toEqual([0, 1, 2, 3, 4, 5]);
    expect(positions(q, { sort: { key: 'time', descending: true } })).toEqual([4, 5, 3, 2, 1, 0]);
    expect(positions(q, { sort: { key: 'address' } })).toEqual([4, 1, 5, 0, 2, 3]);
    expect(positions(q, { sort: { key: 'bdf' } })).toEqual([0, 2, 3, 5, 1, 4]);
    expect(positions(q, { sort: { key: 'pasid' } })).toEqual([0, 2, 3, 5, 4, 1]);
    expect(positions(q, { sort: { key: 'reason' } })).toEqual([2, 4, 0, 1, 5, 3]);
    expect(positions(q, { sort: { key: 'access' } })).toEqual([1, 3, 5, 0, 2, 4]);
    expect(positions(q, { sort: { key: 'access', descending: true } })).toEqual([0, 2, 4, 1, 3, 5]);
  });

  it('filters, pages and counts', () => {
    const q = new FaultQuery(sampleStore());
    const r = q.run({ filter: 'fault', sort: { key: 'time', descending: true }, offset: 1, limit: 2 });
    expect(r.total).toBe(5);
    expect(r.all).toBe(6);
    expect(r.rows.map((x) => x.row)).toEqual([5, 3]);
    expect(q.run({ filter: 'reason == 0x42', offset: 0, limit: 10 })).toEqual({ total: 0, all: 6, rows: [] });
    expect(positions(q, {}, 3)).toEqual([0, 1, 2]);
  });

  it('colors each row by the first rule it matches', () => {
    const q = new FaultQuery(sampleStore());
    const r = q.run({ colorRules: ['hazard', 'reason == 6', 'write'], offset: 0, limit: 10 });
    expect(r.rows.map((x) => x.colorRule)).toEqual([2, 1, 0, -1, 2, 1]);
    expect(() => q.run({ colorRules: ['hazard', 'reason =='], offset: 0, limit: 1 })).toThrow(ColorRuleError);
    try {
      q.run({ colorRules: ['hazard', 'reason =='], offset: 0, limit: 1 });
    } catch (e) {
      expect((e as Error).message).toBe(
        'color rule 2: column 10: expected a number (decimal or 0x hex) for reason, found the end of the filter',
      );
    }
    expect(() => q.run({ filter: '(', offset: 0, limit: 1 })).toThrow(FilterError);
  });

  it('extends its cached indexes as rows arrive and cuts them when rows are dropped', () => {
    const store = new FaultColumns(8);
    const q = new FaultQuery(store);
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const add = (k: number): void => {
      for (let j = 0; j < k; j++) {
        const t = store.length * 10 + rnd(25); // not quite in order: sorting matters
        if (rnd(10) === 0)
          store.appendHazard({
            time: t,
            requesterId: rnd(4),
            addr: rnd(8) * 4096,
            write: true,
            unmapOrigin: 'u',
            unmapTime: 0,
          });
        else
          store.appendFault({
            time: t,
            requesterId: rnd(4),
            pasid: rnd(3) ? null : rnd(5),
            write: rnd(2) === 1,
            pageAddr: rnd(1 << 20) * 4096 * (rnd(2) ? 1 : 2 ** 20),
            reason: 5 + rnd(2),
            stage: 'second-level',
            recording: 'recorded',
            classes: [],
          });
      }
    };
    const specs: QuerySpec[] = [
      { filter: 'reason == 6 && !pasid', sort: { key: 'address' }, offset: 0, limit: 10_000 },
      { filter: 'write', sort: { key: 'time', descending: true }, offset: 3, limit: 50 },
      { filter: '', sort: { key: 'bdf' }, offset: 0, limit: 10_000 },
      { filter: 'hazard || pasid == 2', offset: 0, limit: 10_000, sort: { key: 'index', descending: true } },
      { filter: 'rid == 00:00.1', sort: { key: 'pasid', descending: true }, offset: 0, limit: 10_000 },
    ];
    const check = (visible?: number): void => {
      for (const s of specs) expect(q.run(s, visible)).toEqual(new FaultQuery(store).run(s, visible));
    };
    add(500);
    check();
    const cached = (q as unknown as { indexes: Map<string, { ids: Uint32Array }> }).indexes;
    expect(cached.size).toBe(5);
    add(1);
    check();
    add(700);
    check();
    check(900); // fewer rows visible (a snapshot during a seek)
    check();
    store.truncate(333); // a seek back
    add(50);
    check();
    store.truncate(10);
    store.truncate(5);
    add(2000);
    check();
    expect(cached.size).toBe(5);
  });

  it('clusters the matching faults incrementally', () => {
    const store = sampleStore();
    const q = new FaultQuery(store);
    expect(q.clusters('').map((c) => [c.requesterId, c.pasid, c.reason, c.count])).toEqual([
      [0xa0, null, 5, 1],
      [0x200, 3, 6, 1],
      [0xa0, null, 0x101, 1],
      [0x10, 0, 4, 1],
      [0xfb, null, 6, 1],
    ]);
    expect(q.clusters('reason == 6').map((c) => c.requesterId)).toEqual([0x200, 0xfb]);
    // 00:1f.3 again 50 ms later, the next 64 KiB window: the same cluster
    store.appendFault({
      time: 3.05e9,
      requesterId: 0xfb,
      pasid: null,
      write: false,
      pageAddr: 0x17000,
      reason: 6,
      stage: 'second-level',
      recording: 'recorded',
      classes: [],
    });
    const c = q.clusters('reason == 6');
    expect(c.map((x) => [x.requesterId, x.count, x.lowestPage, x.highestPage])).toEqual([
      [0x200, 1, 0x1000, 0x1000],
      [0xfb, 2, 0x7000, 0x17000],
    ]);
    store.truncate(6);
    expect(q.clusters('reason == 6').map((x) => x.count)).toEqual([1, 1]);
  });
});
