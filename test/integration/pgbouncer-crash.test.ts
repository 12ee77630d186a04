import { expect, it } from 'vitest';
import { describeCrashResume } from '../support/crash-resume-suite.ts';
import { describeBehindPgBouncer } from '../support/pgbouncer.ts';

// Guarantee 2 behind a transaction-pooling proxy: the crash-resume workload of
// guarantee-crash-resume.test.ts, with the till's postgres.url pointing at a real PgBouncer
// (pool_mode = transaction, 2 server connections per database) and SIGKILLed mid-run, again and
// again, while 3 pull-only tills pull in a loop through the same pool. A till killed inside a
// transaction leaves PgBouncer a client gone mid-transaction: its server connection must be
// rolled back or closed, never handed to another till with the transaction still open. The killed
// till must end exactly where an uninterrupted one does, and the other tills must never fail.
const POOL = 2;

describeBehindPgBouncer('crash-resume through PgBouncer in transaction pooling mode', POOL, ({ bouncer, watch }) => {
  describeCrashResume({ label: `through PgBouncer, pool of ${POOL}, 3 other tills pulling`, tillUrl: (url) => bouncer().url(url), bystanders: 3, timeoutMs: 400_000 });

  it(`the killed till and the pulling tills shared ${POOL} server connections, and queued for them`, async () => {
    const { byDatabase } = await watch().stop();
    const killed = [...byDatabase].find(([db]) => db.startsWith('possync_crash_killed_'));
    expect(killed, JSON.stringify([...byDatabase])).toBeDefined();
    const [, peak] = killed!;
    expect(peak.maxServers, JSON.stringify(peak)).toBeLessThanOrEqual(POOL);
    expect(peak.maxClients, JSON.stringify(peak)).toBeGreaterThan(POOL);
    expect(peak.maxWaiting, JSON.stringify(peak)).toBeGreaterThan(0);
  });
});
