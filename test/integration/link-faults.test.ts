import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/result.ts';
import { runCli } from '../support/cli.ts';
import { openSqlite } from '../support/db.ts';
import { faultyLink, LINK_BOUNDS } from '../support/faulty-link.ts';

// A till on a bad link: possync talks to a real Postgres through a TCP proxy in this process that
// goes silent (packets dropped, sockets open) or resets, in the middle of a pull's row fetch or a
// push's COPY. possync must end within its bounds with exit 3 and one line on stderr, leave no
// transaction of its own open on the server past idleInTransactionTimeoutSeconds, and the next run
// over a healed link must converge.
const ROWS = 20_000;
const PAYLOAD = 'x'.repeat(300);
const PG = `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, payload text, updated_at timestamptz(3) NOT NULL DEFAULT now());`;
const SQLITE = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT, updated_at TEXT NOT NULL);`;

describe('a link that goes silent or resets mid-run', () => {
  const link = faultyLink('link_faults', `DROP TABLE IF EXISTS items; ${PG}`);

  /** A fresh till whose config reaches Postgres through the proxy. */
  const till = (bounds: Record<string, number> = {}) => {
    const { sqlitePath, configPath } = link.till(SQLITE, [{ name: 'items', pk: 'id', updatedCol: 'updated_at' }], bounds);
    const trigger = async (direction: string) => {
      const started = Date.now();
      const r = await runCli(['trigger', '--direction', direction, '--json', '--config', configPath], { cwd: link.tmp.dir, timeoutMs: 120_000 });
      return { ...r, ms: Date.now() - started, result: JSON.parse(r.stdout) as RunResult };
    };
    return { sqlitePath, configPath, trigger };
  };

  const fillCloud = () => link.db.query(`INSERT INTO items (id, name, payload) SELECT g, 'item ' || g, $1 FROM generate_series(1, ${ROWS}) g`, [PAYLOAD]);
  const fillTill = (file: string) => {
    const local = openSqlite(file);
    local.prepare(`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ${ROWS}) INSERT INTO items SELECT i, 'item ' || i, ?, '2026-12-01T00:00:00.000Z' FROM g`).run(PAYLOAD);
    local.close();
  };
  const tillCount = (file: string) => {
    const local = openSqlite(file);
    try {
      return (local.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n;
    } finally {
      local.close();
    }
  };
  /** possync's backends on this database that sit idle inside a transaction. */
  const idleInTransaction = async () =>
    Number((await link.db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'possync' AND state LIKE 'idle in transaction%'`, [link.db.name]))[0]!.n);

  /** The stopped run's contract: exit 3, one stderr line, one JSON document naming the cause. */
  const expectStopped = (run: Awaited<ReturnType<ReturnType<typeof till>['trigger']>>, cause: RegExp) => {
    expect(run.code, run.stderr).toBe(3);
    expect(run.ms).toBeLessThan(link.giveUpMs);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(cause);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.result.status).toBe('failed');
    expect(['PG_UNREACHABLE', 'TIMEOUT']).toContain(run.result.errorCode);
    expect(run.result.error).toMatch(cause);
  };

  it('silent mid-pull: gives up within the bound, the server ends the orphaned transaction, the rerun converges', async () => {
    await fillCloud();
    const t = till();
    link.proxy.when('toClient', 400_000, () => link.proxy.silent());
    const run = await t.trigger('pull');
    expectStopped(run, /silent|timeout/i);
    // The server still holds possync's REPEATABLE READ transaction for the vanished till ...
    expect(await idleInTransaction()).toBeGreaterThan(0);
    // ... until idle_in_transaction_session_timeout ends it.
    const deadline = Date.now() + LINK_BOUNDS.idleInTransactionTimeoutSeconds * 1000 + 5_000;
    while ((await idleInTransaction()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await idleInTransaction()).toBe(0);

    link.proxy.heal();
    const again = await t.trigger('pull');
    expect(again.code, again.stderr).toBe(0);
    expect(tillCount(t.sqlitePath)).toBe(ROWS);
  });

  it('reset mid-pull: stops at once with exit 3, the rerun converges', async () => {
    await fillCloud();
    const t = till();
    link.proxy.when('toClient', 400_000, () => link.proxy.reset());
    const run = await t.trigger('pull');
    expectStopped(run, /lost the connection to PostgreSQL/);
    // A reset is noticed at once, not after a timeout.
    expect(run.ms).toBeLessThan(link.giveUpMs - LINK_BOUNDS.connectTimeoutSeconds * 1000);
    link.proxy.heal();
    const again = await t.trigger('both');
    expect(again.code, again.stderr).toBe(0);
    expect(tillCount(t.sqlitePath)).toBe(ROWS);
  });

  it('silent mid-COPY push: gives up within the bound; once the server drops the dead connection the rerun converges', async () => {
    const t = till();
    fillTill(t.sqlitePath);
    link.proxy.when('toServer', 400_000, () => link.proxy.silent());
    const run = await t.trigger('push');
    expectStopped(run, /silent|timeout/i);
    expect(run.result.tables.find((x) => x.table === 'items')?.status).toBe('error');
    // The server side of the dead link is a backend in the middle of a COPY, not idle: the
    // server's TCP keepalive, which possync sets per transaction, finds a dead peer. The proxy
    // stays alive and acknowledges, so here the peer's death is played by closing its sockets.
    await link.proxy.close();
    link.proxy = await link.startProxy();
    fs.writeFileSync(t.configPath, fs.readFileSync(t.configPath, 'utf8').replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${link.proxy.port}`));
    const again = await t.trigger('push');
    expect(again.code, again.stderr).toBe(0);
    expect(Number((await link.db.query<{ n: string }>('SELECT count(*) AS n FROM items'))[0]!.n)).toBe(ROWS);
  });

  it('the whole-run watchdog stops a stalled run before any single bound would, with TIMEOUT (exit 3)', async () => {
    await fillCloud();
    // A read timeout far longer than the run's bound: only the watchdog can end this run early.
    const t = till({ readTimeoutSeconds: 60, runTimeoutSeconds: 2 });
    link.proxy.when('toClient', 400_000, () => link.proxy.silent());
    const run = await t.trigger('pull');
    expect(run.code, run.stderr).toBe(3);
    expect(run.result.errorCode).toBe('TIMEOUT');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/postgres\.runTimeoutSeconds \(2 s\)/);
    // Well before the 60 s read timeout.
    expect(run.ms).toBeLessThan(link.giveUpMs);
    link.proxy.heal();
    const again = await till().trigger('pull');
    expect(again.code, again.stderr).toBe(0);
  });

  it('a link that is down before the run starts: exit 3 within the connect bound, no crash', async () => {
    const t = till();
    link.proxy.silent();
    const run = await runCli(['trigger', '--direction', 'both', '--config', t.configPath], { cwd: link.tmp.dir, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/cannot reach PostgreSQL/);
  });
});
