// `npm start` (and `npm run dev` with --dev): launch the desktop app through electron-vite.
// Electron ≥ 42 downloads its binary on first launch; where that cannot happen, say so in one
// sentence and point to the browser version instead of printing a stack trace.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const electronDir = dirname(require.resolve('electron/package.json'));

function binaryPresent() {
  const pathFile = join(electronDir, 'path.txt');
  if (!existsSync(pathFile)) return false;
  return existsSync(join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim()));
}

if (!binaryPresent()) {
  const fetch = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
    stdio: 'pipe',
    timeout: 300_000,
  });
  if (fetch.status !== 0 || !binaryPresent()) {
    process.stderr.write(
      'The Electron binary is not installed and could not be downloaded here, so the desktop app cannot start; run `npm run build && node bin/iommu-lab.js serve traces/laptop-demo.trace.jsonl` and open the printed URL in a browser instead.\n',
    );
    process.exit(1);
  }
}

const mode = process.argv.includes('--dev') ? 'dev' : 'preview';
const r = spawnSync(process.execPath, [require.resolve('electron-vite/bin/electron-vite.js'), mode], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
