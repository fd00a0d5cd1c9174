import { defineConfig } from 'vitest/config';

// Two cores on the reference machine: one fork per core; tfjs (wasm) tests are single-threaded.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // The JSON report feeds .ci/run's closing 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
