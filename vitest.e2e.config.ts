import { defineConfig } from 'vitest/config';

// The end-to-end suite: a real Warbler (started by the global setup) and Debian's Chromium
// driven by playwright-core. Separate from `npm test` so that one needs no browser.
export default defineConfig({
  test: {
    include: ['packages/web/e2e/**/*.e2e.ts'],
    globalSetup: ['packages/web/e2e/global-setup.ts'],
    // One browser and at most one extra server at a time: the machine has two cores.
    fileParallelism: false,
    testTimeout: 90_000,
    // A hook may start a second Warbler (up to 180 s on a loaded machine, see e2e/warbler.ts).
    hookTimeout: 240_000,
  },
});
