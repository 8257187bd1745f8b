import { defineConfig } from 'vitest/config';

/** `npm run bench`: the latency benchmark, run alone (not part of `npm test`). */
export default defineConfig({
  test: {
    include: ['test/bench/**/*.bench-run.ts'],
    environment: 'node',
    testTimeout: 600_000,
    fileParallelism: false,
  },
});
