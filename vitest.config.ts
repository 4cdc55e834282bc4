// Unit and integration tests: modules' tests beside them (src/**/*.test.ts) and test/**/*.test.ts.
// End-to-end browser tests have their own config (vitest.e2e.config.ts).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    environment: 'node',
    // the recent-files list of sessions under test goes to a scratch folder, never the user's ~/.config
    env: { IOMMU_LAB_CONFIG_DIR: join(tmpdir(), 'iommu-lab-test-config') },
    // polls wait on the host and the browser; a loaded 2-core CI machine needs more than the 1 s default
    expect: { poll: { timeout: 15_000 } },
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
