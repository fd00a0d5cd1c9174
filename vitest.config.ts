import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const WORKERS = 2;
// Each fork gets an equal share of the cores for TensorFlow's thread pools (no oversubscription).
const THREADS_PER_WORKER = String(Math.max(1, Math.floor(availableParallelism() / WORKERS)));

// Two cores on the reference machine: one fork per core; tfjs (wasm) tests are single-threaded.
export default defineConfig({
  test: {
    // Two projects: the whole suite on the native backend (IWPL_BACKEND set, so a broken native
    // build fails loudly instead of falling back), and the *.parity.test.ts files (numerical
    // parity, gradients, leaks) once more on wasm with the same tolerances.
    projects: [
      { extends: true, test: { name: 'tensorflow', include: ['test/**/*.test.ts'], env: { IWPL_BACKEND: 'tensorflow', IWPL_THREADS: THREADS_PER_WORKER } } },
      { extends: true, test: { name: 'wasm', include: ['test/**/*.parity.test.ts'], env: { IWPL_BACKEND: 'wasm' } } },
    ],
    // fails the run when a test leaves a temp folder behind (and gives the run its own TMPDIR)
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: WORKERS,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // The JSON report feeds .ci/run's closing 'N passed, N failed' line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
