import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { applied } from '../../src/engine/result.ts';
import { runSync } from '../../src/engine/run.ts';
import { makeConfig } from '../support/config.ts';
import { createSqliteFile, createTestPg, tempDir, type TestPg } from '../support/db.ts';
import { runProblems } from '../support/tills.ts';

// No-change cycles cost almost nothing (issue 7, point 6): a pull with nothing new runs a constant
// number of small queries and reads no table rows, however large the table. Measured on a 200k-row
// table against a 10k-row one: Postgres's own per-table counters (pg_stat_user_tables) must not
// move during no-change pulls, the number of statements must be the same for both sizes, and the
// engine time must not grow with the table (ratio-based: this machine is shared and loaded).
const BIG = 200_000;
const SMALL = 10_000;
const REPEAT = 5;

const pgDdl = (table: string, rows: number) => `
CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL, updated_at timestamptz(3) NOT NULL);
INSERT INTO ${table} SELECT g, 'item ' || g, (g % 1000) / 10.0, timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, ${rows}) g;`;
const sqliteDdl = (table: string) => `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price TEXT NOT NULL, updated_at TEXT NOT NULL);`;

interface TableStats {
  seq_scan: string;
  seq_tup_read: string;
  idx_scan: string;
  idx_tup_fetch: string;
  n_tup_ins: string;
  n_tup_upd: string;
  n_tup_del: string;
}

/** Counts every statement sent through a gateway's pool (pool.query and checked-out clients alike). */
function countStatements(gw: PgGateway): () => number {
  let n = 0;
  const wrapped = new WeakSet<object>();
  gw.pool.on('acquire', (client: pg.PoolClient) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      n++;
      return query(...args);
    };
  });
  return () => n;
}

describe('a pull with nothing new', () => {
  let db: TestPg;
  let tmp: ReturnType<typeof tempDir>;
  let big: ResolvedConfig;
  let small: ResolvedConfig;

  const terminal = (id: string, table: string): ResolvedConfig => {
    const file = path.join(tmp.dir, `${id}.sqlite`);
    createSqliteFile(file, sqliteDdl(table));
    return makeConfig({ sqlite: { path: file }, postgres: { url: db.url }, terminalId: id, batchSize: 500, tables: [{ name: table, pk: 'id', updatedCol: 'updated_at' }] }, tmp.dir);
  };

  /** The table's counters as every finished backend has reported them. */
  async function stats(table: string): Promise<TableStats> {
    // Backends report their counters when they exit: wait until possync's connections are gone.
    for (let i = 0; i < 200; i++) {
      const open = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND application_name IN ('possync', 'possync-test-writer')`, [db.name]);
      if (open[0]!.n === '0') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await c.query<TableStats>(
        `SELECT seq_scan::text, seq_tup_read::text, coalesce(idx_scan, 0)::text AS idx_scan, coalesce(idx_tup_fetch, 0)::text AS idx_tup_fetch, n_tup_ins::text, n_tup_upd::text, n_tup_del::text
           FROM pg_stat_user_tables WHERE relname = $1`,
        [table],
      );
      return rows[0]!;
    } finally {
      await c.end();
    }
  }
  const delta = (a: TableStats, b: TableStats) => Object.fromEntries(Object.keys(a).map((k) => [k, Number(b[k as keyof TableStats]) - Number(a[k as keyof TableStats])]));

  /** REPEAT pulls through one open gateway (as the daemon keeps it): engine times and statements per pull. */
  async function noChangePulls(config: ResolvedConfig): Promise<{ ms: number[]; statements: number[] }> {
    const gw = await PgGateway.connect(config.postgresUrl);
    const count = countStatements(gw);
    const ms: number[] = [];
    const statements: number[] = [];
    try {
      for (let i = 0; i < REPEAT; i++) {
        const before = count();
        const started = performance.now();
        const r = await runSync(config, { direction: 'pull', pg: gw });
        ms.push(performance.now() - started);
        statements.push(count() - before);
        expect(runProblems(config.terminalId, r)).toEqual([]);
        expect(r.tables.map(applied)).toEqual([0]);
      }
    } finally {
      await gw.close();
    }
    return { ms, statements };
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  beforeAll(async () => {
    db = await createTestPg('terminals_nochange');
    tmp = tempDir();
    await db.query(pgDdl('big', BIG) + pgDdl('small', SMALL));
    big = terminal('till-big', 'big');
    small = terminal('till-small', 'small');
    // One initial pull each (a full resync), then let VACUUM ANALYZE settle the tables so that
    // autovacuum has no reason to visit them while we watch their counters.
    for (const config of [big, small]) {
      const r = await runSync(config, { direction: 'pull' });
      expect(runProblems(config.terminalId, r)).toEqual([]);
    }
    await db.query('VACUUM ANALYZE big');
    await db.query('VACUUM ANALYZE small');
  }, 120_000);
  afterAll(async () => {
    await db.drop();
    tmp.cleanup();
  });

  it(`reads no row of a ${BIG.toLocaleString('en-US')}-row table, and costs what it costs at ${SMALL.toLocaleString('en-US')} rows`, async () => {
    const bigBefore = await stats('big');
    const bigRuns = await noChangePulls(big);
    const bigAfter = await stats('big');
    const smallRuns = await noChangePulls(small);

    expect(delta(bigBefore, bigAfter), 'the 200k-row table was read during no-change pulls').toEqual({
      seq_scan: 0, seq_tup_read: 0, idx_scan: 0, idx_tup_fetch: 0, n_tup_ins: 0, n_tup_upd: 0, n_tup_del: 0,
    });
    // A constant number of statements, whatever the size. One probe is skipped when the fence did
    // not move since the last pull (xids are cluster-wide: other test files' open transactions on
    // this server can pin it), so counts may differ by one between pulls, never more.
    const all = [...bigRuns.statements, ...smallRuns.statements];
    expect(Math.max(...all) - Math.min(...all), `statements per pull: ${bigRuns.statements.join(', ')} at ${BIG} rows, ${smallRuns.statements.join(', ')} at ${SMALL}`).toBeLessThanOrEqual(1);
    expect(Math.max(...all), 'a small number of statements').toBeLessThanOrEqual(30);
    // Engine time does not grow with the table (generous: other processes load this machine).
    const [b, s] = [median(bigRuns.ms), median(smallRuns.ms)];
    expect(b, `no-change pull: ${b.toFixed(1)} ms at ${BIG} rows, ${s.toFixed(1)} ms at ${SMALL} rows`).toBeLessThanOrEqual(3 * s + 50);
  });

  it('the counters do see a pull that has something to fetch (the measurement works)', async () => {
    const writer = new pg.Client({ connectionString: db.url, application_name: 'possync-test-writer' });
    await writer.connect();
    await writer.query(`UPDATE big SET name = 'changed', updated_at = now() WHERE id = 123456`);
    await writer.end();
    const before = await stats('big');
    const gw = await PgGateway.connect(big.postgresUrl);
    try {
      const r = await runSync(big, { direction: 'pull', pg: gw });
      expect(r.tables.map(applied)).toEqual([1]);
    } finally {
      await gw.close();
    }
    const d = delta(before, await stats('big'));
    expect(d.idx_scan! + d.seq_scan!).toBeGreaterThanOrEqual(1);
    expect(d.idx_tup_fetch! + d.seq_tup_read!).toBeGreaterThanOrEqual(1);
  });
});
