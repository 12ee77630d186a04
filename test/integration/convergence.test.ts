import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPostgres } from '../support/ledger.ts';
import { explain, runWorkload } from '../support/workload.ts';

// Randomized convergence, fast seeds: random edits on Postgres and two terminals (inserts,
// updates, hard and soft deletes, parents and children, conflicting edits, long-open Postgres
// transactions, policy-table conflicts) interleaved with push / pull / both runs; after a quiescent
// end both sides must equal each other and the model. The soak run (npm run test:soak) runs
// hundreds of seeds with SIGKILLed runs mixed in.
const SEEDS = process.env.CONVERGENCE_SEEDS ? process.env.CONVERGENCE_SEEDS.split(',').map(Number) : [1, 2, 3, 4, 5];
const STEPS = Number(process.env.CONVERGENCE_STEPS ?? 60);

describe('randomized convergence (fast seeds)', () => {
  // Its own server: the workload holds transactions open, which would hold back other files' pulls.
  let server: Awaited<ReturnType<typeof ownPostgres>>;
  beforeAll(async () => {
    server = await ownPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}`, async () => {
      const report = await runWorkload({ seed, steps: STEPS, adminUrl: server.adminUrl });
      console.log(`seed ${seed}: ${report.syncs} syncs, met ${JSON.stringify(report.seen)}`);
      if (report.problems.length > 0) console.log(explain(report, `CONVERGENCE_SEEDS=${seed} npx vitest run test/integration/convergence.test.ts`));
      expect(report.problems, `seed ${seed}`).toEqual([]);
    });
  }
});
