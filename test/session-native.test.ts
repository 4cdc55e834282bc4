// The session behind the UI plays a native trace in the worker player: play, pause, step, seek,
// speed through the API handlers, 'stats' events at most 30 a second with typed-array aggregates,
// fault rows and the device table. Known answers: the generator's announced counts.
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { genCommand } from '../src/cli/gen-command';
import { Session } from '../src/host/session';
import type { EventName, EventPayloads, ReplayStats } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-native-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function session() {
  const stats: { at: number; s: ReplayStats }[] = [];
  const s = new Session('web', <E extends EventName>(event: E, payload: EventPayloads[E]) => {
    if (event === 'stats') stats.push({ at: performance.now(), s: payload as ReplayStats });
  });
  return { s, stats };
}

describe('a native trace in the session', () => {
  it('plays to the end with throttled stats, pages its faults, seeks and exports', async () => {
    const path = join(dir, 'session.iotrace');
    await genCommand(
      { seed: 21, tlps: 200_000, faultRate: 0.01, staleUnmaps: 4, output: path },
      () => undefined,
    );
    const { s, stats } = session();
    try {
      const file = await s.openPath(path);
      expect(file.kind).toBe('trace');
      const first = await s.handlers.replayStats({});
      // control events count in eventsTotal as the decoder reads them
      expect(first).toMatchObject({ status: 'ready', tlps: 0 });
      expect(first.eventsTotal).toBeGreaterThanOrEqual(200_000);
      const t0 = performance.now();
      await s.handlers.replayControl({ action: 'play' });
      await expect.poll(() => stats.at(-1)?.s.status, { timeout: 30_000 }).toBe('done');
      const seconds = (performance.now() - t0) / 1000;
      const last = stats.at(-1)!.s;
      expect(last.tlps).toBe(200_000);
      expect(last.eventsTotal).toBe(200_000 + 4 * 3 + 4 * 2);
      expect(last.eventsApplied).toBe(last.eventsTotal);
      expect(last.hazards).toBe(4);
      // at most 30 a second, plus the one that says it is done
      expect(stats.filter((x) => x.at >= t0).length).toBeLessThanOrEqual(Math.ceil(seconds * 30) + 2);
      for (let i = 1; i < stats.length; i++) expect(stats[i]!.at - stats[i - 1]!.at).toBeGreaterThan(30);
      const agg = last.aggregates!;
      expect(agg.tlpsByDevice.tlps.reduce((a, b) => a + b, 0)).toBe(200_000);
      expect(agg.faultsByDevice.count.reduce((a, b) => a + b, 0)).toBe(last.faults);
      expect(agg.faultsByReason.count.reduce((a, b) => a + b, 0)).toBe(last.faults);
      expect(agg.faultsByRange.count.reduce((a, b) => a + b, 0)).toBe(last.faults);
      const header = (await readFile(path)).includes(Buffer.from('expected'));
      expect(header).toBe(true);
      const page = await s.handlers.queryFaults({ offset: 10, limit: 5, filter: 'fault' });
      expect(page.total).toBe(last.faults);
      expect(page.rows.map((r) => r.index)).toEqual([10, 11, 12, 13, 14]);
      const summary = await s.handlers.platformSummary({});
      expect(summary?.devices.map((d) => d.tlps).reduce((a, b) => a + b, 0)).toBe(200_000);
      const back = await s.handlers.replayControl({ action: 'seek', time: last.endTime / 2 });
      expect(back.status).toBe('paused');
      expect(back.tlps).toBeGreaterThan(0);
      expect(back.tlps).toBeLessThan(200_000);
      expect((await s.handlers.queryFaults({ offset: 0, limit: 10_000, filter: 'fault' })).total).toBe(
        back.faults,
      );
      await s.handlers.replayControl({ action: 'step', count: 3 });
      await expect
        .poll(async () => (await s.handlers.replayStats({})).eventsApplied)
        .toBe(back.eventsApplied + 3);
      // the fault table's rows shown now; the report covers the whole trace, whatever the time shown
      const csv = await s.handlers.exportReport({ format: 'fault-rows-csv', filter: 'fault' });
      expect(new TextDecoder().decode(csv.bytes).split('\r\n').filter(Boolean)).toHaveLength(1 + back.faults);
      const json = JSON.parse(
        new TextDecoder().decode((await s.handlers.exportReport({ format: 'json' })).bytes),
      );
      expect(json).toMatchObject({ format: 'iommu-lab/fault-report', summary: { hazards: 4 } });
    } finally {
      s.dispose();
    }
  });

  it('takes an uploaded native trace', async () => {
    const path = join(dir, 'upload.iotrace');
    await genCommand({ seed: 22, tlps: 1000, output: path }, () => undefined);
    const { s } = session();
    try {
      const file = await s.handlers.openFile({
        name: 'upload.iotrace',
        bytes: new Uint8Array(await readFile(path)),
      });
      expect(file).toMatchObject({ name: 'upload.iotrace', kind: 'trace' });
      await s.handlers.replayControl({ action: 'play' });
      await expect.poll(async () => (await s.handlers.replayStats({})).status).toBe('done');
      expect((await s.handlers.replayStats({})).eventsTotal).toBe(1000 + 12);
    } finally {
      s.dispose();
    }
  });
});
