// The session's platformTree call on a TEE-IO trace, text and native (its conversion): the tree at the
// time the shown player stands, as it seeks forward and back. Expected states from the trace's own
// events (test/fixtures/tee-io-assign.trace.jsonl: the TDISP script's steps and one DMA while blocked)
// and the sample platform, worked out in src/engine/inspect/platform-tree.test.ts: domains 3..5 for
// groups 0..2 at boot, DIDs from 2.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCommand } from '../src/cli/import-command';
import { Session } from '../src/host/session';
import { ApiError, type PlatformTreeView } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-tree-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const TEXT = 'test/fixtures/tee-io-assign.trace.jsonl';
const NATIVE = join(dir, 'tee-io-assign.iotrace');

beforeAll(async () => {
  const code = await importCommand(TEXT, { output: NATIVE }, () => undefined);
  if (code !== 0) throw new Error(`import exited with ${code}`);
});

const nicOf = (t: PlatformTreeView) => {
  const g = t.units[0]!.groups.find((x) => x.id === 2)!;
  return { g, d: g.devices[0]! };
};

describe('platformTree through the session', () => {
  it.each([
    ['text', TEXT],
    ['native', NATIVE],
  ])(
    'a %s trace: the tree follows the shown replay time',
    async (_kind, path) => {
      const s = new Session('web', () => undefined);
      try {
        await s.openPath(path);
        let t = await s.handlers.platformTree({});
        expect(t.platform).toBe('TEE-IO host (TDISP-capable NIC, scalable-mode VT-d)');
        expect(t.units.map((u) => [u.name, u.mode, u.groups.map((g) => g.id)])).toEqual([
          ['dmar0', 'scalable', [0, 1, 2]],
        ]);
        let { g, d } = nicOf(t);
        expect(g).toMatchObject({ owner: 'none', domain: { type: 'dma', id: 5, did: 4 } });
        expect(d).toMatchObject({ bdf: '0000:16:00.0', tdisp: 'CONFIG_UNLOCKED', tlps: 0, faults: 0 });

        await s.handlers.replayControl({ action: 'seek', time: 250 });
        ({ g, d } = nicOf(await s.handlers.platformTree({})));
        expect(g).toMatchObject({ owner: 'user', domain: { type: 'blocked', id: 1, did: null } });
        expect(d).toMatchObject({ owner: 'user', tlps: 1, faults: 1, pasids: [] });

        await s.handlers.replayControl({ action: 'seek', time: 1100 });
        t = await s.handlers.platformTree({});
        expect(t.time).toBe(1100);
        ({ g, d } = nicOf(t));
        expect(g.domain).toEqual({ type: 'nested', id: 7, did: 5 });
        expect(d.pasids).toEqual([{ pasid: 1, domain: { type: 'unmanaged', id: 6, did: 6 } }]);
        expect(d.tdisp).toBe('RUN');

        await s.handlers.replayControl({ action: 'seek', time: 1000 });
        expect(nicOf(await s.handlers.platformTree({})).d.tdisp).toBe('CONFIG_LOCKED');

        // back before the bind: the boot state again
        await s.handlers.replayControl({ action: 'seek', time: 150 });
        ({ g, d } = nicOf(await s.handlers.platformTree({})));
        expect(g).toMatchObject({ owner: 'none', domain: { type: 'dma', id: 5, did: 4 } });
        expect(d).toMatchObject({ tdisp: 'CONFIG_UNLOCKED', tlps: 0, faults: 0, pasids: [] });
      } finally {
        s.dispose();
      }
    },
    30_000,
  );

  it('refuses without a platform (ENOENT)', async () => {
    const s = new Session('web', () => undefined);
    const e = await Promise.resolve()
      .then(() => s.handlers.platformTree({}))
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ code: 'ENOENT' });
    s.dispose();
  });
});
