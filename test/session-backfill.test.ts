// A seek far forward rebuilds the model from a checkpoint: the rows of the faults and hazards it
// skipped are not replayed, and the session fills them in the background with a second player
// (src/host/replay/backfill.ts), reporting it as a 'progress' task. On a generated native trace with
// small checkpoint intervals: after play to the end, a seek back and a seek far forward, the table
// ends up with every row a straight replay to the same time has, and a formerly skipped fault has its
// details; a seek back while the backfill runs leaves exactly the rows up to the new time.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genCommand } from '../src/cli/gen-command';
import { BACKFILL_LABEL } from '../src/host/replay/backfill';
import { WorkerRows } from '../src/host/replay/fault-store';
import { FaultColumns } from '../src/query/fault-columns';
import { Session } from '../src/host/session';
import type { EventName, EventPayloads, FaultRow, Progress, ReplayStats } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-backfill-'));
const path = join(dir, 'backfill.iotrace');
afterAll(() => rm(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await genCommand(
    { seed: 11, tlps: 120_000, faultRate: 0.02, staleUnmaps: 4, controlEvents: 40, output: path },
    () => undefined,
  );
});

function session(checkpointEvery = 2048) {
  const progress: Progress[] = [];
  let last: ReplayStats | null = null;
  const s = new Session(
    'web',
    <E extends EventName>(event: E, payload: EventPayloads[E]) => {
      if (event === 'progress') progress.push(payload as Progress);
      if (event === 'stats') last = payload as ReplayStats;
    },
    { worker: { checkpointEvery } },
  );
  return { s, progress, stats: () => last };
}

async function rows(s: Session): Promise<FaultRow[]> {
  return (await s.handlers.queryFaults({ offset: 0, limit: 1_000_000 })).rows;
}

const skipped = (r: FaultRow): boolean => r.reasonText.startsWith('not replayed');

/** The rows of a session that just seeks (from the top, straight through) to `time`. */
async function straight(time: number): Promise<{ rows: FaultRow[]; stats: ReplayStats }> {
  const { s } = session();
  try {
    await s.openPath(path);
    const stats = await s.handlers.replayControl({ action: 'seek', time });
    return { rows: await rows(s), stats };
  } finally {
    s.dispose();
  }
}

/** Plays to the end, then seeks to 10 % of the trace (the table is cut there). */
async function playedThenBack(s: Session, stats: () => ReplayStats | null): Promise<number> {
  await s.openPath(path);
  await s.handlers.replayControl({ action: 'speed', speed: 0 });
  await s.handlers.replayControl({ action: 'play' });
  await expect.poll(() => stats()?.status, { timeout: 60_000, interval: 50 }).toBe('done');
  const end = (await s.handlers.replayStats({})).endTime;
  await s.handlers.replayControl({ action: 'seek', time: Math.floor(end * 0.1) });
  return end;
}

/** 40 rows: faults, and a hazard every 7th row (with its unmap), at growing times. */
function reference(): FaultColumns {
  const s = new FaultColumns(16);
  for (let i = 0; i < 40; i++) {
    if (i % 7 === 3)
      s.appendHazard({
        time: i * 100,
        requesterId: 0xa0,
        addr: 0x1000 * i,
        write: true,
        unmapOrigin: `trace:${i}`,
        unmapTime: i * 100 - 5,
      });
    else
      s.appendFault({
        time: i * 100,
        requesterId: 0x100 + (i % 3),
        pasid: null,
        write: i % 2 === 0,
        pageAddr: 0x1000 * i,
        reason: 5 + (i % 2),
        stage: 'second-level',
        recording: 'recorded',
        classes: [],
      });
  }
  return s;
}

describe('WorkerRows.fill', () => {
  it('writes rows on gap rows only, below the rows shown, and the queries see them', () => {
    const ref = reference();
    const all = Array.from({ length: 40 }, (_, i) => ref.row(i));
    const w = new WorkerRows();
    let gaps = 0;
    w.onGap = () => gaps++;
    w.take(ref.batch(0, 0, 10));
    w.take(ref.batch(30, 30, 35)); // a far seek: rows 10..29 skipped
    expect(gaps).toBe(1);
    expect(w.gaps()).toEqual([[10, 30]]);
    expect(w.query.run({ offset: 0, limit: 100, filter: 'reason == 0x06' }).total).toBe(
      all
        .slice(0, 10)
        .concat(all.slice(30, 35))
        .filter((r) => r.reason === 6).length,
    );
    // another player's rows, in two batches: the rows it gives outside the gap are left alone
    const other = reference();
    w.fill([other.batch(0, 0, 18)], 35);
    expect(w.gaps()).toEqual([[18, 30]]);
    expect(w.missing(35)).toBe(12);
    w.fill([other.batch(18, 18, 40)], 35);
    expect(w.gaps()).toEqual([]);
    expect(w.store.length).toBe(35);
    expect(Array.from({ length: 35 }, (_, i) => w.store.row(i))).toEqual(all.slice(0, 35));
    expect(w.query.run({ offset: 0, limit: 100, filter: 'reason == 0x06' }).total).toBe(
      all.slice(0, 35).filter((r) => r.reason === 6).length,
    );
    expect(w.query.run({ offset: 0, limit: 100, filter: 'hazard' }).rows).toEqual(
      all.slice(0, 35).filter((r) => r.kind === 'hazard'),
    );
  });

  it('writes nothing past the rows shown, nor on rows a seek back dropped', () => {
    const ref = reference();
    const w = new WorkerRows();
    w.take(ref.batch(0, 0, 5));
    w.take(ref.batch(25, 25, 30));
    // a seek back to 12 rows shown (the rows past them are still held)
    w.fill([ref.batch(0, 0, 40)], 12);
    expect(w.gaps()).toEqual([[12, 25]]);
    expect(w.gaps(12)).toEqual([]);
    // the seek back's rows arrive: the table is cut at 8
    w.take(ref.batch(8, 8, 9));
    expect(w.gaps()).toEqual([]);
    expect(w.fill([ref.batch(0, 0, 40)], 40)).toBe(0);
    expect(w.store.length).toBe(9);
  });
});

describe('the fault table backfill', () => {
  it('fills the rows a far seek skipped, as a straight replay has them', async () => {
    const { s, progress, stats } = session();
    try {
      const end = await playedThenBack(s, stats);
      const t = Math.floor(end * 0.9);
      const at = await s.handlers.replayControl({ action: 'seek', time: t });
      const want = await straight(t);
      expect({ faults: at.faults, hazards: at.hazards }).toEqual({
        faults: want.stats.faults,
        hazards: want.stats.hazards,
      });
      // the seek left a gap, which a backfill task filled
      await expect
        .poll(() => progress.find((p) => p.label === BACKFILL_LABEL && p.finished), { timeout: 60_000 })
        .toMatchObject({ finished: 'done' });
      const got = await rows(s);
      expect(got.length).toBe(want.rows.length);
      expect(got.filter(skipped)).toEqual([]);
      expect(got).toEqual(want.rows);
      // a fault the seek had skipped has its details
      const mid = got.find((r) => r.kind === 'fault' && r.time > end * 0.5)!;
      const d = await s.handlers.faultDetails({ index: mid.index });
      expect(d).toMatchObject({ kind: 'fault', index: mid.index, time: mid.time, reason: mid.reason });
      // and the table keeps up with further play
      await s.handlers.replayControl({ action: 'play' });
      await expect.poll(() => stats()?.status, { timeout: 60_000, interval: 50 }).toBe('done');
      const all = await rows(s);
      expect(all.filter(skipped)).toEqual([]);
      expect(all.length).toBe((stats()?.faults ?? 0) + (stats()?.hazards ?? 0));
    } finally {
      s.dispose();
    }
  }, 180_000);

  it('leaves exactly the rows up to the new time after a seek back during a backfill', async () => {
    const { s, stats } = session();
    try {
      const end = await playedThenBack(s, stats);
      await s.handlers.replayControl({ action: 'seek', time: Math.floor(end * 0.9) });
      // while that backfill runs (or after it: the rows must be the same)
      const t = Math.floor(end * 0.5);
      const at = await s.handlers.replayControl({ action: 'seek', time: t });
      const want = await straight(t);
      expect(at.faults + (at.hazards ?? 0)).toBe(want.rows.length);
      await expect
        .poll(async () => (await rows(s)).filter(skipped).length, { timeout: 60_000, interval: 100 })
        .toBe(0);
      const got = await s.handlers.queryFaults({ offset: 0, limit: 1_000_000 });
      expect(got.all).toBe(want.rows.length);
      expect(got.rows).toEqual(want.rows);
    } finally {
      s.dispose();
    }
  }, 180_000);
});
