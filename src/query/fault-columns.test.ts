import { describe, expect, it } from 'vitest';
import { FaultColumns, FLAG_GAP } from './fault-columns';
import { sampleStore } from './test-rows';

describe('fault columns', () => {
  it('holds rows in order and materializes them as the API rows', () => {
    const s = sampleStore();
    expect(s.length).toBe(6);
    expect(s.faults).toBe(5);
    expect(s.hazards).toBe(1);
    expect(s.row(0)).toEqual({
      index: 0,
      row: 0,
      kind: 'fault',
      time: 1000,
      bdf: '0000:00:14.0',
      pasid: null,
      access: 'write',
      address: '0xfff01000',
      reason: 5,
      reasonText: 'PTE Write access is not set',
      stage: 'second-level',
      recording: 'recorded',
      classes: [],
      dmesg:
        'DMAR: [DMA Write NO_PASID] Request device [00:14.0] fault addr 0xfff01000 [fault reason 0x05] PTE Write access is not set',
      profile: 'vtd-spec',
      tbit: null,
    });
    const h = s.row(2);
    expect(h).toMatchObject({
      kind: 'hazard',
      index: 0,
      row: 2,
      address: '0x200000000000',
      access: 'write',
      hazard: { unmapOrigin: 'trace.jsonl:7', unmapTime: 1_590_000, age: 10_000 },
    });
    expect(s.row(3)).toMatchObject({ index: 2, kind: 'fault', reason: 0x101, tbit: 1, stage: 'tee-io' });
    expect(s.row(4)).toMatchObject({
      index: 3,
      bdf: '0001:00:02.0',
      pasid: 0,
      address: '0x0',
      classes: ['beyond-address-width'],
      recording: 'fpd',
      tbit: 0,
    });
    expect(s.row(1).dmesg).toBe(
      'DMAR: [DMA Read PASID 0x3] Request device [02:00.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set',
    );
  });

  it('gives faults back as the engine reports them (for clustering)', () => {
    const s = sampleStore();
    expect(s.fault(2)).toBeNull();
    expect(s.fault(1)).toEqual({
      index: 1,
      time: 1_500_000,
      requesterId: 0x200,
      pasid: 3,
      write: false,
      pageAddr: 0x1000,
      reason: 6,
      stage: 'second-level',
      recording: 'compressed',
      classes: ['rmrr-without-unity-map'],
      profile: 'vtd-spec',
    });
  });

  it('grows past its capacity and truncates, recounting faults and hazards', () => {
    const s = new FaultColumns(16);
    for (let i = 0; i < 100_000; i++) {
      if (i % 10 === 9)
        s.appendHazard({
          time: i,
          requesterId: 1,
          addr: i * 4096,
          write: false,
          unmapOrigin: `u${i % 3}`,
          unmapTime: i - 1,
        });
      else
        s.appendFault({
          time: i,
          requesterId: 1,
          pasid: null,
          write: true,
          pageAddr: i * 4096,
          reason: 6,
          stage: 'root',
          recording: 'recorded',
          classes: [],
        });
    }
    expect(s.length).toBe(100_000);
    expect(s.capacity).toBeGreaterThanOrEqual(100_000);
    expect([s.faults, s.hazards]).toEqual([90_000, 10_000]);
    expect(s.row(99_999)).toMatchObject({
      kind: 'hazard',
      index: 9_999,
      time: 99_999,
      hazard: { unmapOrigin: 'u0' },
    });
    const epoch = s.epoch;
    s.truncate(25); // rows 0..24: faults 0..8, 10..18, 20..24 and hazards at 9, 19
    expect(s.length).toBe(25);
    expect([s.faults, s.hazards]).toEqual([23, 2]);
    expect(s.lowestSince(epoch)).toBe(25);
    s.truncate(30); // no-op: never lengthens
    expect(s.length).toBe(25);
  });

  it('passes batches between stores, mapping their name lists, with gaps for skipped rows', () => {
    const src = new FaultColumns();
    src.appendFault(
      {
        time: 5,
        requesterId: 2,
        pasid: 1,
        write: false,
        pageAddr: 0x3000,
        reason: 0x85,
        stage: 'odd-stage',
        recording: 'fpd',
        classes: ['new-class', 'dma-while-blocked'],
      },
      40,
    );
    src.appendHazard(
      { time: 6, requesterId: 2, addr: 0x4000, write: true, unmapOrigin: 'x:1', unmapTime: 1 },
      7,
    );
    const b = src.batch(10);
    expect(b.length).toBe(2);
    expect(FaultColumns.transferables(b).length).toBe(13);

    const dst = new FaultColumns();
    dst.appendFault({
      time: 1,
      requesterId: 1,
      pasid: null,
      write: false,
      pageAddr: 0,
      reason: 1,
      stage: 'other-stage',
      recording: 'recorded',
      classes: ['another-class'],
    });
    dst.appendBatch(b);
    expect(dst.length).toBe(12);
    expect(dst.cols.flags[5]! & FLAG_GAP).toBe(FLAG_GAP);
    expect(dst.row(5).reasonText).toMatch(/^not replayed/);
    expect(dst.row(10)).toMatchObject({
      index: 40,
      stage: 'odd-stage',
      recording: 'fpd',
      classes: ['dma-while-blocked', 'new-class'],
      pasid: 1,
    });
    expect(dst.row(11)).toMatchObject({
      kind: 'hazard',
      index: 7,
      hazard: { unmapOrigin: 'x:1', unmapTime: 1, age: 5 },
    });
    expect(dst.row(0)).toMatchObject({ stage: 'other-stage', classes: ['another-class'] });
    // the same rows sent again after a seek back replace what follows them
    dst.appendBatch(src.batch(1));
    expect(dst.length).toBe(3);
    expect(dst.row(1).index).toBe(40);
    // an earlier hazard sent after a later one (a far seek, then a seek back)
    dst.appendHazard({ time: 7, requesterId: 2, addr: 0, write: false, unmapOrigin: 'y:2', unmapTime: 2 }, 3);
    expect(dst.row(3)).toMatchObject({ index: 3, hazard: { unmapOrigin: 'y:2', unmapTime: 2 } });
    expect(dst.row(2)).toMatchObject({ index: 7, hazard: { unmapOrigin: 'x:1', unmapTime: 1 } });
  });
});
