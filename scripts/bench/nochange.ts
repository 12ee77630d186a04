// Two measurements for the many-terminals benchmark that need quiet, not concurrency:
//  - a pull with nothing new against a large table and a small one (engine time and statements);
//  - fence lag: what pulls do while a long write transaction holds the pull fence back.
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { resolveConfig } from '../../src/config/load.ts';
import type { ResolvedConfig } from '../../src/config/types.ts';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { applied, type RunResult } from '../../src/engine/result.ts';
import { runSync } from '../../src/engine/run.ts';

export interface NoChangeSide {
  rows: number;
  initialPullMs: number;
  /** runSync with an open gateway (as a long-lived process would keep it): median and p95 over the repeats. */
  engineMedianMs: number;
  engineP95Ms: number;
  /** runSync opening and closing its own connections (as `possync trigger` and the daemon do). */
  withConnectMedianMs: number;
  /** Statements sent per no-change pull (the same for every repeat, or the list when not). */
  statements: number | number[];
}

export interface NoChangeResult {
  big: NoChangeSide;
  small: NoChangeSide;
  /** big / small engine medians. */
  ratio: number;
  target: { maxMs: number; maxRatio: number; met: boolean };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (n: number) => Math.round(n * 10) / 10;

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

function terminal(dir: string, url: string, id: string, table: string): ResolvedConfig {
  const file = path.join(dir, `${id}.sqlite`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price TEXT NOT NULL, updated_at TEXT NOT NULL)`);
  db.close();
  return resolveConfig({ sqlite: { path: file }, postgres: { url }, terminalId: id, tables: [{ name: table, pk: 'id', updatedCol: 'updated_at' }] }, path.join(dir, `${id}.json`), {});
}

function expectNothing(r: RunResult, what: string): void {
  const moved = r.tables.reduce((a, t) => a + applied(t), 0);
  if (r.status !== 'success' || moved !== 0) throw new Error(`${what}: a no-change pull moved ${moved} rows (status ${r.status}) ${JSON.stringify(r.tables)}`);
}

async function side(dir: string, url: string, table: string, rows: number, repeat: number): Promise<NoChangeSide> {
  const config = terminal(dir, url, `nochange-${table}`, table);
  let started = performance.now();
  const first = await runSync(config, { direction: 'pull' });
  const initialPullMs = performance.now() - started;
  if (first.status !== 'success') throw new Error(`initial pull of ${table} failed: ${JSON.stringify(first.tables)}`);

  const gw = await PgGateway.connect(url);
  const count = countStatements(gw);
  const engine: number[] = [];
  const statements: number[] = [];
  try {
    expectNothing(await runSync(config, { direction: 'pull', pg: gw }), table); // warm-up
    for (let i = 0; i < repeat; i++) {
      const before = count();
      started = performance.now();
      const r = await runSync(config, { direction: 'pull', pg: gw });
      engine.push(performance.now() - started);
      statements.push(count() - before);
      expectNothing(r, table);
    }
  } finally {
    await gw.close();
  }
  const withConnect: number[] = [];
  for (let i = 0; i < Math.max(3, Math.floor(repeat / 3)); i++) {
    started = performance.now();
    expectNothing(await runSync(config, { direction: 'pull' }), table);
    withConnect.push(performance.now() - started);
  }
  return {
    rows,
    initialPullMs: Math.round(initialPullMs),
    engineMedianMs: round(pct(engine, 50)),
    engineP95Ms: round(pct(engine, 95)),
    withConnectMedianMs: round(pct(withConnect, 50)),
    statements: new Set(statements).size === 1 ? statements[0]! : statements,
  };
}

/**
 * A no-change pull against `bigRows` and `smallRows` tables made in Postgres with one INSERT …
 * generate_series each, pulled once into their own terminal (a full resync), then VACUUM ANALYZE.
 */
export async function measureNoChange(url: string, dir: string, options: { bigRows: number; smallRows: number; repeat: number; log: (s: string) => void }): Promise<NoChangeResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const [table, rows] of [
      ['nc_big', options.bigRows],
      ['nc_small', options.smallRows],
    ] as const) {
      options.log(`no-change: generating ${rows.toLocaleString('en-US')} rows in ${table}`);
      await c.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL, updated_at timestamptz(3) NOT NULL)`);
      await c.query(`INSERT INTO ${table} SELECT g, 'item ' || g, (g % 1000) / 10.0, timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, ${rows}) g`);
      await c.query(`VACUUM ANALYZE ${table}`);
    }
  } finally {
    await c.end();
  }
  options.log(`no-change: initial pull of ${options.bigRows.toLocaleString('en-US')} rows, then ${options.repeat} no-change pulls`);
  const big = await side(dir, url, 'nc_big', options.bigRows, options.repeat);
  options.log(`no-change: the same at ${options.smallRows.toLocaleString('en-US')} rows`);
  const small = await side(dir, url, 'nc_small', options.smallRows, options.repeat);
  const ratio = Math.round((big.engineMedianMs / small.engineMedianMs) * 100) / 100;
  return { big, small, ratio, target: { maxMs: 20, maxRatio: 1.5, met: big.engineMedianMs <= 20 && ratio <= 1.5 } };
}

export interface FenceLagResult {
  /** Rows changed in the cloud while the long transaction was open, in two batches. */
  changesPerBatch: number;
  /** Pull right after the first batch: visible transactions above the fence are applied. */
  firstPull: { applied: number; ms: number; warned: boolean };
  /** Pull after the second batch, the long transaction still open: the checkpoint sits at the fence. */
  secondPull: { applied: number; ms: number; warned: boolean };
  /** Pull once the long transaction has ended. */
  afterCommit: { applied: number; unchanged: number; ms: number; warned: boolean };
}

/**
 * A back-office transaction that has written something and stays open holds back the pull fence
 * (the snapshot's xmin) of every terminal on the cluster. This shows what terminals see meanwhile.
 */
export async function measureFenceLag(config: ResolvedConfig, productIds: string[], changes: number): Promise<FenceLagResult> {
  const url = config.postgresUrl;
  const long = new pg.Client({ connectionString: url, application_name: 'bench-long-transaction' });
  const admin = new pg.Client({ connectionString: url });
  await long.connect();
  await admin.connect();
  const pull = async () => {
    const started = performance.now();
    const r = await runSync(config, { direction: 'pull' });
    const ms = Math.round(performance.now() - started);
    const warned = r.warnings.some((w) => w.includes('long-running'));
    return { applied: r.tables.reduce((a, t) => a + applied(t), 0), unchanged: r.tables.reduce((a, t) => a + t.unchanged, 0), ms, warned };
  };
  const edit = async (ids: string[], label: string) => {
    await admin.query(`UPDATE products SET stock = stock + 1, name = $2, updated_at = clock_timestamp() WHERE id = ANY($1::uuid[])`, [ids, label]);
  };
  try {
    await pull(); // settle
    await long.query('BEGIN');
    await long.query('SELECT pg_current_xact_id()'); // an xid: from here on it holds the fence
    const a = productIds.slice(-changes);
    const b = productIds.slice(-2 * changes, -changes);
    await edit(a, 'fence lag batch 1');
    const first = await pull();
    await edit(b, 'fence lag batch 2');
    const second = await pull();
    await long.query('COMMIT');
    const after = await pull();
    return {
      changesPerBatch: changes,
      firstPull: { applied: first.applied, ms: first.ms, warned: first.warned },
      secondPull: { applied: second.applied, ms: second.ms, warned: second.warned },
      afterCommit: after,
    };
  } finally {
    await long.query('ROLLBACK').catch(() => {});
    await long.end();
    await admin.end();
  }
}
