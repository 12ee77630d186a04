import { expect, it } from 'vitest';
import { describeBehindPgBouncer, type PoolPeak } from '../support/pgbouncer.ts';
import { describeConcurrentTerminals } from '../support/terminals-concurrent-suite.ts';

// The README says possync works behind a transaction-pooling proxy. Here the many-tills
// concurrency workloads of terminals-concurrent.test.ts run with every till's postgres.url
// pointing at a real PgBouncer (pool_mode = transaction) whose pool holds fewer server
// connections than there are tills: 2 per database, for 4 to 12 tills. Tills as CLI
// subprocesses and as in-process runs, the first install racing, deadlock-prone pushes.
// Checks read Postgres directly.
const POOL = 2;

describeBehindPgBouncer('many tills through PgBouncer in transaction pooling mode', POOL, ({ bouncer, watch }) => {
  describeConcurrentTerminals({ label: `through PgBouncer, pool of ${POOL}`, tillUrl: (url) => bouncer().url(url) });

  it(`the pool was the bottleneck: tills queued for its ${POOL} server connections, and it never opened more`, async () => {
    const { samples, byDatabase } = await watch().stop();
    const peaks: Array<[string, PoolPeak]> = [...byDatabase].filter(([db]) => db.startsWith('possync_terminals_'));
    expect(samples).toBeGreaterThan(10);
    // Every database of the suite above went through the pooler (4 workloads + 3 fresh databases).
    expect(peaks.length, JSON.stringify(peaks)).toBeGreaterThanOrEqual(6);
    for (const [db, peak] of peaks) expect(peak.maxServers, `${db}: ${JSON.stringify(peak)}`).toBeLessThanOrEqual(POOL);
    // More tills than server connections, and some of them waited for one.
    expect(Math.max(...peaks.map(([, p]) => p.maxClients)), JSON.stringify(peaks)).toBeGreaterThan(POOL);
    expect(Math.max(...peaks.map(([, p]) => p.maxWaiting)), JSON.stringify(peaks)).toBeGreaterThan(0);
  });
});
