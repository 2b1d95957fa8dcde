import { defineConfig, type TestProjectConfiguration } from 'vitest/config';

// Files that measure one tenant's latency while another abuses the server:
// they run after the rest of the suite, one at a time, so the rest of the
// suite's CPU use is not what they measure.
const ALONE = ['packages/server/test/noisy-neighbour.test.ts'];
// Not part of `npm test` until its ratios hold on a loaded 2-core machine: `npm run test:noisy` runs it.
const RUN_ALONE = process.env.WARBLER_NOISY === '1';

const alone: TestProjectConfiguration = {
  extends: true,
  test: {
    name: 'alone',
    include: ALONE,
    fileParallelism: false,
    // A p99 on a shared machine can be thrown by one stall of the host; a server that really
    // lets one tenant slow another fails every attempt. Each retry is printed in the report.
    retry: 2,
    sequence: { groupOrder: 1 },
  },
};

export default defineConfig({
  test: {
    // Starts a throwaway PostgreSQL for the Postgres suites (see packages/server/test/postgres.ts).
    globalSetup: ['packages/server/test/postgres-global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          exclude: ALONE,
          sequence: { groupOrder: 0 },
        },
      },
      ...(RUN_ALONE ? [alone] : []),
    ],
  },
});
