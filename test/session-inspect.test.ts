// The session answers view queries (src/engine/inspect) against the state shown, or against the state
// at another trace time through a probe player, without moving the shown player; for native traces
// (engine worker) and text traces (in-thread player) alike. Known answers: the generator's counts and
// the times the player reports.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { genCommand } from '../src/cli/gen-command';
import { Session } from '../src/host/session';
import { ApiError } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-inspect-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('view queries in the session', () => {
  it.each([['native', 'inspect.iotrace'] as const, ['text', 'inspect.trace.jsonl'] as const])(
    'a %s trace: the shown state, another time through the probe, unknown views refused',
    async (_kind, name) => {
      const path = join(dir, name);
      await genCommand({ seed: 5, tlps: 20_000, faultRate: 0.01, output: path }, () => undefined);
      const s = new Session('web', () => undefined);
      try {
        await s.openPath(path);
        await s.handlers.replayControl({ action: 'seek', time: Number.MAX_SAFE_INTEGER });
        const end = await s.handlers.replayStats({});
        expect(end.tlps).toBe(20_000);
        const shown = (await s.inspectView({ view: 'clock' })) as { time: number; tlps: number };
        expect(shown).toMatchObject({ time: end.time, tlps: 20_000 });

        // halfway, through the probe: fewer TLPs, and the shown player has not moved
        const half = Math.floor(end.time / 2);
        const then = (await s.inspectView({ view: 'clock' }, half)) as { time: number; tlps: number };
        expect(then.time).toBeLessThanOrEqual(half);
        expect(then.tlps).toBeGreaterThan(0);
        expect(then.tlps).toBeLessThan(20_000);
        expect((await s.handlers.replayStats({})).tlps).toBe(20_000);
        // before anything happened
        expect(await s.inspectView({ view: 'clock' }, -1)).toMatchObject({ tlps: 0 });

        const refused = await s.inspectView({ view: 'no-such-view' }).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(ApiError);
        expect(refused).toMatchObject({ code: 'EINVAL', message: 'unknown view "no-such-view"' });
      } finally {
        s.dispose();
      }
    },
    30_000,
  );
});
