// One measured phase of the benchmark, run in its own process so its peak memory is its own.
// Prints one JSON line: { phase, ms, rows, maxRssMb, ... }.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import Database from 'better-sqlite3';
import { resolveConfig } from '../../src/config/load.ts';
import { PgGateway } from '../../src/db/postgres/gateway.ts';
import { SqliteGateway } from '../../src/db/sqlite/gateway.ts';
import { runSync } from '../../src/engine/run.ts';
import { runVerifyData } from '../../src/engine/verify-data/run.ts';
import { cloudBuckets } from '../../src/engine/verify-data/cloud.ts';
import { tillBuckets, tillScanOf } from '../../src/engine/verify-data/till.ts';
import { openAndPlan } from '../../src/engine/run.ts';
import { applied } from '../../src/engine/result.ts';
import { tuneHeap } from '../../src/util/heap.ts';
import { COLUMNS } from './dataset.ts';

interface PhaseInput {
  phase: 'baseline' | 'copy' | 'push' | 'pull' | 'settle' | 'cycle-push' | 'cycle-pull' | 'verify-data';
  url: string;
  sqlite: string;
  terminal: string;
  copyFile?: string;
  changes?: number;
  cycles?: number;
  batchSize?: number;
  /** Column merge on (merge "column", qty a counter). */
  merge?: boolean;
  /** Cycles change the same rows on both sides first, so every one of them is merged. */
  contested?: boolean;
}

const input = JSON.parse(process.argv[2]!) as PhaseInput;
// As the possync command does at start-up (src/cli/main.ts): the figures are the command's.
tuneHeap();
const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);

function config() {
  return resolveConfig(
    {
      sqlite: { path: input.sqlite },
      postgres: { url: input.url },
      terminalId: input.terminal,
      batchSize: input.batchSize ?? 500,
      tables: [{ name: 'products', pk: 'id', updatedCol: 'updated_at', deletedCol: 'deleted_at', ...(input.merge ? { merge: 'column', counters: ['qty'] } : {}) }],
    },
    `${input.sqlite}.config.json`,
    {},
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function copyPhase() {
  const client = new pg.Client({ connectionString: input.url });
  await client.connect();
  const started = performance.now();
  await client.query('BEGIN');
  await pipeline(fs.createReadStream(input.copyFile!), client.query(copyFrom(`COPY products_copy (${COLUMNS.join(', ')}) FROM STDIN`)));
  await client.query('COMMIT');
  const ms = performance.now() - started;
  const { rows } = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM products_copy');
  await client.end();
  return { ms, rows: Number(rows[0]!.n) };
}

/**
 * `rows` is what the run applied; for the settle (the first `both` of a till that already holds
 * every row, so its first pull compares the whole table) it is what it compared.
 */
async function fullRun(direction: 'push' | 'pull' | 'both') {
  const started = performance.now();
  const result = await runSync(config(), { direction });
  const ms = performance.now() - started;
  if (result.status !== 'success') throw new Error(`${direction} did not succeed: ${JSON.stringify(result.tables)}`);
  const rows = result.tables.filter((t) => direction !== 'both' || t.step === 'pull').reduce((a, t) => a + applied(t) + (direction === 'both' ? t.unchanged : 0), 0);
  return { ms, rows };
}

/** The process with possync loaded and both databases opened, before any work: the floor of every RSS figure. */
async function baseline() {
  const cfg = config();
  const pgw = await PgGateway.open(cfg);
  const sqlite = SqliteGateway.open(cfg.sqlitePath);
  sqlite.close();
  await pgw.close();
  return { ms: 0, rows: 0 };
}

/**
 * Incremental cycles with gateways kept open, as the daemon does: each cycle changes `changes`
 * rows on one side (not timed) and times one sync run in the other direction.
 */
async function cycles(direction: 'push' | 'pull') {
  const cfg = config();
  const pgw = await PgGateway.open(cfg);
  const sqlite = SqliteGateway.open(cfg.sqlitePath);
  const changes = input.changes ?? 100;
  const times: number[] = [];
  const app = new Database(cfg.sqlitePath);
  try {
    await runSync(cfg, { direction: 'both', pg: pgw, sqlite }); // settled by the 'settle' phase: nothing to do
    for (let c = 0; c < (input.cycles ?? 15); c++) {
      const stamp = new Date(Date.UTC(2027, 0, 1) + c * 60_000).toISOString();
      if (input.contested) {
        // The same rows on both sides: the till sells one, the cloud renames it and books one in.
        const ids = (app.prepare(`SELECT id FROM products ORDER BY random() LIMIT ?`).all(changes) as Array<{ id: string }>).map((r) => r.id);
        const local = app.prepare(`UPDATE products SET qty = qty - 1, updated_at = ? WHERE id = ?`);
        app.transaction(() => ids.forEach((id) => local.run(stamp, id)))();
        await pgw.query(`UPDATE products SET qty = qty + 1, name = name || '.', updated_at = $1 WHERE id = ANY($2::uuid[])`, [stamp, ids]);
      } else if (direction === 'push') {
        app.prepare(`UPDATE products SET qty = qty + 1, updated_at = ? WHERE rowid IN (SELECT rowid FROM products ORDER BY random() LIMIT ?)`).run(stamp, changes);
      } else {
        await pgw.query(`UPDATE products SET qty = qty + 1, updated_at = $1 WHERE id IN (SELECT id FROM products ORDER BY random() LIMIT $2)`, [stamp, changes]);
      }
      const started = performance.now();
      const result = await runSync(cfg, { direction, pg: pgw, sqlite });
      times.push(performance.now() - started);
      const moved = result.tables.reduce((a, t) => a + applied(t), 0);
      if (result.status !== 'success' || moved < changes * 0.5) throw new Error(`cycle moved ${moved} rows: ${JSON.stringify(result.tables)}`);
    }
  } finally {
    app.close();
    sqlite.close();
    await pgw.close();
  }
  return { ms: median(times), rows: changes, samples: times.map((t) => Math.round(t * 10) / 10) };
}

/**
 * verify-data on a settled till: 10 differences planted around possync (5 on the till with their
 * change-log entries removed, 5 in the cloud with the capture trigger disabled), scattered over the
 * key space. Timed against one full scan of each side for reference: Postgres reading every
 * column as text (server-side, nothing sent), SQLite reading every row.
 */
/** verify-data's first pass of each side, one after the other: the cloud's bucket sums, then the till's. */
async function passesAlone(cfg: ReturnType<typeof config>, buckets: number) {
  const { pg: gateway, sqlite, plan, close } = await openAndPlan(cfg);
  try {
    const t = plan.tables[0]!;
    let started = performance.now();
    await gateway.tx((client) => cloudBuckets(client, plan.schema, t, buckets), { isolation: 'repeatable read', readOnly: true });
    const cloudPassMs = performance.now() - started;
    started = performance.now();
    await tillBuckets(sqlite.db, plan, t, buckets, tillScanOf(sqlite.db, t, cfg.sqlitePath), async () => {});
    const tillPassMs = performance.now() - started;
    return { cloudPassMs, tillPassMs };
  } finally {
    await close();
  }
}

async function verifyDataPhase() {
  const cfg = config();
  const app = new Database(cfg.sqlitePath);
  const client = new pg.Client({ connectionString: input.url });
  await client.connect();
  try {
    const seq = (app.prepare(`SELECT coalesce(max(seq), 0) AS s FROM _possync_changes`).get() as { s: number }).s;
    // Nine distinct rows anywhere in the key space (and one new row): no two plants touch one row.
    const ids = (app.prepare(`SELECT id FROM products ORDER BY random() LIMIT 9`).all() as Array<{ id: string }>).map((r) => r.id);
    const bump = app.prepare(`UPDATE products SET qty = qty + 1000 WHERE id = ?`);
    for (const id of ids.slice(0, 4)) bump.run(id);
    app.prepare(`INSERT INTO products SELECT 'ffffffff-0000-4000-8000-000000000001', sku, name, price, qty, active, updated_at, NULL FROM products LIMIT 1`).run();
    app.prepare(`DELETE FROM _possync_changes WHERE seq > ?`).run(seq);
    await client.query('BEGIN');
    await client.query('ALTER TABLE products DISABLE TRIGGER USER');
    await client.query(`UPDATE products SET name = name || ' (cloud)' WHERE id = ANY($1::uuid[])`, [ids.slice(4, 7)]);
    await client.query(`DELETE FROM products WHERE id = ANY($1::uuid[])`, [ids.slice(7, 9)]);
    await client.query('ALTER TABLE products ENABLE TRIGGER USER');
    await client.query('COMMIT');
    let started = performance.now();
    // Every column's text is built (a bare count would let the planner skip the columns).
    await client.query(`SELECT sum(octet_length(concat(${COLUMNS.map((c) => `${c}::text`).join(', ')}))) FROM products`);
    const pgScanMs = performance.now() - started;
    started = performance.now();
    let n = 0;
    for (const _ of app.prepare(`SELECT * FROM products`).safeIntegers(true).iterate()) n++;
    const sqliteScanMs = performance.now() - started;
    started = performance.now();
    const result = await runVerifyData(cfg);
    const ms = performance.now() - started;
    // Peak RSS up to here: verify-data's own, before the passes below open a second plan.
    const verifyRssMb = rss();
    const t = result.tables[0]!;
    if (t.rows.length !== 10) throw new Error(`verify-data found ${t.rows.length} differences, not 10: ${JSON.stringify(t.rows)}`);
    // Each side's hashing pass alone, for the comparison with its own scan: within verify-data
    // they run at the same time, and on this machine both databases share its CPUs.
    const sides = await passesAlone(cfg, t.transfer.buckets);
    return { ms, rows: n, pgScanMs, sqliteScanMs, found: t.rows.length, transfer: t.transfer, durationMs: t.durationMs, tillThreads: t.tillThreads, verifyRssMb, ...sides };
  } finally {
    app.close();
    await client.end();
  }
}

const out =
  input.phase === 'verify-data'
    ? await verifyDataPhase()
    : input.phase === 'baseline'
    ? await baseline()
    : input.phase === 'copy'
      ? await copyPhase()
      : input.phase === 'push' || input.phase === 'pull'
        ? await fullRun(input.phase)
        : input.phase === 'settle'
          ? await fullRun('both')
          : await cycles(input.phase === 'cycle-push' ? 'push' : 'pull');
process.stdout.write(`${JSON.stringify({ phase: input.phase, ...out, maxRssMb: rss() })}\n`);
process.exit(0);
