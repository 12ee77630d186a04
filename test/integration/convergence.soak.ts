import { describe, expect, it } from 'vitest';
import { ownPostgres } from '../support/ledger.ts';
import { explain, runWorkload, type WorkloadReport } from '../support/workload.ts';

// The soak: SOAK_SEEDS seeds (default 500) from SOAK_START (default 1), SOAK_CONCURRENCY at a time
// (default 1; each worker has its own Postgres server, since a workload's open transactions hold
// back every pull fence on its server), SOAK_STEPS steps each (default 80), with
// SOAK_KILL_RATE of the sync steps (default 0.06) run as a `possync trigger` subprocess that is
// SIGKILLed at a random moment. Every failing seed is listed with the command that replays it:
//   SOAK_SEED=<seed> npm run test:soak
const single = process.env.SOAK_SEED;
const start = Number(process.env.SOAK_START ?? 1);
const seeds = single ? [Number(single)] : Array.from({ length: Number(process.env.SOAK_SEEDS ?? 500) }, (_, i) => start + i);
const concurrency = Number(process.env.SOAK_CONCURRENCY ?? 1);
const steps = Number(process.env.SOAK_STEPS ?? 80);
const killRate = Number(process.env.SOAK_KILL_RATE ?? 0.06);

describe('randomized convergence soak', () => {
  it(`${seeds.length} seeds (${seeds[0]}…${seeds.at(-1)}), ${steps} steps, kill rate ${killRate}`, async () => {
    const failed: WorkloadReport[] = [];
    const started = Date.now();
    let done = 0;
    let kills = 0;
    const seen: Record<string, number> = {};
    const queue = [...seeds];
    const worker = async () => {
      const server = await ownPostgres();
      try {
        for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) {
          const report = await runWorkload({ seed, steps, killRate, adminUrl: server.adminUrl });
          done++;
          kills += report.kills;
          for (const [k, n] of Object.entries(report.seen)) seen[k] = (seen[k] ?? 0) + n;
          if (report.problems.length > 0) {
            failed.push(report);
            console.log(explain(report, `SOAK_SEED=${seed} npm run test:soak`));
          }
          if (done % 25 === 0 || done === seeds.length) {
            console.log(`soak: ${done}/${seeds.length} seeds, ${failed.length} failed, ${kills} kills, met ${JSON.stringify(seen)}, ${Math.round((Date.now() - started) / 1000)}s`);
          }
        }
      } finally {
        await server.stop();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, seeds.length) }, worker));
    const summary = failed
      .sort((a, b) => a.seed - b.seed)
      .map((r) => `seed ${r.seed}: ${r.problems[0]?.slice(0, 200)}  (replay: SOAK_SEED=${r.seed} npm run test:soak)`);
    expect(summary, `${failed.length} of ${seeds.length} seeds failed`).toEqual([]);
  });
});
