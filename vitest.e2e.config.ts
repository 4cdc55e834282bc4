// End-to-end tests: the built renderer served by `iommu-lab serve`, driven in Debian's Chromium
// through playwright-core. Needs `npm run build` first (npm run test:e2e does it).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    environment: 'node',
    // polls wait on the host and the browser; a loaded 2-core CI machine needs more than the 1 s default
    expect: { poll: { timeout: 15_000 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
