// The recent-files list: the last RECENT_MAX paths the user opened (dialog, openFile({path}), the list
// itself), newest first, each path once. Kept as JSON in the user's config folder:
// $IOMMU_LAB_CONFIG_DIR/recent.json when that is set (tests), else
// ${XDG_CONFIG_HOME:-~/.config}/iommu-lab/recent.json. Files sent as bytes (drag-and-drop in a browser)
// have no path and are never listed. A missing, unreadable or damaged list reads as empty (entries of
// the wrong shape are dropped); writes replace the file atomically (write then rename) one at a time.
// The list operations are pure functions; RecentFilesStore does the I/O.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RecentFile } from '../shared/api';

export const RECENT_MAX = 10;

/** The folder the lab keeps its settings in. */
export function configDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const own = env['IOMMU_LAB_CONFIG_DIR'];
  if (own) return resolve(own);
  const xdg = env['XDG_CONFIG_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.config'), 'iommu-lab');
}

/** `entry` first, then the others without its path, at most `max`. */
export function addRecent(list: readonly RecentFile[], entry: RecentFile, max = RECENT_MAX): RecentFile[] {
  return [entry, ...list.filter((f) => f.path !== entry.path)].slice(0, max);
}

export function removeRecent(list: readonly RecentFile[], path: string): RecentFile[] {
  return list.filter((f) => f.path !== path);
}

/** The entries of a parsed recent.json that have the right shape, de-duplicated, at most `max`. */
export function sanitizeRecent(json: unknown, max = RECENT_MAX): RecentFile[] {
  if (!Array.isArray(json)) return [];
  const out: RecentFile[] = [];
  for (const e of json as unknown[]) {
    const f = e as Partial<RecentFile> | null;
    if (
      f &&
      typeof f.path === 'string' &&
      f.path.length > 0 &&
      typeof f.kind === 'string' &&
      typeof f.openedAt === 'number' &&
      Number.isFinite(f.openedAt) &&
      !out.some((o) => o.path === f.path)
    )
      out.push({ path: f.path, kind: f.kind, openedAt: f.openedAt });
  }
  return out.slice(0, max);
}

export class RecentFilesStore {
  private writes: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string = join(configDir(), 'recent.json')) {}

  async list(): Promise<RecentFile[]> {
    await this.writes;
    try {
      return sanitizeRecent(JSON.parse(await readFile(this.file, 'utf8')));
    } catch {
      return [];
    }
  }

  /** Puts `path` (made absolute) first. */
  add(path: string, kind: string, now: number = Date.now()): Promise<RecentFile[]> {
    return this.update((l) => addRecent(l, { path: resolve(path), kind, openedAt: now }));
  }

  remove(path: string): Promise<RecentFile[]> {
    return this.update((l) => removeRecent(l, resolve(path)));
  }

  private update(fn: (l: RecentFile[]) => RecentFile[]): Promise<RecentFile[]> {
    const next = this.writes.then(async () => {
      let current: RecentFile[] = [];
      try {
        current = sanitizeRecent(JSON.parse(await readFile(this.file, 'utf8')));
      } catch {
        // none yet, or damaged: start afresh
      }
      const list = fn(current);
      await mkdir(join(this.file, '..'), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(list, null, 2) + '\n');
      await rename(tmp, this.file);
      return list;
    });
    this.writes = next.catch(() => undefined);
    return next;
  }
}
