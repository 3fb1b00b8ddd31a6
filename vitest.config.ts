import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start processes and run whole conformance runs; keep them
    // from oversubscribing the 2-core machines.
    maxWorkers: 2,
  },
});
