import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests spawn daemons and S3 servers; forks isolate native modules per file.
    pool: 'forks',
    // Two test files at once: most of a file's time is waiting on the daemons and CLI processes
    // it starts (a crash test's process is ~77% idle), and vitest's default on 2 cores is one
    // file at a time (the full suite then took ~260 s under Node 20; ~145-160 s with two).
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
