// The details pane reads its row from the fault table's columnar store (every fault and hazard), not from
// a capped list: on a generated native trace of more than 60 000 faults, fault #60 000 has details that
// agree with its table row (time, request, reason, dmesg; the walk at its time stops with the row's
// reason at the row's stage); a use-after-unmap hazard has details too: its request, the walk at its
// time, and the stale-IOTLB hint naming the unmap the row names. On the laptop sample the Wi-Fi card's
// write at 6400 ns follows the unmap of line 26 (at 6300 ns): by then the tables no longer map the page,
// so the walk faults (reason 0x05, a write to a page without W), while the stale IOTLB entry let it through.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { genCommand } from '../src/cli/gen-command';
import { Session } from '../src/host/session';
import { ApiError, type ReplayStats } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-store-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function refusal(call: () => unknown): Promise<ApiError> {
  const e = await Promise.resolve()
    .then(call)
    .then(
      () => null,
      (x: unknown) => x,
    );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

describe('fault details from the fault store', () => {
  it('has the details of fault #60 000 of a native trace, and of its hazards', async () => {
    const path = join(dir, 'many.iotrace');
    await genCommand(
      { seed: 5, tlps: 250_000, faultRate: 0.3, staleUnmaps: 3, output: path },
      () => undefined,
    );
    let last: ReplayStats | null = null;
    const s = new Session('web', (event, data) => {
      if (event === 'stats') last = data as ReplayStats;
    });
    try {
      await s.openPath(path);
      await s.handlers.replayControl({ action: 'speed', speed: 0 });
      await s.handlers.replayControl({ action: 'play' });
      await expect.poll(() => last?.status, { timeout: 60_000, interval: 100 }).toBe('done');
      const stats = await s.handlers.replayStats({});
      expect(stats.faults).toBeGreaterThan(60_000);
      expect(stats.hazards).toBeGreaterThan(0);

      const page = await s.handlers.queryFaults({ offset: 60_000, limit: 1, filter: 'fault' });
      const row = page.rows[0]!;
      expect(row.index).toBe(60_000);
      const d = await s.handlers.faultDetails({ index: 60_000 });
      expect(d).toMatchObject({
        kind: 'fault',
        index: 60_000,
        time: row.time,
        request: { bdf: row.bdf, pasid: row.pasid, access: row.access, address: row.address },
        reason: row.reason,
        stage: row.stage,
        dmesg: row.dmesg,
      });
      if (row.reason <= 0xff) {
        expect({ reason: d.walk.reason, stage: d.walk.stage }).toEqual({
          reason: row.reason,
          stage: row.stage,
        });
        expect(d.walk.levels.length).toBeGreaterThan(0);
      }
      expect(d.hint.text.length).toBeGreaterThan(10);

      // the last fault too, far past any capped list
      const lastFault = await s.handlers.faultDetails({ index: stats.faults - 1 });
      expect(lastFault.index).toBe(stats.faults - 1);
      const none = await refusal(() => s.handlers.faultDetails({ index: stats.faults + 10 }));
      expect(none.code).toBe('EINVAL');
      expect(none.message).toBe(
        `faultDetails: no fault ${stats.faults + 10} yet (${stats.faults} faults replayed so far)`,
      );

      // each hazard: its row's request and unmap, the stale-IOTLB hint naming that unmap
      const hazards = await s.handlers.queryFaults({ offset: 0, limit: 100, filter: 'hazard' });
      expect(hazards.total).toBe(stats.hazards);
      for (const h of hazards.rows) {
        const hd = await s.handlers.faultDetails({ index: h.index, kind: 'hazard' });
        expect(hd).toMatchObject({
          kind: 'hazard',
          index: h.index,
          time: h.time,
          request: { bdf: h.bdf, access: h.access, address: h.address },
          hazard: h.hazard,
          hint: { rule: 'stale-iotlb', title: 'Stale IOTLB (use after unmap)', team: 'driver' },
        });
        expect(hd.hint.text).toContain(`after ${h.hazard!.unmapOrigin} unmapped it`);
        expect(hd.hint.text).toContain(`an access ${h.hazard!.age} ns after the unmap`);
      }
    } finally {
      s.dispose();
    }
  }, 120_000);

  it('gives the laptop sample’s hazard its walk at its time and the unmap', async () => {
    const s = new Session('web', () => undefined);
    try {
      await s.openPath('traces/laptop-demo.trace.jsonl');
      expect((await refusal(() => s.handlers.faultDetails({ index: 0, kind: 'hazard' }))).message).toBe(
        'faultDetails: no hazard 0 yet (0 hazards replayed so far)',
      );
      await s.handlers.replayControl({ action: 'seek', time: Number.MAX_SAFE_INTEGER });
      const d = await s.handlers.faultDetails({ index: 0, kind: 'hazard' });
      expect(d).toMatchObject({
        kind: 'hazard',
        index: 0,
        time: 6400,
        request: { bdf: '0000:01:00.0', pasid: null, access: 'write', address: '0xfff01000' },
        hazard: {
          unmapOrigin: expect.stringMatching(/laptop-demo\.trace\.jsonl:26$/),
          unmapTime: 6300,
          age: 100,
        },
        hint: { rule: 'stale-iotlb' },
      });
      expect(d.walk.status).toBe('fault');
      expect(d.walk.reason).toBe(0x05);
      expect(d.hint.text).toMatch(
        /^01:00\.0 used 0xfff01000 after .*laptop-demo\.trace\.jsonl:26 unmapped it/,
      );
      // the faults around it keep their numbers: fault 2 is the NVMe drive's write at 7500 ns
      expect(await s.handlers.faultDetails({ index: 2 })).toMatchObject({
        kind: 'fault',
        time: 7500,
        request: { bdf: '0000:02:00.0' },
      });
    } finally {
      s.dispose();
    }
  });
});
