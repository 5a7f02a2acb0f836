import { defineConfig } from 'vitest/config';

// End-to-end tests: the real app (browser mode, or Electron where its binary exists) driven through
// Chromium. One fork, one file at a time, generous timeouts (the first run builds the renderer).
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
  },
});
