import { defineConfig } from 'vitest/config';

// `npm run test:soak`: the randomized convergence suite over hundreds of seeds, with SIGKILLed
// subprocess runs mixed in. Its file ends in .soak.ts, so the normal `npm test` never picks it up.
export default defineConfig({
  test: {
    include: ['test/integration/*.soak.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 24 * 3_600_000,
    hookTimeout: 120_000,
  },
});
