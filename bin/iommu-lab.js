#!/usr/bin/env node
// Launcher for the built CLI (out/cli/index.js, made by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../out/cli/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'iommu-lab: not built yet: run `npm install && npm run build` in the project folder first.\n',
  );
  process.exit(64);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
