// Unit and integration tests: modules' tests beside them (src/**/*.test.ts) and test/**/*.test.ts.
// End-to-end browser tests have their own config (vitest.e2e.config.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    environment: 'node',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
