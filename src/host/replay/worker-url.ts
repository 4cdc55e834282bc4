// Where the player's worker scripts are. Node starts a worker on a JavaScript file, so:
// - from the built CLI bundle (out/cli/index.js), they are its sibling entries replay-decoder.js and
//   replay-engine.js (vite.cli.config.ts builds them); another bundle of the host (Electron's
//   out/main) looks in ../cli/ next;
// - from the TypeScript sources (vitest), both entries are bundled with Vite into
//   node_modules/.cache/iommu-lab/replay-workers-HASH (so that their dependencies resolve from
//   node_modules), HASH being that of every source file: built once, shared by the test processes
//   (built aside and renamed into place, so a concurrent build is harmless); stale builds older than an
//   hour are removed.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type WorkerName = 'replay-decoder' | 'replay-engine';

const SOURCES: Record<WorkerName, string> = {
  'replay-decoder': 'decoder-worker.ts',
  'replay-engine': 'engine-worker.ts',
};

let built: Promise<string> | null = null;

export async function workerScript(name: WorkerName): Promise<URL> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    for (const rel of [`./${name}.js`, `../cli/${name}.js`]) {
      const u = new URL(rel, here);
      if (existsSync(fileURLToPath(u))) return u;
    }
    throw new Error(
      `the replay worker ${name}.js is missing next to ${fileURLToPath(here)}: run npm run build`,
    );
  }
  built ??= buildFromSources();
  return pathToFileURL(join(await built, `${name}.mjs`));
}

async function buildFromSources(): Promise<string> {
  const srcDir = dirname(fileURLToPath(import.meta.url));
  const root = resolve(srcDir, '../../..');
  const hash = createHash('sha256');
  const files = (readdirSync(join(root, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort();
  for (const f of [...files.map((x) => join('src', x)), 'package.json']) {
    hash.update(f).update(readFileSync(join(root, f)));
  }
  const cache = join(root, 'node_modules', '.cache', 'iommu-lab');
  const final = join(cache, `replay-workers-${hash.digest('hex').slice(0, 16)}`);
  const done = (): boolean => Object.keys(SOURCES).every((n) => existsSync(join(final, `${n}.mjs`)));
  if (done()) return final;
  mkdirSync(cache, { recursive: true });
  const outDir = mkdtempSync(join(cache, 'building-'));
  const { build } = await import('vite');
  await build({
    configFile: false,
    logLevel: 'silent',
    root,
    build: {
      ssr: true,
      outDir,
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      rollupOptions: {
        input: Object.fromEntries(Object.entries(SOURCES).map(([name, file]) => [name, join(srcDir, file)])),
        output: { format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
      },
    },
  });
  try {
    renameSync(outDir, final);
  } catch {
    rmSync(outDir, { recursive: true, force: true }); // another process put the same build in place
  }
  for (const d of readdirSync(cache)) {
    const p = join(cache, d);
    if (p !== final && Date.now() - statSync(p).mtimeMs > 3_600_000)
      rmSync(p, { recursive: true, force: true });
  }
  if (!done()) throw new Error(`could not build the replay workers into ${final}`);
  return final;
}
