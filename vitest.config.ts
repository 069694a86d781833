import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // A model file a test loads by path imports the package by name: vitest resolves it to these sources (one
  // SDK in the test process); worker threads and spawned CLIs resolve it through the model loader's hook.
  resolve: {
    alias: [
      { find: /^ls-ml-backend$/, replacement: fileURLToPath(new URL('./src/sdk/index.ts', import.meta.url)) },
      { find: /^ls-ml-backend\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // A redis-server of the run's own (or TEST_REDIS_URL), handed to test files with inject('testRedis').
    globalSetup: ['test/support/redis-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2 cores: a couple of forks is faster than many and keeps timing-sensitive tests honest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
