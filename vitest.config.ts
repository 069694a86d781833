import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2 cores: a couple of forks is faster than many and keeps timing-sensitive tests honest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
