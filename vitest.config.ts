import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Starts a throwaway PostgreSQL for the Postgres suites (see packages/server/test/postgres.ts).
    globalSetup: ['packages/server/test/postgres-global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
