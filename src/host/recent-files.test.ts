// The recent-files list: newest first, each path once, at most 10, kept in the config folder the
// environment names; a damaged file reads as empty.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addRecent,
  configDir,
  RECENT_MAX,
  RecentFilesStore,
  removeRecent,
  sanitizeRecent,
} from './recent-files';

const f = (path: string, openedAt = 0) => ({ path, kind: 'platform', openedAt });

describe('recent-file list operations', () => {
  it('puts the newest first and keeps each path once', () => {
    let l = addRecent([], f('/a', 1));
    l = addRecent(l, f('/b', 2));
    l = addRecent(l, f('/a', 3));
    expect(l).toEqual([f('/a', 3), f('/b', 2)]);
  });

  it('keeps at most ten', () => {
    let l: ReturnType<typeof addRecent> = [];
    for (let i = 0; i < 12; i++) l = addRecent(l, f(`/f${i}`, i));
    expect(RECENT_MAX).toBe(10);
    expect(l.map((x) => x.path)).toEqual([
      '/f11',
      '/f10',
      '/f9',
      '/f8',
      '/f7',
      '/f6',
      '/f5',
      '/f4',
      '/f3',
      '/f2',
    ]);
  });

  it('removes a path', () => {
    expect(removeRecent([f('/a'), f('/b')], '/a')).toEqual([f('/b')]);
  });

  it('drops entries of the wrong shape and repeats when reading', () => {
    expect(sanitizeRecent({ not: 'a list' })).toEqual([]);
    expect(sanitizeRecent([f('/a'), { path: 3 }, null, f('/a', 9), { path: '/b', kind: 'trace' }])).toEqual([
      f('/a'),
    ]);
  });
});

describe('configDir', () => {
  it('prefers IOMMU_LAB_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configDir({ IOMMU_LAB_CONFIG_DIR: '/tmp/x', XDG_CONFIG_HOME: '/xdg' }, '/home/u')).toBe('/tmp/x');
    expect(configDir({ XDG_CONFIG_HOME: '/xdg' }, '/home/u')).toBe('/xdg/iommu-lab');
    expect(configDir({ XDG_CONFIG_HOME: 'relative' }, '/home/u')).toBe('/home/u/.config/iommu-lab');
    expect(configDir({}, '/home/u')).toBe('/home/u/.config/iommu-lab');
  });
});

describe('RecentFilesStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iommu-lab-recent-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('persists the list as JSON, creating the folder', async () => {
    const file = join(dir, 'sub', 'recent.json');
    const store = new RecentFilesStore(file);
    expect(await store.list()).toEqual([]);
    await Promise.all([store.add('/x/a.json', 'platform', 1), store.add('/x/b.log', 'kernel-log', 2)]);
    const expected = [
      { path: '/x/b.log', kind: 'kernel-log', openedAt: 2 },
      { path: '/x/a.json', kind: 'platform', openedAt: 1 },
    ];
    expect(await new RecentFilesStore(file).list()).toEqual(expected);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(expected);
    await store.remove('/x/b.log');
    expect((await store.list()).map((e) => e.path)).toEqual(['/x/a.json']);
  });

  it('reads a damaged file as empty and replaces it on the next add', async () => {
    const file = join(dir, 'recent.json');
    await writeFile(file, '{ not json');
    const store = new RecentFilesStore(file);
    expect(await store.list()).toEqual([]);
    await store.add('/x/a.json', 'platform', 5);
    expect(await store.list()).toEqual([{ path: '/x/a.json', kind: 'platform', openedAt: 5 }]);
  });
});
