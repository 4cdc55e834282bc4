// Opening more kinds of files in the session: a kernel log is imported (progress events, at most one
// per 100 ms, the last one at the total) into a trace of its observed faults and played; a long import
// cancelled half-way leaves the session as it was; firmware tables build the platform; paths the user
// opens are listed as recent, and a missing one is dropped with an error naming it. The recent list
// lives in a temporary config folder. Known answers: the fixture log has 15 lines and 3 DMAR faults.
import { mkdtempSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecentFilesStore } from '../src/host/recent-files';
import { Session } from '../src/host/session';
import type { EventName, EventPayloads, Progress } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-files-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const PLATFORM = resolve('traces/platforms/laptop.platform.json');
const LOG = resolve('test/fixtures/files/dmesg-dmar-faults.log');

function session(name: string) {
  const progress: { at: number; p: Progress }[] = [];
  const recent = new RecentFilesStore(join(dir, name, 'recent.json'));
  const s = new Session(
    'web',
    <E extends EventName>(event: E, payload: EventPayloads[E]) => {
      if (event === 'progress') progress.push({ at: performance.now(), p: payload as Progress });
    },
    { recent },
  );
  return { s, progress, recent };
}

/** A kernel log of `n` DMAR fault lines (about 150 bytes each). */
async function bigLog(path: string, n: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = (20 + i / 10_000).toFixed(6).padStart(12);
    const addr = (0xfff01000 + (i % 4096) * 4096).toString(16);
    lines.push(
      `[${t}] DMAR: [DMA Write NO_PASID] Request device [01:00.0] fault addr 0x${addr} [fault reason 0x05] PTE Write access is not set`,
    );
  }
  await writeFile(path, lines.join('\n') + '\n');
}

describe('files in the session', () => {
  it('imports a dropped kernel log into a trace of its faults and plays it on the platform', async () => {
    const { s, progress } = session('import');
    try {
      await s.handlers.openFile({ path: PLATFORM });
      const bytes = new Uint8Array(await readFile(LOG));
      const file = await s.handlers.openFile({ name: 'dmesg-dmar-faults.log', bytes });
      expect(file).toMatchObject({
        name: 'dmesg-dmar-faults.log',
        kind: 'kernel-log',
        bytes: bytes.byteLength,
      });
      // each Intel DMAR fault line is also the DMA that faulted: one TLP record per line
      expect(file.note).toMatch(/^15 lines: 3 observed faults, 3 TLPs, 0 map\/unmap events, 0 bad lines/);
      expect((await s.handlers.hello({})).files.map((f) => f.kind)).toEqual(['platform', 'kernel-log']);
      const stats = await s.handlers.replayStats({});
      expect(stats.status).toBe('ready');
      expect(progress.at(-1)?.p).toMatchObject({
        done: bytes.byteLength,
        total: bytes.byteLength,
        finished: 'done',
      });
      // bytes sent by the renderer have no path: not a recent file
      expect((await s.handlers.recentFiles({})).map((r) => r.path)).toEqual([PLATFORM]);
    } finally {
      s.dispose();
    }
  });

  it('reports progress at most ten times a second, reaching the total', async () => {
    const { s, progress } = session('progress');
    const path = join(dir, 'medium.log');
    await bigLog(path, 60_000);
    try {
      await s.handlers.openFile({ path: PLATFORM });
      await s.handlers.openFile({ path });
      const size = (await stat(path)).size;
      const running = progress.filter((e) => !e.p.finished);
      expect(running.length).toBeGreaterThan(0);
      for (let i = 1; i < running.length; i++)
        expect(running[i]!.at - running[i - 1]!.at).toBeGreaterThanOrEqual(99);
      expect(progress.at(-1)!.p).toMatchObject({ done: size, total: size, finished: 'done' });
      expect(new Set(progress.map((e) => e.p.task)).size).toBe(1);
    } finally {
      s.dispose();
    }
  });

  it('cancels a long import half-way and leaves the session as it was', async () => {
    const { s, progress } = session('cancel');
    const path = join(dir, 'long.log');
    await bigLog(path, 400_000);
    try {
      await s.handlers.openFile({ path: PLATFORM });
      const before = { files: (await s.handlers.hello({})).files, stats: await s.handlers.replayStats({}) };
      const opening = s.handlers.openFile({ path });
      await expect.poll(() => progress.length).toBeGreaterThan(0);
      const task = progress[0]!.p.task;
      expect(await s.handlers.cancelTask({ task })).toEqual({ cancelled: true });
      await expect(opening).rejects.toMatchObject({
        code: 'ECANCELED',
        message: expect.stringContaining('long.log'),
      });
      const last = progress.at(-1)!.p;
      expect(last.finished).toBe('cancelled');
      expect(last.done).toBeLessThan(last.total); // the loop stopped before the end
      expect((await s.handlers.hello({})).files).toEqual(before.files);
      expect(await s.handlers.replayStats({})).toEqual(before.stats);
      expect(await importedTraces('long.log')).toEqual([]); // the partial trace is gone
      expect(await s.handlers.cancelTask({ task })).toEqual({ cancelled: false });
      // a cancelled open is not a recent file
      expect((await s.handlers.recentFiles({})).map((r) => r.path)).toEqual([PLATFORM]);
    } finally {
      s.dispose();
    }
  });

  it('builds the platform from firmware tables and lists their findings', async () => {
    const { s } = session('firmware');
    try {
      const dmar = await s.handlers.openFile({ path: 'test/fixtures/files/dmar-one-unit.dat' });
      expect(dmar.kind).toBe('firmware');
      expect(dmar.findings?.map((f) => f.code)).toEqual(['dmar-no-ioapic-scope']);
      expect(await s.handlers.platformSummary({})).toBeNull();
      const lspci = await s.handlers.openFile({ path: 'test/fixtures/files/lspci-two-functions.txt' });
      expect(lspci.note).toMatch(/platform built \(1 units\)$/);
      const summary = await s.handlers.platformSummary({});
      expect(summary?.source).toBe('firmware: dmar-one-unit.dat + lspci-two-functions.txt');
      expect(summary?.devices.map((d) => d.bdf)).toEqual(['0000:00:00.0', '0000:00:14.0']);
      expect((await s.handlers.recentFiles({})).map((r) => [r.path.split('/').pop(), r.kind])).toEqual([
        ['lspci-two-functions.txt', 'firmware'],
        ['dmar-one-unit.dat', 'firmware'],
      ]);
    } finally {
      s.dispose();
    }
  });

  it('drops a missing recent file with an error naming it', async () => {
    const { s, recent } = session('missing');
    const path = join(dir, 'gone.platform.json');
    await writeFile(path, JSON.stringify({ format: 'x' }));
    await recent.add(path, 'platform');
    await recent.add(PLATFORM, 'platform');
    await rm(path);
    try {
      await expect(s.handlers.openFile({ path })).rejects.toMatchObject({
        code: 'ENOENT',
        message: `${path}: no such file (removed from the recent files)`,
      });
      expect((await s.handlers.recentFiles({})).map((r) => r.path)).toEqual([PLATFORM]);
    } finally {
      s.dispose();
    }
  });
});

/** The traces imported from `name` in the sessions' temporary folders (TIME-NAME.trace). */
async function importedTraces(name: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(tmpdir())) {
    if (!d.startsWith('iommu-lab-session-')) continue;
    for (const f of await readdir(join(tmpdir(), d)).catch(() => []))
      if (f.endsWith(`-${name}.trace`)) out.push(join(d, f));
  }
  return out;
}
