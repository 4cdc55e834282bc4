// RowSink.take (fault-store.ts): the rows the engine worker gathered since its last snapshot, as one batch
// in trace order. A fold hands its faults before its hazards, so a hazard can come after a later fault and
// must be put back before it; rows already in order come out as they went in.
import { describe, expect, it } from 'vitest';
import type { Fault, Hazard } from '../../engine/replay';
import { FaultColumns, FLAG_HAZARD } from '../../query/fault-columns';
import { RowSink } from './fault-store';

const fault = (index: number, time: number, pageAddr: number): Fault => ({
  index,
  time,
  requesterId: 0x0100,
  pasid: null,
  write: false,
  pageAddr,
  reason: 6,
  stage: 'second-level',
  recording: 'recorded',
  classes: [],
  profile: 'vtd-spec',
});
const hazard = (time: number, addr: number): Hazard => ({
  kind: 'stale-iotlb',
  time,
  requesterId: 0x0100,
  addr,
  write: true,
  unmapOrigin: 'test',
  unmapTime: time - 5,
});

/** [time, hazard?] of each row of a batch written into a fresh store */
function rows(sink: RowSink, total: number): [number, boolean][] {
  const b = sink.take(total)!;
  const store = new FaultColumns(16);
  store.appendBatch(b);
  return Array.from({ length: store.length }, (_, i) => [
    store.cols.time[i]!,
    (store.cols.flags[i]! & FLAG_HAZARD) !== 0,
  ]);
}

describe('RowSink.take', () => {
  it('puts a fold’s hazard back before a later fault', () => {
    const sink = new RowSink('vtd-spec');
    sink.fault(fault(0, 10, 0x1000), 0);
    sink.fault(fault(1, 30, 0x2000), 1);
    sink.hazard(hazard(20, 0x3000), 0);
    expect(rows(sink, 3)).toEqual([
      [10, false],
      [20, true],
      [30, false],
    ]);
    expect(sink.size).toBe(0);
    expect(sink.take(3)).toBeNull();
  });

  it('keeps rows already in order as they are, ties in the order they came', () => {
    const sink = new RowSink('vtd-spec');
    sink.fault(fault(0, 10, 0x1000), 0);
    sink.hazard(hazard(10, 0x3000), 0);
    sink.fault(fault(1, 40, 0x2000), 1);
    const b = sink.take(3)!;
    expect(b.base).toBe(0);
    expect([...b.columns.time]).toEqual([10, 10, 40]);
    expect([...b.columns.flags].map((f) => (f & FLAG_HAZARD) !== 0)).toEqual([false, true, false]);
    expect([...b.unmapTime]).toEqual([5]);
  });
});
